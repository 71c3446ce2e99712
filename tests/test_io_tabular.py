"""CSV/TSV reader: quoted multi-line notes, record start lines, column mapping, every kind of bad row."""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path

import pytest

from medadapt.errors import InputError
from medadapt.io import BadInputReport, read_documents


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def test_multiline_quoted_notes_and_start_lines(tmp_path: Path) -> None:
    long_note = "Paciente " * 40_000  # 360 k chars: beyond the csv module's default field limit
    path = tmp_path / "notes.csv"
    path.write_text(
        _csv(
            [
                ["id", "text", "label", "group", "site"],
                ["n1", "línea 1\nlínea 2\n", "pos", "p1", "A"],
                ["n2", long_note, "neg", "p1", "B"],
                ["", "tercera", "", "", "C"],
            ]
        ),
        "utf-8",
    )
    docs = list(read_documents([path], lang="es"))
    assert [d.id for d in docs] == ["n1", "n2", "notes:6"]
    assert docs[0].text == "línea 1\nlínea 2\n"
    assert [d.meta["line"] for d in docs] == [2, 5, 6]  # the line where each record starts
    assert (docs[0].label, docs[0].group, docs[0].lang, docs[0].meta["site"]) == ("pos", "p1", "es", "A")
    assert len(docs[1].text) == len(long_note)
    assert (docs[2].label, docs[2].group) == (None, None)


def test_tsv_gzip_bom_custom_columns_and_label_column(tmp_path: Path) -> None:
    path = tmp_path / "screen.tsv.gz"
    body = "\ufeff" + _csv([["pid", "nota", "dx"], ["p1", "Sin hallazgos.", "0"], ["p2", "Neumonía.", "1"]], "\t")
    path.write_bytes(gzip.compress(body.encode("utf-8")))
    docs = list(read_documents([path], text_field="nota", group_field="pid", label_column="dx"))
    assert [(d.text, d.group, d.label) for d in docs] == [
        ("Sin hallazgos.", "p1", "0"),
        ("Neumonía.", "p2", "1"),
    ]
    by_index = list(read_documents([path], text_field="nota", label_column=2))
    assert [d.label for d in by_index] == ["0", "1"]


def test_header_without_text_column_is_a_file_error(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("id,body\n1,hello\n", "utf-8")
    with pytest.raises(InputError) as info:
        list(read_documents([path]))
    assert info.value.line == 1 and "missing text column" in str(info.value) and "body" in str(info.value)
    report = BadInputReport()
    assert list(read_documents([path], skip_bad=True, report=report)) == []
    assert report.by_reason == {"missing text column": 1}


BAD_ROWS = [
    ('r2,"only two"\n', "wrong number of columns"),
    ("r2,a,b,c\n", "wrong number of columns"),
    ("r2,,x\n", "empty document"),
]


@pytest.mark.parametrize(("row", "kind"), BAD_ROWS)
def test_bad_rows_raise_with_line_and_are_skippable(tmp_path: Path, row: str, kind: str) -> None:
    path = tmp_path / "t.csv"
    path.write_text("id,text,extra\nr1,first,x\n" + row + "r3,third,x\n", "utf-8")
    with pytest.raises(InputError) as info:
        list(read_documents([path]))
    assert (info.value.path, info.value.line) == (str(path), 3)
    assert kind in str(info.value)
    report = BadInputReport()
    assert [d.id for d in read_documents([path], skip_bad=True, report=report)] == ["r1", "r3"]
    assert report.by_reason == {kind: 1}


def test_invalid_utf8_inside_a_multiline_record(tmp_path: Path) -> None:
    path = tmp_path / "u.csv"
    path.write_bytes(b'id,text\na,"uno\ndos \xff"\nb,tres\n')
    with pytest.raises(InputError) as info:
        list(read_documents([path]))
    assert (info.value.line, info.value.offset) == (3, 8 + 7 + 4)
    report = BadInputReport()
    assert [d.id for d in read_documents([path], skip_bad=True, report=report)] == ["b"]
    assert report.by_reason == {"invalid UTF-8": 1}


def test_malformed_quoting_is_not_silently_merged(tmp_path: Path) -> None:
    path = tmp_path / "q.csv"
    path.write_text('id,text\na,"quoted" then text\nb,ok\nc,"never closed\nd,lost\n', "utf-8")
    with pytest.raises(InputError, match="malformed CSV") as info:
        list(read_documents([path]))
    assert info.value.line == 2
    report = BadInputReport()
    assert [d.id for d in read_documents([path], skip_bad=True, report=report)] == ["b"]
    assert [e.line for e in report.errors] == [
        2,
        4,
    ]  # the unclosed quote at line 4 swallows the rest: reported


def test_blank_lines_between_records_are_not_bad(tmp_path: Path) -> None:
    path = tmp_path / "b.csv"
    path.write_text("id,text\n\na,uno\n\n\nb,dos\n", "utf-8")
    report = BadInputReport()
    docs = list(read_documents([path], skip_bad=True, report=report))
    assert [(d.id, d.meta["line"]) for d in docs] == [("a", 3), ("b", 6)]
    assert report.count == 0


def test_empty_and_header_only_files_are_bad(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_text("", "utf-8")
    (tmp_path / "header.tsv").write_text("id\ttext\n", "utf-8")
    report = BadInputReport()
    assert list(read_documents([tmp_path], skip_bad=True, report=report)) == []
    assert report.by_reason == {"empty file": 2}
