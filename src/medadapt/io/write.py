"""`write_documents`: one entry point for every output format; returns the number of documents written."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from medadapt.documents import Document
from medadapt.io.brat import write_brat
from medadapt.io.conll import write_conll
from medadapt.io.jsonl import write_jsonl
from medadapt.io.report import BadInput
from medadapt.io.text import safe_file_name, write_lines, write_text_files

WRITE_FORMATS = ("jsonl", "brat", "conll", "lines", "text")


def _write_brat_folder(docs: Iterable[Document], out_dir: Path) -> int:
    seen: set[str] = set()
    for doc in docs:
        name = safe_file_name(doc.id)
        if name in seen:
            raise BadInput(out_dir, "duplicate document id", f"{doc.id!r} would overwrite {name}.txt/.ann")
        seen.add(name)
        write_brat(doc, out_dir)
    return len(seen)


def write_documents(docs: Iterable[Document], path_or_dir: str | Path, fmt: str, **options: str | bool) -> int:
    """Write documents as "jsonl" (a file; `.gz` compresses), "brat" (a folder of .txt+.ann), "conll" (a file;
    options `scheme`, `docstart`), "lines" (a file, one document per line) or "text" (a folder, one .txt
    each)."""
    path = Path(path_or_dir)
    if fmt == "jsonl":
        return write_jsonl(docs, path)
    if fmt == "brat":
        return _write_brat_folder(docs, path)
    if fmt == "conll":
        return write_conll(docs, path, **options)  # type: ignore[arg-type]
    if fmt == "lines":
        return write_lines(docs, path)
    if fmt == "text":
        return write_text_files(docs, path)
    raise ValueError(f"fmt must be one of {', '.join(WRITE_FORMATS)}; got {fmt!r}")
