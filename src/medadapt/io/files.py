"""Byte-level file access shared by every reader: gzip by suffix, strict UTF-8 with exact error locations.

Files are opened in binary and decoded by us, not by `open(encoding=...)`, for two reasons: an invalid byte
must be reported with its file, line and byte offset (a text-mode read only says "position 123 of some
buffer"), and text must stay byte-exact — no newline translation, BOM kept (MEDDOCAN offsets count the BOM as
character 0).
"""

from __future__ import annotations

import gzip
import os
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from medadapt.io.report import BadInput

BOM = "\ufeff"
_READ_ERRORS = (OSError, EOFError, zlib.error)


def is_gzip(path: Path) -> bool:
    return path.name.endswith(".gz")


def base_name(path: Path) -> str:
    """File name without a trailing `.gz`: "notes.jsonl.gz" -> "notes.jsonl"."""
    return path.name[:-3] if is_gzip(path) else path.name


def base_suffix(path: Path) -> str:
    """Lower-case extension after dropping `.gz`: "a.TSV.gz" -> ".tsv"."""
    return Path(base_name(path)).suffix.lower()


def stem(path: Path) -> str:
    """Document-id stem: "S0004-06.txt" -> "S0004-06", "notes.jsonl.gz" -> "notes"."""
    return Path(base_name(path)).stem


@contextmanager
def open_binary(path: Path) -> Iterator[IO[bytes]]:
    """Open for reading bytes, decompressing `.gz`; an unopenable file becomes a `BadInput`."""
    try:
        handle: IO[bytes] = gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")  # noqa: SIM115
    except OSError as exc:
        raise BadInput(path, "unreadable file", exc.strerror or str(exc)) from exc
    with handle:
        yield handle


def _decode_error(path: Path, data: bytes, exc: UnicodeDecodeError, line: int, base: int) -> BadInput:
    bad = data[exc.start : exc.start + 4].hex(" ")
    return BadInput(
        path,
        "invalid UTF-8",
        f"bytes {bad} at column {exc.start + 1} of the line ({exc.reason}); re-encode the file as UTF-8",
        line=line,
        offset=base + exc.start,
    )


def read_text(path: Path) -> str:
    """The whole file as a string, decoded strictly as UTF-8 with nothing translated (BOM and CR kept)."""
    try:
        with open_binary(path) as handle:
            data = handle.read()
    except _READ_ERRORS as exc:
        if isinstance(exc, BadInput):
            raise
        raise BadInput(path, "unreadable file", str(exc)) from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        sub = UnicodeDecodeError(exc.encoding, exc.object, exc.start - line_start, exc.end - line_start, exc.reason)
        raise _decode_error(path, data[line_start:], sub, line, line_start) from exc


@dataclass(frozen=True, slots=True)
class Line:
    """One physical line: `text` keeps its terminator; on invalid UTF-8 `error` is set and `text` is decoded
    with replacement characters (so a CSV parser can keep its place while the record is skipped)."""

    number: int
    text: str
    offset: int
    error: BadInput | None = None


def iter_lines(path: Path) -> Iterator[Line]:
    """Stream lines (split on b"\\n" only) with 1-based numbers and byte offsets, never the whole file."""
    offset = 0
    number = 0
    try:
        with open_binary(path) as handle:
            for number, raw in enumerate(handle, 1):
                try:
                    yield Line(number, raw.decode("utf-8"), offset)
                except UnicodeDecodeError as exc:
                    error = _decode_error(path, raw, exc, number, offset)
                    yield Line(number, raw.decode("utf-8", errors="replace"), offset, error)
                offset += len(raw)
    except _READ_ERRORS as exc:
        if isinstance(exc, BadInput):
            raise
        raise BadInput(path, "unreadable file", f"{exc} (after line {number})", line=number + 1) from exc


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """Write `path` atomically (to `path.tmp`, renamed on success); `.gz` is reproducible."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as raw:
            if is_gzip(path):
                with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as packed:
                    yield packed
            else:
                yield raw
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def move_aside(path: Path, label: str = "") -> Path:
    """Rename `path` to `<stem>.<label><timestamp><suffix>` beside it (unique); returns the new path. Used for
    finished results that a rerun must not destroy: a rename is atomic, so a kill leaves them in place or moved."""
    stamp = label + time.strftime("%Y%m%d-%H%M%S")
    stem, suffix = (path.stem, path.suffix) if path.is_file() else (path.name, "")
    target = path.with_name(f"{stem}.{stamp}{suffix}")
    counter = 1
    while target.exists():
        target = path.with_name(f"{stem}.{stamp}-{counter}{suffix}")
        counter += 1
    path.rename(target)
    return target
