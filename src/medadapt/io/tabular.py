"""CSV and TSV: one document per record, columns chosen by header name; other columns go to `meta`.

Parsed with the `csv` module (RFC 4180 quoting) because clinical notes are long and contain quoted newlines;
the field size limit is raised accordingly. `strict=True` makes malformed quoting an error instead of silently
merged text. A record's `line` is the physical line where it starts. A leading BOM is ignored (it would
otherwise be part of the first column name). Blank lines between records carry nothing and are skipped; every
other record must have exactly as many fields as the header.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from medadapt.documents import Document
from medadapt.io.fields import Fields, record_to_document
from medadapt.io.files import BOM, iter_lines, stem
from medadapt.io.report import BadInput, OnBad

csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


def _label_field(fields: Fields, header: list[str], label_column: int | str | None, path: Path) -> Fields:
    if label_column is None:
        return fields
    if isinstance(label_column, int):
        try:
            label_column = header[label_column]
        except IndexError:
            raise BadInput(path, "missing label column", f"column {label_column} not in header", line=1) from None
    return Fields(fields.text, fields.id, fields.lang, label_column, fields.group)


def read_table(
    path: Path,
    on_bad: OnBad,
    fields: Fields,
    *,
    delimiter: str = ",",
    lang: str | None = None,
    label_column: int | str | None = None,
) -> Iterator[Document]:
    """Stream one document per record; bad records go to `on_bad`, a header without the text column raises."""
    pending: list[BadInput] = []  # invalid UTF-8 in the lines of the record being parsed

    def feed() -> Iterator[str]:
        for line in iter_lines(path):
            if line.error is not None:
                pending.append(line.error)
            yield line.text.lstrip(BOM) if line.number == 1 else line.text

    reader = csv.reader(feed(), delimiter=delimiter, strict=True)
    header = _read_header(reader, pending, path)
    if header is None:
        return
    fields = _checked_fields(fields, header, label_column, path)
    name = stem(path)
    while True:
        start = reader.line_num + 1
        pending.clear()
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            on_bad(BadInput(path, "malformed CSV", f"{exc} (record skipped)", line=start))
            continue  # the csv parser starts afresh on the next line
        if pending:
            on_bad(pending[0])
            continue
        doc = _record(row, header, fields, path, start, f"{name}:{start}", lang, on_bad)
        if doc is not None:
            yield doc


def _read_header(reader: Any, pending: list[BadInput], path: Path) -> list[str] | None:
    """The column names (None for an empty file); a header that does not parse is a file-level error."""
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        return None
    except csv.Error as exc:
        raise BadInput(path, "malformed CSV", str(exc), line=reader.line_num) from None
    if pending:
        raise pending[0]
    return header


def _checked_fields(fields: Fields, header: list[str], label_column: int | str | None, path: Path) -> Fields:
    """`fields` with the label column resolved; the header must hold the text column, each name once."""
    fields = _label_field(fields, header, label_column, path)
    if fields.text not in header:
        raise BadInput(
            path,
            "missing text column",
            f"header has no {fields.text!r} column (columns: {', '.join(header)}); set text_field",
            line=1,
        )
    if len(set(header)) != len(header):
        raise BadInput(path, "malformed CSV", "duplicate column names in the header", line=1)
    return fields


def _record(
    row: list[str],
    header: list[str],
    fields: Fields,
    path: Path,
    start: int,
    default_id: str,
    lang: str | None,
    on_bad: OnBad,
) -> Document | None:
    """The document of one record starting on line `start`; None for a blank line or a bad record (reported)."""
    if not row or (len(row) == 1 and not row[0].strip() and len(header) > 1):
        return None
    if len(row) != len(header):
        detail = f"record has {len(row)} fields, header has {len(header)}"
        on_bad(BadInput(path, "wrong number of columns", detail, line=start))
        return None
    try:
        doc = record_to_document(
            dict(zip(header, row, strict=True)), fields, path=path, line=start, default_id=default_id, lang=lang
        )
    except BadInput as exc:
        on_bad(exc)
        return None
    doc.meta["source"] = str(path)
    doc.meta["line"] = start
    return doc
