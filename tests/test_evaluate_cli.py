"""`medadapt evaluate ner`: table and JSON on real BRAT data, label options, and exit 2 with the file and the
document id when gold and predictions do not line up."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from medadapt.cli import main
from medadapt.documents import Document, Span
from medadapt.io import read_documents, write_documents
from medadapt.metrics import evaluate_entities


@pytest.fixture(scope="module")
def dev(shared_data: Path) -> Path:
    return shared_data / "es" / "ct-ebm-sp" / "brat" / "dev"


@pytest.fixture(scope="module")
def dev_docs(dev: Path) -> list[Document]:
    return list(read_documents(dev, "brat"))


def _run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    code = main(["evaluate", "ner", *map(str, args)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _drop_every_third(docs: list[Document]) -> list[Document]:
    return [dataclasses.replace(d, spans=[s for i, s in enumerate(d.spans) if i % 3]) for d in docs]


def test_identical_folder_scores_one(dev: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "m" / "metrics.json"
    code, stdout, _ = _run(capsys, "--gold", dev, "--pred", dev, "--out", out)
    assert code == 0
    assert "micro" in stdout and "macro" in stdout and "DISO" in stdout
    metrics = json.loads(out.read_text())
    assert metrics["inputs"]["gold"] == str(dev)
    for mode in ("strict", "lenient"):
        assert metrics[mode]["micro"]["f1"] == metrics[mode]["macro"]["f1"] == 1.0
        assert all(row["f1"] == 1.0 for row in metrics[mode]["per_type"].values())
    assert metrics["boundary"]["f1"] == 1.0


def test_jsonl_predictions_equal_the_api(
    dev: Path, dev_docs: list[Document], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pred = _drop_every_third(dev_docs)
    write_documents(pred, tmp_path / "pred.jsonl", "jsonl")
    out = tmp_path / "metrics.json"
    code, _, _ = _run(capsys, "--gold", dev, "--pred", tmp_path / "pred.jsonl", "--out", out)
    assert code == 0
    metrics = json.loads(out.read_text())
    expected = evaluate_entities(dev_docs, pred).to_dict()
    assert {k: metrics[k] for k in expected} == expected
    assert metrics["strict"]["micro"]["precision"] == 1.0 and metrics["strict"]["micro"]["recall"] < 0.7


def test_labels_and_label_map(dev: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mapping = tmp_path / "map.yaml"
    mapping.write_text("DISO: Disorder\nNeg_cue: null\n")
    out = tmp_path / "metrics.json"
    args = ("--gold", dev, "--pred", dev, "--label-map", mapping, "--labels", "Disorder,PROC,Typo", "--out", out)
    code, stdout, _ = _run(capsys, *args)
    assert code == 0
    assert json.loads(out.read_text())["types"] == ["Disorder", "PROC"]
    assert "Typo" in stdout  # warned: found on neither side
    mapping.write_text("DISO: [a, b]\n")
    code, _, err = _run(capsys, "--gold", dev, "--pred", dev, "--label-map", mapping)
    assert code == 2 and "map.yaml" in err


def test_changed_text_names_file_and_document(
    dev: Path, dev_docs: list[Document], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pred = list(dev_docs[:3])
    pred[1] = dataclasses.replace(pred[1], text=pred[1].text.replace(" ", "  ", 1))
    write_documents(pred, tmp_path / "pred.jsonl", "jsonl")
    code, _, err = _run(capsys, "--gold", dev, "--pred", tmp_path / "pred.jsonl", "--allow-missing")
    assert code == 2
    assert "pred.jsonl" in err and repr(pred[1].id) in err and "Traceback" not in err


def test_missing_documents(
    dev: Path, dev_docs: list[Document], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_documents(dev_docs[:-7], tmp_path / "pred.jsonl", "jsonl")
    code, _, err = _run(capsys, "--gold", dev, "--pred", tmp_path / "pred.jsonl")
    assert code == 2
    assert "7 " in err and repr(dev_docs[-7].id) in err and "2 more" in err and "--allow-missing" in err
    out = tmp_path / "metrics.json"
    code, _, _ = _run(capsys, "--gold", dev, "--pred", tmp_path / "pred.jsonl", "--allow-missing", "--out", out)
    assert code == 0
    micro = json.loads(out.read_text())["strict"]["micro"]
    assert micro["precision"] == 1.0 and micro["recall"] < 1.0


def test_conll_files_pair_by_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = "fiebre alta y tos seca"
    gold = [Document("g", text, spans=[Span(0, 11, "DISO"), Span(14, 22, "DISO")])]
    pred = [Document("p", text, spans=[Span(0, 6, "DISO"), Span(14, 22, "DISO")])]
    write_documents(gold, tmp_path / "gold.conll", "conll")
    write_documents(pred, tmp_path / "pred.conll", "conll")
    args = ["--gold", tmp_path / "gold.conll", "--pred", tmp_path / "pred.conll", "--format", "conll"]
    code, _, err = _run(capsys, *args)
    assert code == 2 and "'pred" in err and "'gold" in err  # ids come from file names
    out = tmp_path / "metrics.json"
    code, _, _ = _run(capsys, *args, "--pair-by", "order", "--out", out)
    assert code == 0
    metrics = json.loads(out.read_text())
    assert metrics["strict"]["micro"]["tp"] == 1 and metrics["lenient"]["micro"]["tp"] == 2


def test_gold_labels_from_annotator_notes(
    shared_data: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Mantra GSC gold (type = CUI) against predictions labelled with UMLS groups: perfect when the groups agree."""
    gold = shared_data / "multi" / "mantra-gsc" / "Mantra-GSC" / "Dutch"
    docs = list(read_documents([gold], "brat", brat_label_from_note="umls_group"))
    write_documents([dataclasses.replace(d, meta={}) for d in docs], tmp_path / "pred", "brat")
    out = tmp_path / "m.json"
    code, _, _ = _run(capsys, "--gold", gold, "--pred", tmp_path / "pred", "--out", out, "--gold-label-from-note",
                      "umls_group")  # fmt: skip
    assert code == 0
    metrics = json.loads(out.read_text())
    assert metrics["strict"]["micro"]["f1"] == 1.0 and "DISO" in metrics["strict"]["per_type"]
    code, _, _ = _run(capsys, "--gold", gold, "--pred", tmp_path / "pred", "--out", out)  # CUIs vs groups
    assert json.loads(out.read_text())["strict"]["micro"]["f1"] == 0.0
