"""expand_inputs, detect_format and the shared read_documents machinery (generator, skip_bad, report)."""

from __future__ import annotations

import logging
import types
from pathlib import Path

import pytest

from medadapt.errors import InputError
from medadapt.io import BadInputReport, detect_format, expand_inputs, read_documents
from medadapt.io.report import BadInput


def _touch(path: Path, text: str = "x\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_expand_folder_is_recursive_sorted_and_skips_hidden(tmp_path: Path) -> None:
    for rel in ["b.txt", "a.txt", "sub/c.txt", ".hidden.txt", ".git/d.txt", "notes.md"]:
        _touch(tmp_path / rel)
    got = expand_inputs([tmp_path], extensions={".txt"})
    assert [p.relative_to(tmp_path).as_posix() for p in got] == ["a.txt", "b.txt", "sub/c.txt"]
    everything = expand_inputs([tmp_path])
    assert tmp_path / "notes.md" in everything
    assert all(not part.startswith(".") for p in everything for part in p.relative_to(tmp_path).parts)


def test_expand_globs_files_and_dedup_keep_input_order(tmp_path: Path) -> None:
    z, a = _touch(tmp_path / "z.jsonl.gz"), _touch(tmp_path / "a.jsonl.gz")
    _touch(tmp_path / "deep/x/b.jsonl.gz")
    assert expand_inputs([str(tmp_path / "*.jsonl.gz")]) == [a, z]
    assert expand_inputs([z, str(tmp_path / "*.jsonl.gz")]) == [z, a]  # no duplicates, given order first
    assert len(expand_inputs([str(tmp_path / "**" / "*.jsonl.gz")])) == 3
    assert expand_inputs([tmp_path], extensions={"jsonl"}) == [a, tmp_path / "deep/x/b.jsonl.gz", z]


@pytest.mark.parametrize("bad", ["missing.txt", "nothing-*.txt"])
def test_expand_input_matching_nothing_raises(tmp_path: Path, bad: str) -> None:
    with pytest.raises(InputError, match=r"no such file|matches no files"):
        expand_inputs([tmp_path / bad])


def test_expand_empty_folder_raises(tmp_path: Path) -> None:
    _touch(tmp_path / "readme.md")
    with pytest.raises(InputError, match="no readable files"):
        expand_inputs([tmp_path], extensions={".txt"})


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("a.txt", "text"),
        ("a.TXT.gz", "text"),
        ("a.jsonl", "jsonl"),
        ("a.ndjson.gz", "jsonl"),
        ("a.json", "jsonl"),
        ("a.csv", "csv"),
        ("a.tsv.gz", "tsv"),
        ("a.conll", "conll"),
        ("a.bio", "conll"),
        ("a.iob", "conll"),
        ("a.conllu", "conll"),
        ("a.ann", "brat"),
    ],
)
def test_detect_format_by_extension(tmp_path: Path, name: str, fmt: str) -> None:
    assert detect_format(_touch(tmp_path / name)) == fmt


def test_detect_format_brat_sibling_lines_and_unknown(tmp_path: Path) -> None:
    txt = _touch(tmp_path / "doc.txt")
    assert detect_format(txt, one_per_line=True) == "lines"
    _touch(tmp_path / "doc.ann", "")
    assert detect_format(txt) == "brat"
    assert detect_format(tmp_path) == "brat"
    with pytest.raises(InputError, match="pass fmt"):
        detect_format(_touch(tmp_path / "data.parquet"))


def test_read_documents_is_lazy_generator_but_validates_eagerly(tmp_path: Path) -> None:
    _touch(tmp_path / "a.txt", "hello\n")
    result = read_documents([tmp_path / "a.txt"])
    assert isinstance(result, types.GeneratorType)
    with pytest.raises(ValueError, match="fmt must be one of"):
        read_documents([tmp_path / "a.txt"], "xml")
    with pytest.raises(InputError):
        read_documents([tmp_path / "missing.txt"])  # raised before iterating


def test_auto_reads_mixed_folder_and_marks_source(tmp_path: Path) -> None:
    _touch(tmp_path / "a.txt", "plain text\n")
    _touch(tmp_path / "b.jsonl", '{"text": "one"}\n{"text": "two"}\n')
    _touch(tmp_path / "c.csv", "id,text\nr1,three\n")
    docs = list(read_documents([tmp_path]))
    assert [d.id for d in docs] == ["a", "b:1", "b:2", "r1"]
    assert {d.meta["source"] for d in docs} == {str(tmp_path / n) for n in ("a.txt", "b.jsonl", "c.csv")}


def test_empty_file_is_reported_not_dropped(tmp_path: Path) -> None:
    _touch(tmp_path / "a.jsonl", "\n\n")
    with pytest.raises(InputError, match="empty file"):
        list(read_documents([tmp_path / "a.jsonl"]))
    report = BadInputReport()
    assert list(read_documents([tmp_path / "a.jsonl"], skip_bad=True, report=report)) == []
    assert report.by_reason == {"empty file": 1}


def test_skip_bad_without_report_logs_each_skip(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _touch(tmp_path / "a.jsonl", '{"text": "ok"}\nnot json\n')
    with caplog.at_level(logging.WARNING, logger="medadapt.io"):
        docs = list(read_documents([tmp_path / "a.jsonl"], skip_bad=True))
    assert len(docs) == 1
    assert "a.jsonl, line 2" in caplog.text


def test_unknown_extension_in_skip_mode_is_counted(tmp_path: Path) -> None:
    bad = _touch(tmp_path / "x.parquet")
    report = BadInputReport()
    assert list(read_documents([bad], skip_bad=True, report=report)) == []
    assert report.count == 1


def test_report_counts_all_keeps_bounded_examples_and_summarises() -> None:
    report = BadInputReport(max_errors=5)
    for line in range(1, 11):
        report.add(BadInput("/d/a.jsonl", "invalid JSON", "x", line=line))
    report.add(BadInput("/d/b.txt", "empty file"))
    assert report.count == 11 and len(report.errors) == 5
    assert report.by_reason == {"invalid JSON": 10, "empty file": 1}
    summary = report.summary()
    assert summary.startswith("11 bad inputs skipped: 10 × invalid JSON (a.jsonl line 1, a.jsonl line 2")
    assert "1 × empty file (b.txt)" in summary
    assert BadInputReport().summary() == "no bad inputs"
    # a plain InputError (no kind) is grouped by its message prefix
    report.add(InputError("c.csv", "broken: detail", line=3))
    assert report.by_reason["broken"] == 1
