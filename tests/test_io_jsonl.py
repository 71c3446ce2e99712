"""JSONL reader/writer: own schema round trip, plain records, every kind of bad line, gzip, streaming."""

from __future__ import annotations

import gzip
import itertools
import json
from pathlib import Path

import pytest

from medadapt.documents import Document, Span
from medadapt.errors import InputError
from medadapt.io import BadInputReport, read_documents, write_documents

PROVENANCE_KEYS = {"source", "line", "origin", "origin_line"}


def _strip(doc: Document) -> Document:
    meta = {k: v for k, v in doc.meta.items() if k not in PROVENANCE_KEYS}
    return Document(doc.id, doc.text, doc.lang, doc.spans, doc.label, doc.group, meta)


def _docs() -> list[Document]:
    return [
        Document(
            "d1",
            "Dolor torácico y disnea.",
            "es",
            [Span(0, 14, "DISO", id="T1"), Span(0, 23, "DISO", ((0, 5), (17, 23)), "T2")],
            meta={"brat_other": ["R1\tRel Arg1:T1 Arg2:T2"], "source": "/orig/d1.txt"},
        ),
        Document("d2", "Pacient cu diabet.", "ro", label=["E11", "I10"], group="p7"),
        Document("d3", "Geen klachten.", "nl", label="neg"),
    ]


@pytest.mark.parametrize("name", ["docs.jsonl", "docs.jsonl.gz"])
def test_round_trip_own_schema(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    assert write_documents(_docs(), path, "jsonl") == 3
    back = list(read_documents([path]))
    assert [_strip(d) for d in back] == [_strip(d) for d in _docs()]
    assert [s.id for s in back[0].spans] == ["T1", "T2"]
    assert back[0].meta["source"] == str(path) and back[0].meta["origin"] == "/orig/d1.txt"
    assert [d.meta["line"] for d in back] == [1, 2, 3]


def test_gzip_output_is_reproducible(tmp_path: Path) -> None:
    write_documents(_docs(), tmp_path / "a.jsonl.gz", "jsonl")
    write_documents(_docs(), tmp_path / "b.jsonl.gz", "jsonl")
    assert (tmp_path / "a.jsonl.gz").read_bytes() == (tmp_path / "b.jsonl.gz").read_bytes()
    assert gzip.decompress((tmp_path / "a.jsonl.gz").read_bytes()).count(b"\n") == 3


def test_plain_records_with_configured_fields(tmp_path: Path) -> None:
    path = tmp_path / "notes.ndjson"
    rows = [
        {"note": "Nota clínica uno.", "pid": 17, "y": 1, "visit": "v1", "site": "A"},
        {"note": "Nota dos.", "language": "ca", "y": None},
    ]
    path.write_text("\ufeff" + "\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n\n", "utf-8")
    docs = list(
        read_documents(
            [path],
            text_field="note",
            id_field="visit",
            label_field="y",
            group_field="pid",
            lang_field="language",
            lang="es",
        )
    )
    first, second = docs
    assert (first.id, first.text, first.label, first.group, first.lang) == (
        "v1",
        "Nota clínica uno.",
        "1",
        "17",
        "es",
    )
    assert first.meta == {"site": "A", "source": str(path), "line": 1}
    assert (second.id, second.lang, second.label, second.group) == ("notes:2", "ca", None, None)


BAD_LINES = [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "not a JSON object"),
    ('{"id": "x"}', "missing text field"),
    ('{"text": 42}', "non-string text field"),
    ('{"text": "   "}', "empty document"),
    ('{"text": "abc", "spans": [{"start": 1, "end": 9, "label": "X"}]}', "invalid spans"),
    ('{"text": "abc", "spans": [{"start": 2, "end": 1, "label": "X"}]}', "invalid spans"),
    ('{"text": "abc", "spans": [{"begin": 0}]}', "invalid spans"),
    ('{"text": "abc", "label": {"a": 1}}', "invalid label field"),
]


@pytest.mark.parametrize(("line", "kind"), BAD_LINES)
def test_each_bad_line_raises_with_file_and_line(tmp_path: Path, line: str, kind: str) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "fine"}\n' + line + '\n{"text": "after"}\n', "utf-8")
    with pytest.raises(InputError) as info:
        list(read_documents([path]))
    assert info.value.path == str(path) and info.value.line == 2
    assert kind in str(info.value)
    report = BadInputReport()
    docs = list(read_documents([path], skip_bad=True, report=report))
    assert [d.text for d in docs] == ["fine", "after"]
    assert report.by_reason == {kind: 1}


def test_invalid_json_offset_and_invalid_utf8(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"text": "ok"}\n{"text": "a" "b"}\n{"text": "caf\xe9"}\n')
    report = BadInputReport()
    assert [d.text for d in read_documents([path], skip_bad=True, report=report)] == ["ok"]
    json_err, utf_err = report.errors
    assert (json_err.line, json_err.offset) == (2, 15 + 13)
    assert (utf_err.line, utf_err.offset, utf_err.reason.split(":")[0]) == (3, 15 + 18 + 13, "invalid UTF-8")
    assert report.summary().startswith("2 bad inputs skipped")


def test_json_array_file(tmp_path: Path) -> None:
    path = tmp_path / "records.json"
    path.write_text(json.dumps([{"text": "uno"}, {"text": ""}, {"text": "tres"}]), "utf-8")
    report = BadInputReport()
    docs = list(read_documents([path], skip_bad=True, report=report))
    assert [(d.id, d.meta["index"]) for d in docs] == [("records:1", 1), ("records:3", 3)]
    assert report.by_reason == {"empty document": 1}


def test_streams_without_reading_ahead(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    with path.open("w", encoding="utf-8") as f:
        for i in range(1, 5001):
            f.write("{broken\n" if i == 1000 else json.dumps({"text": f"doc {i}"}) + "\n")
    first = list(itertools.islice(read_documents([path]), 10))
    assert [d.id for d in first] == [f"big:{i}" for i in range(1, 11)]
    with pytest.raises(InputError, match="line 1000"):
        list(read_documents([path]))
