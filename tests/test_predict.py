"""`medadapt predict` and `medadapt.load_model` on tiny trained NER and screening models (CPU, seconds).

The fixtures train the same tiny models as the tasks' own fine-tuning tests; predict must reproduce what the runs
predicted for their test sets, resume without losing or repeating a document, and refuse a foreign folder.
"""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import pytest

from medadapt.cli import main
from medadapt.documents import Document
from medadapt.errors import ModelLoadError
from medadapt.io import read_documents, write_documents
from medadapt.predict import PROGRESS_FILE, predict_files
from medadapt.tasks.registry import task_of_model
from tests.tasks.ner.test_finetune import model_dir, trained  # noqa: F401  (fixtures)
from tests.tasks.screening.test_finetune import task, windows_run  # noqa: F401  (fixtures)


def _spans(docs) -> dict[str, list[tuple[int, int, str]]]:
    return {d.id: sorted((s.start, s.end, s.label) for s in d.spans) for d in docs}


def _ner_run(trained) -> tuple[Path, Path]:  # noqa: F811
    config, _ = trained
    return Path(config.out_dir) / "best-model", Path(config.data.test)


def test_each_task_recognises_its_own_model_folder(trained, windows_run) -> None:  # noqa: F811
    ner_model, _ = _ner_run(trained)
    assert task_of_model(ner_model).name == "ner"
    assert task_of_model(Path(windows_run[0].out_dir) / "best-model").name == "screening"


def test_a_foreign_or_broken_model_folder_is_refused_in_one_line(tmp_path: Path, model_dir: Path) -> None:  # noqa: F811
    with pytest.raises(ModelLoadError, match="no such model folder"):
        task_of_model(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ModelLoadError, match="is not a folder"):
        task_of_model(tmp_path / "file")
    with pytest.raises(ModelLoadError, match=r"no config\.json"):
        task_of_model(tmp_path)
    with pytest.raises(ModelLoadError, match=r"screening\.json") as caught:
        task_of_model(model_dir)  # a plain encoder: no tags, no screening.json
    assert "\n" not in str(caught.value)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="not a medadapt"):
        task_of_model(broken)
    assert main(["predict", str(broken), str(tmp_path / "file"), "--out", str(tmp_path / "o")]) == 2


def test_predict_on_the_brat_test_folder_reproduces_the_runs_entities(trained, tmp_path: Path) -> None:  # noqa: F811
    model, test = _ner_run(trained)
    out = tmp_path / "out"
    assert main(["predict", str(model), str(test), "--out", str(out), "--no-progress", "--batch-size", "4"]) == 0
    written = list(read_documents(Path(trained[0].out_dir) / "predictions" / "test", "brat"))
    predicted = list(read_documents(out, "brat"))
    assert _spans(predicted) == _spans(written)
    assert sum(len(d.spans) for d in predicted) > 0
    gold_texts = {d.id: d.text for d in read_documents(test, "brat")}
    assert {d.id: d.text for d in predicted} == gold_texts


def test_predict_text_files_and_jsonl_agree(trained, tmp_path: Path) -> None:  # noqa: F811
    model, test = _ner_run(trained)
    docs = [Document(d.id, d.text) for d in read_documents(test, "brat")]
    write_documents(docs, tmp_path / "texts", "text")
    write_documents(docs, tmp_path / "notes.jsonl", "jsonl")
    from_text = predict_files(model, [tmp_path / "texts"], tmp_path / "a", show_progress=False)
    from_jsonl = predict_files(
        model, [tmp_path / "notes.jsonl"], tmp_path / "b", output_format="jsonl", show_progress=False
    )
    assert from_text.predicted == from_jsonl.predicted == len(docs)
    brat = _spans(read_documents(tmp_path / "a", "brat"))
    records = [json.loads(line) for line in (tmp_path / "b" / "predictions.jsonl").read_text().splitlines()]
    assert {r["id"]: sorted((s["start"], s["end"], s["label"]) for s in r["spans"]) for r in records} == brat
    texts = {d.id: d.text for d in docs}
    assert all(texts[r["id"]][s["start"] : s["end"]] == s["text"] for r in records for s in r["spans"])


class Interrupted(Exception):
    pass


def _stop_after_first_chunk(done: int) -> None:
    raise Interrupted


@pytest.mark.parametrize("output_format", ["brat", "jsonl"])
def test_an_interrupted_run_resumes_without_losing_or_repeating(trained, tmp_path: Path, output_format) -> None:  # noqa: F811
    model, test = _ner_run(trained)
    out = tmp_path / "out"
    options = {"output_format": output_format, "batch_size": 4, "show_progress": False}
    with pytest.raises(Interrupted):
        predict_files(model, [test], out, after_chunk=_stop_after_first_chunk, **options)
    if output_format == "jsonl":  # a chunk the kill cut short, half appended: must be cut away, not kept twice
        with open(out / "predictions.jsonl", "a") as handle:
            handle.write('{"id": "half')
    resumed = predict_files(model, [test], out, **options)
    total = len(list(read_documents(test, "brat")))
    assert (resumed.skipped, resumed.predicted) == (4, total - 4)
    full = predict_files(model, [test], tmp_path / "full", **options)
    if output_format == "brat":
        assert _spans(read_documents(out, "brat")) == _spans(read_documents(tmp_path / "full", "brat"))
    else:
        lines = (out / "predictions.jsonl").read_text().splitlines()
        assert sorted(lines) == sorted((tmp_path / "full" / "predictions.jsonl").read_text().splitlines())
        assert len(lines) == full.predicted == total
    again = predict_files(model, [test], out, **options)
    assert (again.skipped, again.predicted) == (total, 0)
    assert (out / PROGRESS_FILE).is_file()


