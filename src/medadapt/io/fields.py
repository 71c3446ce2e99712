"""Which record field holds the text, id, language, label and group — shared by the JSONL and CSV readers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medadapt.documents import Document
from medadapt.io.report import BadInput


@dataclass(frozen=True)
class Fields:
    text: str = "text"
    id: str = "id"
    lang: str = "lang"
    label: str = "label"
    group: str = "group"

    def names(self) -> set[str]:
        return {self.text, self.id, self.lang, self.label, self.group}


def _scalar(value: Any) -> str | None:
    """Empty strings and nulls mean "absent"; numbers and booleans become strings (labels like 0/1)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    raise TypeError(type(value).__name__)


def record_to_document(
    record: dict[str, Any],
    fields: Fields,
    *,
    path: Path,
    line: int,
    default_id: str,
    lang: str | None,
) -> Document:
    """Build a document from one record; raises `BadInput` for a missing, non-string or empty text field.

    Fields not named in `fields` go to `meta` (except `spans`/`meta`, read as medadapt's own schema by the
    caller).
    """
    if fields.text not in record:
        present = ", ".join(sorted(map(str, record))) or "none"
        raise BadInput(
            path,
            "missing text field",
            f"no {fields.text!r} field (fields: {present}); set text_field",
            line=line,
        )
    text = record[fields.text]
    if not isinstance(text, str):
        raise BadInput(
            path,
            "non-string text field",
            f"{fields.text!r} is {type(text).__name__}, not a string",
            line=line,
        )
    if not text.strip():
        raise BadInput(path, "empty document", f"{fields.text!r} is empty", line=line)
    values: dict[str, Any] = {}
    for role in ("id", "lang", "group"):
        name = getattr(fields, role)
        try:
            values[role] = _scalar(record.get(name))
        except TypeError as exc:
            raise BadInput(path, f"invalid {role} field", f"{name!r} is {exc}", line=line) from None
    label = record.get(fields.label)
    if isinstance(label, list):
        if not all(isinstance(x, str) for x in label):
            raise BadInput(path, "invalid label field", f"{fields.label!r} list holds non-strings", line=line)
    else:
        try:
            label = _scalar(label)
        except TypeError as exc:
            raise BadInput(path, "invalid label field", f"{fields.label!r} is {exc}", line=line) from None
    extra = {k: v for k, v in record.items() if k not in fields.names() and k not in ("spans", "meta")}
    return Document(
        id=values["id"] or default_id,
        text=text,
        lang=values["lang"] or lang,
        label=label,
        group=values["group"],
        meta=extra,
    )
