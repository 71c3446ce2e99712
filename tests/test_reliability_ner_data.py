"""Issue 18, items 8-11: NER data that used to disappear without a word now stops with file, line and cause, or
is counted where the user looks (data_report.json, `evaluate ner`'s output and its metrics json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from medadapt.cli import main
from medadapt.errors import InputError
from medadapt.io import read_documents, write_documents
from medadapt.tasks.ner.config import NerConfig
from medadapt.tasks.ner.data import DataReport, load_split
from tests.test_io_brat import _pair
from tests.tiny import CLINICAL_SENTENCES, wordpiece_tokenizer

TEXT = "El paciente presenta fiebre alta.\n"
ANN = "T1\tDISO 21 32\tfiebre alta\n"


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["evaluate", "ner", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _one_line(text: str) -> str:
    """Rich wraps long lines at the console width; the tests read messages as one line."""
    return " ".join(text.split())


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, "utf-8")
    return path


# --- item 8: CoNLL column count -------------------------------------------------------------------------------


def test_conll_line_with_fewer_columns_is_an_error_not_an_o(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _write(tmp_path / "few.conll", "Dolor B-DISO\ntorácico\ny O\nfiebre B-DISO\n")
    code, _, err = _run(capsys, "--gold", path, "--pred", path, "--format", "conll")
    err = _one_line(err)
    assert code == 2, err
    assert "few.conll, line 2" in err and "has 1 space-separated column," in err
    assert "token lines have 2 columns (as on line 1)" in err


def test_conll_space_separated_extra_column_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = _write(tmp_path / "extra.conll", "uno O\nNew York B-LOC\ndos O\n")
    code, _, err = _run(capsys, "--gold", path, "--pred", path)
    err = _one_line(err)
    assert code == 2, err
    assert "extra.conll, line 2" in err and "3 space-separated columns" in err and "2 columns" in err
    with pytest.raises(InputError) as info:  # the cause is the column count, not "unknown tag 'York'"
        list(read_documents([path], label_column=1))
    assert info.value.line == 2 and "column count" in str(info.value) and "unknown tag" not in str(info.value)


def test_conll_tab_separated_extra_column_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path / "t.conll", "uno\tO\nNew\tYork\tB-LOC\ndos\tO\n")
    with pytest.raises(InputError) as info:
        list(read_documents([path]))
    assert (info.value.path, info.value.line) == (str(path), 2)
    assert "3 tab-separated columns" in str(info.value) and "2 columns" in str(info.value)


def test_conllu_line_without_ten_columns_is_an_error(tmp_path: Path) -> None:
    good = "1\tuno\tuno\tNUM\t_\t_\t0\troot\t_\t_\n"
    path = _write(tmp_path / "u.conllu", f"# sent_id = 1\n{good}2\tdos\tdos\tNUM\n")
    with pytest.raises(InputError) as info:
        list(read_documents([path]))
    assert info.value.line == 3 and "4 tab-separated columns" in str(info.value) and "10" in str(info.value)


# --- item 9: BRAT .txt without .ann -----------------------------------------------------------------------------


def _ner_config(tmp_path: Path, train: Path, **data: object) -> NerConfig:
    return NerConfig(model="unused", data={"train": str(train), "format": "brat", **data}, out_dir=str(tmp_path))


def test_training_brat_text_without_ann_is_an_error(tmp_path: Path) -> None:
    _pair(tmp_path / "train", "a", TEXT, ANN)
    _pair(tmp_path / "train", "b", TEXT, None)
    with pytest.raises(InputError) as info:
        load_split(_ner_config(tmp_path, tmp_path / "train"), "train", DataReport())
    message = str(info.value)
    assert "b.txt" in message and "no b.ann" in message and "data.allow_missing_ann" in message
    report = DataReport()
    docs, _ = load_split(_ner_config(tmp_path, tmp_path / "train", allow_missing_ann=True), "train", report)
    assert len(docs) == 2
    assert report.splits["train"]["reading"]["brat_missing_ann"] == 1


def test_finetune_cli_stops_on_a_brat_text_without_ann(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    model = tmp_path / "tok"
    wordpiece_tokenizer(CLINICAL_SENTENCES, vocab_size=120).save_pretrained(model)  # the data fail before the model
    _pair(tmp_path / "train", "a", TEXT, ANN)
    _pair(tmp_path / "train", "b", TEXT, None)
    config = _write(tmp_path / "ner.yaml", f"model: {model}\ndata: {{train: {tmp_path / 'train'}}}\n")
    code = main(["finetune", "ner", str(config), "--out", str(tmp_path / "run"), "--no-progress"])
    err = _one_line(capsys.readouterr().err)
    assert code == 2 and "b.txt" in err and "data.allow_missing_ann" in err and "Traceback" not in err


def _gold_and_pred_without_one_ann(tmp_path: Path, side: str) -> tuple[Path, Path]:
    """Two BRAT folders over the same texts a and b; on `side`, b.txt has no b.ann."""
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    for folder in (gold, pred):
        _pair(folder, "a", TEXT, ANN)
        _pair(folder, "b", TEXT, ANN)
    (tmp_path / side / "b.ann").unlink()
    return gold, pred


def test_evaluate_gold_text_without_ann(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold, pred = _gold_and_pred_without_one_ann(tmp_path, "gold")
    code, _, err = _run(capsys, "--gold", gold, "--pred", pred)
    err = _one_line(err)
    assert code == 2 and "b.txt" in err and "--allow-missing-gold-ann" in err
    out = tmp_path / "m.json"
    code, stdout, _ = _run(capsys, "--gold", gold, "--pred", pred, "--allow-missing-gold-ann", "--out", out)
    assert code == 0
    assert "1 gold text(s) without .ann read as having no entities" in _one_line(stdout)
    metrics = json.loads(out.read_text())
    assert metrics["reading"]["gold"]["brat_missing_ann"] == 1
    assert any("without .ann" in w for w in metrics["warnings"])


def test_evaluate_prediction_text_without_ann(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold, pred = _gold_and_pred_without_one_ann(tmp_path, "pred")
    code, _, err = _run(capsys, "--gold", gold, "--pred", pred)
    err = _one_line(err)
    assert code == 2 and "b.txt" in err and "--allow-missing" in err
    out = tmp_path / "m.json"
    code, stdout, _ = _run(capsys, "--gold", gold, "--pred", pred, "--allow-missing", "--out", out)
    assert code == 0
    assert "1 predicted text(s) without .ann scored as predicting nothing" in _one_line(stdout)
    metrics = json.loads(out.read_text())
    assert metrics["reading"]["pred"]["brat_missing_ann"] == 1
    assert metrics["strict"]["micro"]["recall"] == 0.5


# --- item 10: invalid-sequence repairs counted ---------------------------------------------------------------

REPAIRED = "Dolor\tB-DISO\ntorácico\tI-DISO\ny\tO\nfiebre\tI-DISO\n\nAspirina\tB-CHEM\n"


def test_data_report_counts_conll_repairs_per_split(tmp_path: Path) -> None:
    train = _write(tmp_path / "train.conll", REPAIRED)
    dev = _write(tmp_path / "dev.conll", "Aspirina\tB-CHEM\n")
    config = NerConfig(model="unused", data={"train": str(train), "dev": str(dev)}, out_dir=str(tmp_path))
    report = DataReport()
    load_split(config, "train", report)
    load_split(config, "dev", report)
    assert report.splits["train"]["reading"]["conll_repairs"] == 1
    assert report.splits["dev"]["reading"]["conll_repairs"] == 0
    json.dumps(report.splits)  # what ner.py writes as data_report.json


def test_evaluate_reports_conll_repairs(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold = _write(tmp_path / "gold.conll", REPAIRED)
    pred = _write(tmp_path / "pred.conll", REPAIRED.replace("fiebre\tI-DISO", "fiebre\tO"))
    out = tmp_path / "m.json"
    code, stdout, _ = _run(capsys, "--gold", gold, "--pred", pred, "--pair-by", "order", "--out", out)
    assert code == 0
    assert "gold: 1 I- tag(s) after O or another type started an entity (conlleval repair)" in _one_line(stdout)
    metrics = json.loads(out.read_text())
    assert metrics["reading"]["gold"]["conll_repairs"] == 1 and metrics["reading"]["pred"]["conll_repairs"] == 0


# --- item 11: gold without entities ------------------------------------------------------------------------------


def test_evaluate_warns_when_gold_has_no_entities(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    _pair(gold, "a", TEXT, "")
    _pair(pred, "a", TEXT, ANN)
    out = tmp_path / "m.json"
    code, stdout, _ = _run(capsys, "--gold", gold, "--pred", pred, "--out", out)
    assert code == 0
    line = next(line for line in stdout.splitlines() if "warning" in line)
    assert "the gold annotations hold no entities" in line
    assert any("no entities" in w for w in json.loads(out.read_text())["warnings"])


def test_evaluate_warns_when_labels_leave_no_gold_entity(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold = tmp_path / "gold"
    _pair(gold, "a", TEXT, ANN)
    code, stdout, _ = _run(capsys, "--gold", gold, "--pred", gold, "--labels", "CHEM")
    assert code == 0 and "the gold annotations hold no entities" in _one_line(stdout) and "--labels" in stdout


# --- found while probing ---------------------------------------------------------------------------------------


def test_conll_bom_does_not_turn_docstart_into_a_token(tmp_path: Path) -> None:
    path = tmp_path / "bom.conll"
    path.write_bytes("\ufeff-DOCSTART-\tO\n\nDolor\tNN\tB-DISO\ny\tCC\tO\n".encode())
    (doc,) = read_documents([path])
    assert doc.text == "Dolor y" and doc.id == "bom:1"


def test_evaluate_a_jsonl_file_given_as_brat_names_the_format(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold = tmp_path / "gold"
    _pair(gold, "a", TEXT, ANN)
    pred = _write(tmp_path / "pred.jsonl", json.dumps({"id": "a", "text": TEXT, "spans": []}) + "\n")
    code, _, err = _run(capsys, "--gold", gold, "--pred", pred, "--format", "brat")
    assert code == 2 and "pred.jsonl: not a BRAT file" in _one_line(err)


def test_train_split_without_entities_is_an_error(tmp_path: Path) -> None:
    _pair(tmp_path / "train", "a", TEXT, "")
    with pytest.raises(InputError, match=r"the train split holds no entities in its 1 document"):
        load_split(_ner_config(tmp_path, tmp_path / "train"), "train", DataReport())
    _pair(tmp_path / "mapped", "a", TEXT, ANN)
    config = _ner_config(tmp_path, tmp_path / "mapped").model_copy(update={"label_map": {"DISO": None}})
    with pytest.raises(InputError, match=r"no entities after label_map \(1 before"):
        load_split(config, "train", DataReport())


def test_evaluate_warns_when_predictions_have_no_entities(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    gold, pred = tmp_path / "gold", tmp_path / "pred"
    _pair(gold, "a", TEXT, ANN)
    _pair(pred, "a", TEXT, "")
    code, stdout, _ = _run(capsys, "--gold", gold, "--pred", pred)
    assert code == 0 and "warning: the predictions hold no entities" in stdout


def test_jsonl_converted_from_an_unannotated_brat_text_is_not_a_missing_ann(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    """The brat_ann mark travels in JSONL meta; there it must not produce "no gold.ann beside gold.jsonl"."""
    _pair(tmp_path / "g", "a", TEXT, ANN)
    _pair(tmp_path / "g", "b", TEXT, None)
    docs = list(read_documents([tmp_path / "g"], "brat"))
    write_documents(docs, tmp_path / "gold.jsonl", "jsonl")
    code, _, err = _run(capsys, "--gold", tmp_path / "gold.jsonl", "--pred", tmp_path / "gold.jsonl")
    assert code == 0, err
