"""Plain text: one document per file, or one per line ("lines" mode).

Text is decoded strictly as UTF-8 and kept byte-exact, BOM included: BRAT offsets may count the BOM
(MEDDOCAN), and for corpus text the cleaner strips it, so the reader never guesses. In lines mode blank
(whitespace-only) lines are separators, not bad input; a file that yields no document at all is reported as
empty by `read_documents`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from medadapt.documents import Document
from medadapt.io.files import atomic_writer, iter_lines, read_text, stem
from medadapt.io.report import BadInput, OnBad


def read_text_file(path: Path, *, lang: str | None = None) -> Document:
    """The whole file as one document with id = file stem; empty or whitespace-only text raises `BadInput`."""
    text = read_text(path)
    if not text:
        raise BadInput(path, "empty file")
    if not text.strip():
        raise BadInput(path, "empty document", "the file holds only whitespace", line=1)
    return Document(id=stem(path), text=text, lang=lang, meta={"source": str(path)})


def read_lines(path: Path, on_bad: OnBad, *, lang: str | None = None) -> Iterator[Document]:
    """One document per non-blank line, id "<stem>:<line>"; the line terminator ("\\n", "\\r\\n") is dropped.

    Blank lines are separators (paragraph breaks in a corpus), so they are skipped without being counted as
    bad.
    """
    name = stem(path)
    for line in iter_lines(path):
        if line.error is not None:
            on_bad(line.error)
            continue
        text = line.text.rstrip("\r\n")
        if not text.strip():
            continue
        yield Document(
            id=f"{name}:{line.number}", text=text, lang=lang, meta={"source": str(path), "line": line.number}
        )


def write_lines(docs: Iterable[Document], path: Path) -> int:
    """One document per line; newlines inside a document become spaces (a line cannot hold them)."""
    count = 0
    with atomic_writer(path) as out:
        for doc in docs:
            text = doc.text.replace("\r\n", " ").replace("\n", " ").replace("\r", " ")
            if not text.strip():
                raise BadInput(path, "empty document", f"document {doc.id!r} has no text to write")
            out.write(text.encode("utf-8") + b"\n")
            count += 1
    return count


def safe_file_name(doc_id: str) -> str:
    """A document id usable as a file name (path separators replaced)."""
    name = doc_id.replace("/", "_").replace("\\", "_")
    if name in ("", ".", ".."):
        raise ValueError(f"document id {doc_id!r} cannot be used as a file name")
    return name


def write_text_files(docs: Iterable[Document], out_dir: Path) -> int:
    """One `<id>.txt` per document, byte-exact; duplicate ids raise instead of overwriting each other."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    for doc in docs:
        name = safe_file_name(doc.id)
        if name in written:
            raise BadInput(out_dir, "duplicate document id", f"{doc.id!r} would overwrite {name}.txt")
        written.add(name)
        (out_dir / f"{name}.txt").write_bytes(doc.text.encode("utf-8"))
    return len(written)
