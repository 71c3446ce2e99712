"""JSONL: medadapt's own interchange format (`Document.to_dict()` per line) and plain records from elsewhere.

A record with a `spans` list and/or a `meta` object is read as medadapt's schema; any other record is read
through configurable field names, with unknown fields kept in `meta`. Whitespace-only lines carry no record
and are skipped (they lose nothing); every other line must be a JSON object. A leading UTF-8 BOM on line 1 is
ignored (it is not data, and `json` rejects it). A `.json` file holding one JSON array of records is also
accepted; that case cannot stream and is read whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from medadapt.documents import Document, Span
from medadapt.io.fields import Fields, record_to_document
from medadapt.io.files import BOM, atomic_writer, iter_lines, read_text, stem
from medadapt.io.report import BadInput, OnBad


def _spans(raw: Any, path: Path, line: int) -> list[Span]:
    if not isinstance(raw, list):
        raise BadInput(path, "invalid spans", "'spans' must be a list", line=line)
    spans = []
    for i, item in enumerate(raw):
        try:
            fragments = tuple((int(a), int(b)) for a, b in item.get("fragments", ()))
            spans.append(Span(int(item["start"]), int(item["end"]), str(item["label"]), fragments, item.get("id")))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise BadInput(path, "invalid spans", f"span {i}: {exc!r}", line=line) from None
    return spans


def parse_record(record: Any, fields: Fields, *, path: Path, line: int, default_id: str, lang: str | None) -> Document:
    """One decoded JSON value -> Document, with spans checked against the text."""
    if not isinstance(record, dict):
        raise BadInput(path, "not a JSON object", f"got a JSON {type(record).__name__}", line=line)
    doc = record_to_document(record, fields, path=path, line=line, default_id=default_id, lang=lang)
    if "spans" in record:
        doc.spans = _spans(record["spans"], path, line)
        try:
            doc.validate()
        except ValueError as exc:
            raise BadInput(path, "invalid spans", str(exc), line=line) from None
    meta = record.get("meta")
    if meta is not None:
        if not isinstance(meta, dict):
            raise BadInput(path, "invalid meta", "'meta' must be an object", line=line)
        doc.meta = {**meta, **doc.meta}
        if "source" in meta:  # keep where the record first came from; `source` becomes this file
            doc.meta.setdefault("origin", meta["source"])
            if "line" in meta:
                doc.meta.setdefault("origin_line", meta["line"])
    doc.meta["source"] = str(path)
    doc.meta["line"] = line
    return doc


def read_jsonl(path: Path, on_bad: OnBad, fields: Fields, *, lang: str | None = None) -> Iterator[Document]:
    """Stream documents; each bad line goes to `on_bad` (raises or records), and reading goes on."""
    if path.name.lower().endswith((".json", ".json.gz")) and _starts_with_array(path):
        yield from _read_json_array(path, on_bad, fields, lang=lang)
        return
    name = stem(path)
    for line in iter_lines(path):
        if line.error is not None:
            on_bad(line.error)
            continue
        text = line.text.lstrip(BOM) if line.number == 1 else line.text
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            col = exc.pos + 1
            offset = line.offset + len(text[: exc.pos].encode("utf-8"))
            on_bad(BadInput(path, "invalid JSON", f"{exc.msg} at column {col}", line=line.number, offset=offset))
            continue
        try:
            yield parse_record(
                record, fields, path=path, line=line.number, default_id=f"{name}:{line.number}", lang=lang
            )
        except BadInput as exc:
            on_bad(exc)


def _starts_with_array(path: Path) -> bool:
    for line in iter_lines(path):
        stripped = line.text.lstrip(BOM).strip()
        if stripped:
            return stripped.startswith("[")
    return False


def _read_json_array(path: Path, on_bad: OnBad, fields: Fields, *, lang: str | None) -> Iterator[Document]:
    """A `.json` file holding one array of records; `meta["index"]` is the record's 1-based position."""
    try:
        records = json.loads(read_text(path).lstrip(BOM))
    except json.JSONDecodeError as exc:
        raise BadInput(path, "invalid JSON", exc.msg, line=exc.lineno) from None
    name = stem(path)
    for i, record in enumerate(records, 1):
        try:
            doc = parse_record(record, fields, path=path, line=i, default_id=f"{name}:{i}", lang=lang)
        except BadInput as exc:
            on_bad(BadInput(path, exc.kind, f"array item {i}: {exc.detail}"))
            continue
        doc.meta["index"] = doc.meta.pop("line")
        yield doc


def write_jsonl(docs: Iterable[Document], path: Path) -> int:
    """One `Document.to_dict()` per line, UTF-8 unescaped; `.gz` compresses; written atomically."""
    count = 0
    with atomic_writer(path) as out:
        for doc in docs:
            out.write(json.dumps(doc.to_dict(), ensure_ascii=False).encode("utf-8") + b"\n")
            count += 1
    return count
