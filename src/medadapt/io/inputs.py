"""Turn what a user typed (files, folders, globs) into a sorted list of files, and name each file's format.

Order is deterministic (each input's matches sorted, inputs kept in the order given, duplicates dropped) so
that document order, and hence every seeded split downstream, does not depend on the file system.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

from medadapt.errors import InputError
from medadapt.io.files import base_suffix, stem

FORMATS = ("auto", "text", "lines", "jsonl", "csv", "tsv", "brat", "conll")

EXTENSION_FORMATS: dict[str, str] = {
    ".txt": "text",
    ".text": "text",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "tsv",
    ".conll": "conll",
    ".conllu": "conll",
    ".bio": "conll",
    ".iob": "conll",
    ".ann": "brat",
}
READABLE_EXTENSIONS = frozenset(EXTENSION_FORMATS)
# Which files a folder contributes for each `fmt` (a file named explicitly is always read).
FORMAT_EXTENSIONS: dict[str, frozenset[str]] = {
    "auto": READABLE_EXTENSIONS,
    "text": frozenset({".txt", ".text"}),
    "lines": frozenset({".txt", ".text"}),
    "jsonl": frozenset({".jsonl", ".ndjson", ".json"}),
    "csv": frozenset({".csv"}),
    "tsv": frozenset({".tsv"}),
    "brat": frozenset({".txt", ".ann"}),
    "conll": frozenset({".conll", ".conllu", ".bio", ".iob", ".txt"}),
}


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith(".") for part in path.relative_to(root).parts)


def _matches(path: Path, extensions: set[str] | frozenset[str] | None) -> bool:
    return extensions is None or base_suffix(path) in extensions


def _walk(folder: Path, extensions: set[str] | frozenset[str] | None) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not _is_hidden(p, folder) and _matches(p, extensions))


def expand_inputs(inputs: Sequence[str | Path], *, extensions: set[str] | None = None) -> list[Path]:
    """Files, folders (recursive, hidden entries skipped) and globs ("data/*.jsonl.gz", "**") -> files.

    `extensions` (e.g. {".txt", ".ann"}; `.gz` is looked through) filters folder contents only: a file or glob
    named explicitly is always kept. An input that matches nothing raises `InputError`.
    """
    if isinstance(inputs, str | Path):
        inputs = [inputs]
    exts = {e.lower() if e.startswith(".") else f".{e.lower()}" for e in extensions} if extensions else None
    seen: set[Path] = set()
    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        if path.is_dir():
            found = _walk(path, exts)
            if not found:
                wanted = ", ".join(sorted(exts)) if exts else "any file"
                raise InputError(path, f"folder contains no readable files ({wanted})")
        elif path.is_file():
            found = [path]
        elif glob.has_magic(str(item)):
            found = sorted(Path(p) for p in glob.glob(str(item), recursive=True) if Path(p).is_file())
            if not found:
                raise InputError(str(item), "pattern matches no files")
        else:
            raise InputError(path, "no such file or folder")
        for p in found:
            if p not in seen:
                seen.add(p)
                out.append(p)
    return out


def sibling_ann(txt_path: Path) -> Path | None:
    """The BRAT annotation file beside a text file (`x.txt` -> `x.ann` or `x.ann.gz`), if there is one."""
    for name in (f"{stem(txt_path)}.ann", f"{stem(txt_path)}.ann.gz"):
        candidate = txt_path.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def sibling_txt(ann_path: Path) -> Path | None:
    for name in (f"{stem(ann_path)}.txt", f"{stem(ann_path)}.txt.gz"):
        candidate = ann_path.with_name(name)
        if candidate.is_file():
            return candidate
    return None


def detect_format(path: Path, *, one_per_line: bool = False) -> str:
    """Format name from the extension after dropping `.gz`; a `.txt` with a sibling `.ann` is "brat".

    A folder is "brat" when it holds `.ann` files; any other folder raises (formats are detected per file —
    pass the folder to `read_documents`, which expands it). Unknown extensions raise `InputError` naming the
    fix.
    """
    path = Path(path)
    if path.is_dir():
        if any(p.suffix == ".ann" or p.name.endswith(".ann.gz") for p in path.rglob("*.ann*")):
            return "brat"
        raise InputError(path, "a folder without .ann files has no single format; pass its files (or fmt=...)")
    suffix = base_suffix(path)
    fmt = EXTENSION_FORMATS.get(suffix)
    if fmt is None:
        known = ", ".join(sorted(READABLE_EXTENSIONS))
        raise InputError(path, f"cannot tell the format from extension {suffix!r} (known: {known}); pass fmt=...")
    if fmt == "text":
        if sibling_ann(path) is not None:
            return "brat"
        return "lines" if one_per_line else "text"
    return fmt
