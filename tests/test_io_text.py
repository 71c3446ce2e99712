"""Plain text reader/writer: byte-exact documents, lines mode, gzip, bad input, streaming, CodiEsp folders."""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

import pytest

from medadapt.documents import Document
from medadapt.errors import InputError
from medadapt.io import BadInputReport, read_documents, write_documents


def test_one_document_per_file_keeps_bytes_exact(tmp_path: Path) -> None:
    raw = "\ufeffLínea uno\r\nDos\u00a0tres\n\n  cuatro"
    (tmp_path / "S01-1.txt").write_bytes(raw.encode("utf-8"))
    (doc,) = read_documents([tmp_path / "S01-1.txt"], lang="es")
    assert doc.id == "S01-1"
    assert doc.text == raw  # BOM, CRLF, NBSP and missing final newline all kept
    assert doc.lang == "es"
    assert doc.meta == {"source": str(tmp_path / "S01-1.txt")}


def test_gzip_is_transparent(tmp_path: Path) -> None:
    with gzip.open(tmp_path / "notes.txt.gz", "wt", encoding="utf-8") as f:
        f.write("gzip text\nsecond\n")
    (doc,) = read_documents([tmp_path / "notes.txt.gz"])
    assert (doc.id, doc.text) == ("notes", "gzip text\nsecond\n")
    lines = list(read_documents([tmp_path / "notes.txt.gz"], one_per_line=True))
    assert [(d.id, d.text) for d in lines] == [("notes:1", "gzip text"), ("notes:2", "second")]


def test_invalid_utf8_names_file_line_and_byte_offset(tmp_path: Path) -> None:
    path = tmp_path / "bad.txt"
    path.write_bytes(b"ok line\nsecond \xff line\n")
    with pytest.raises(InputError) as info:
        list(read_documents([path]))
    err = info.value
    assert (err.path, err.line, err.offset) == (str(path), 2, 15)
    assert "invalid UTF-8" in str(err) and "column 8" in str(err)


@pytest.mark.parametrize(("content", "kind"), [(b"", "empty file"), (b"  \n\t\n", "empty document")])
def test_empty_files_are_bad(tmp_path: Path, content: bytes, kind: str) -> None:
    path = tmp_path / "e.txt"
    path.write_bytes(content)
    with pytest.raises(InputError, match=kind):
        list(read_documents([path]))
    report = BadInputReport()
    assert list(read_documents([path], skip_bad=True, report=report)) == []
    assert report.by_reason == {kind: 1}


def test_lines_mode_blank_lines_are_separators_not_bad(tmp_path: Path) -> None:
    path = tmp_path / "corpus.txt"
    path.write_bytes(b"first\r\n\n   \nsecond\nthird")
    report = BadInputReport()
    docs = list(read_documents([path], "lines", skip_bad=True, report=report))
    assert [(d.id, d.text, d.meta["line"]) for d in docs] == [
        ("corpus:1", "first", 1),
        ("corpus:4", "second", 4),
        ("corpus:5", "third", 5),
    ]
    assert report.count == 0


def test_lines_mode_skips_and_counts_undecodable_line(tmp_path: Path) -> None:
    path = tmp_path / "c.txt"
    path.write_bytes(b"good\nba\xc3d\nalso good\n")
    with pytest.raises(InputError) as info:
        list(read_documents([path], "text", one_per_line=True))
    assert (info.value.line, info.value.offset) == (2, 7)
    report = BadInputReport()
    docs = list(read_documents([path], "text", one_per_line=True, skip_bad=True, report=report))
    assert [d.text for d in docs] == ["good", "also good"]
    assert report.by_reason == {"invalid UTF-8": 1}
    assert report.errors[0].line == 2


def test_lines_mode_streams(tmp_path: Path) -> None:
    """Consuming 10 documents must not reach the broken line 1000 (the reader is lazy, line by line)."""
    path = tmp_path / "big.txt"
    body = b"".join(b"sentence %d\n" % i for i in range(1, 1000)) + b"\xff\xfe broken\n"
    path.write_bytes(body + b"more\n" * 5000)
    docs = list(itertools.islice(read_documents([path], "lines"), 10))
    assert [d.meta["line"] for d in docs] == list(range(1, 11))
    with pytest.raises(InputError, match="line 1000"):
        list(read_documents([path], "lines"))


def test_codiesp_text_folders(shared_data: Path) -> None:
    folder = shared_data / "es/codiesp/dev/text_files"
    docs = list(read_documents([folder], lang="es"))
    assert len(docs) == 250
    assert all(d.id == Path(d.meta["source"]).stem and d.lang == "es" for d in docs)
    no_final_newline = [d for d in docs if not d.text.endswith("\n")]
    assert len(no_final_newline) == 2  # PROVENANCE: 2 dev texts lack a final newline
    for doc in docs[:25]:  # byte-exact: re-encoding gives the file back
        assert doc.text.encode("utf-8") == Path(doc.meta["source"]).read_bytes()
    nbsp = list(read_documents([shared_data / "es/codiesp/train/text_files"]))
    assert any("\u00a0" in d.text for d in nbsp)


def test_write_lines_and_text_round_trip(tmp_path: Path) -> None:
    docs = [Document("a", "uno\ndos"), Document("b/c", "tres")]
    assert write_documents(docs, tmp_path / "out.txt.gz", "lines") == 2
    back = list(read_documents([tmp_path / "out.txt.gz"], "lines"))
    assert [d.text for d in back] == ["uno dos", "tres"]  # one line per document
    assert write_documents(docs, tmp_path / "folder", "text") == 2
    again = sorted(read_documents([tmp_path / "folder"]), key=lambda d: d.id)
    assert [(d.id, d.text) for d in again] == [("a", "uno\ndos"), ("b_c", "tres")]
    with pytest.raises(InputError, match="duplicate document id"):
        write_documents([Document("x", "1"), Document("x", "2")], tmp_path / "dup", "text")