def test_bad_input_stops_or_is_counted(trained, tmp_path: Path) -> None:  # noqa: F811
    model, _ = _ner_run(trained)
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.txt").write_text("el paciente toma aspirina.")
    (tmp_path / "in" / "bad.txt").write_bytes(b"\xff\xfe broken")
    assert main(["predict", str(model), str(tmp_path / "in"), "--out", str(tmp_path / "o1"), "--no-progress"]) == 2
    result = predict_files(model, [tmp_path / "in"], tmp_path / "o2", skip_bad=True, show_progress=False)
    assert result.predicted == 1 and result.bad.count == 1


def test_an_output_folder_that_is_an_input_or_holds_foreign_results_is_refused(trained, tmp_path: Path) -> None:  # noqa: F811
    from medadapt.errors import ConfigError

    model, test = _ner_run(trained)
    with pytest.raises(ConfigError, match="is an input folder"):
        predict_files(model, [test], test, show_progress=False)
    (tmp_path / "predictions.jsonl").write_text('{"id": "mine"}\n')
    with pytest.raises(ConfigError, match="not from medadapt predict"):
        predict_files(model, [test], tmp_path, output_format="jsonl", show_progress=False)
    assert (tmp_path / "predictions.jsonl").read_text() == '{"id": "mine"}\n'


def test_screening_predict_writes_patient_records_as_evaluation_does(windows_run, tmp_path: Path) -> None:  # noqa: F811
    config, _ = windows_run
    run = Path(config.out_dir)
    written = {
        r["patient_id"]: r
        for r in map(json.loads, (run / "predictions" / "test" / "predictions.jsonl").read_text().splitlines())
    }
    notes = [
        replace(d, label=None)
        for d in read_documents(config.data.test, "jsonl", id_field="id", group_field="patient_id")
    ]
    write_documents(notes, tmp_path / "notes.jsonl", "jsonl")
    out = tmp_path / "out"
    result = predict_files(run / "best-model", [tmp_path / "notes.jsonl"], out, batch_size=5, show_progress=False)
    assert result.predicted == len(written)
    records = [json.loads(line) for line in (out / "patients.jsonl").read_text().splitlines()]
    assert {r["patient_id"] for r in records} == set(written)
    for record in records:
        assert record["predicted"] == written[record["patient_id"]]["predicted"]
        assert record["scores"] == pytest.approx(written[record["patient_id"]]["scores"], abs=1e-5)
    with open(out / "patients.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["patient_id"] for r in rows] == [r["patient_id"] for r in records]
    assert "text" not in (out / "patients.jsonl").read_text()


def test_the_python_api_one_liner(trained, windows_run) -> None:  # noqa: F811
    from medadapt import load_model

    model, test = _ner_run(trained)
    doc = next(iter(read_documents(test, "brat")))
    m = load_model(model)
    spans = m.predict(doc.text)
    expected = _spans(read_documents(Path(trained[0].out_dir) / "predictions" / "test", "brat"))[doc.id]
    assert [(s["start"], s["end"], s["label"]) for s in spans] == expected
    assert all(doc.text[s["start"] : s["end"]] == s["text"] for s in spans)
    many = list(m.predict_many([doc.text] * 3, batch_size=2))
    assert many == [spans] * 3
    record = load_model(Path(windows_run[0].out_dir) / "best-model").predict("el paciente refiere dolor")
    assert {"patient_id", "predicted", "scores"} <= set(record)


def test_lang_reaches_the_predictor_and_is_part_of_the_resume_record(trained, tmp_path: Path, monkeypatch) -> None:  # noqa: F811
    """NER normalises text per language (Romanian cedilla/comma letters) as training did: documents whose input
    names no language get `--lang`; a rerun with another language is refused, not mixed into one output."""
    from medadapt.tasks.ner.task import NerPredictor

    model, test = _ner_run(trained)
    docs = [Document(d.id, d.text) for d in read_documents(test, "brat")]
    write_documents(docs, tmp_path / "notes.jsonl", "jsonl")
    seen: list[str | None] = []
    original = NerPredictor.predict

    def spy(self, documents):
        seen.extend(d.lang for d in documents)
        return original(self, documents)

    monkeypatch.setattr(NerPredictor, "predict", spy)
    out = tmp_path / "out"
    predict_files(model, [tmp_path / "notes.jsonl"], out, lang="ro", output_format="jsonl", show_progress=False)
    assert seen and set(seen) == {"ro"}
    with pytest.raises(Exception, match="lang"):
        predict_files(model, [tmp_path / "notes.jsonl"], out, lang="es", output_format="jsonl", show_progress=False)
