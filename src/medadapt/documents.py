"""The one data model every stage exchanges: `Document` with character-offset `Span`s.

NER data are documents with gold spans; screening data are documents with a `label`, grouped by patient in
`group`; a pre-training corpus is documents with text only. Offsets are Python string indices (code points) into
`text`, end exclusive, so every task works on characters and tokenization stays inside the model layer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, order=True)
class Span:
    """A labelled character range `text[start:end]`; `fragments` holds discontinuous pieces, if any."""

    start: int
    end: int
    label: str
    fragments: tuple[tuple[int, int], ...] = ()
    id: str | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise ValueError(f"invalid span offsets {self.start}-{self.end} for label {self.label!r}")

    def covers(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass
class Document:
    """One text with whatever the task attaches to it.

    `meta` carries reader provenance (`source` file, `line`) and format-specific extras that writers need for a
    faithful round trip (e.g. BRAT relation lines). It must stay JSON-serialisable.
    """

    id: str
    text: str
    lang: str | None = None
    spans: list[Span] = field(default_factory=list)
    label: str | list[str] | None = None
    group: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def span_text(self, span: Span) -> str:
        return self.text[span.start : span.end]

    def validate(self) -> None:
        """Raise ValueError if a span lies outside the text; readers turn it into an InputError with location."""
        n = len(self.text)
        for span in self.spans:
            pieces = span.fragments or ((span.start, span.end),)
            for start, end in pieces:
                if end > n:
                    raise ValueError(
                        f"document {self.id!r}: span {start}-{end} ({span.label}) ends beyond the text (length {n})"
                    )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form used by the JSONL writer."""
        out: dict[str, Any] = {"id": self.id, "text": self.text}
        if self.lang is not None:
            out["lang"] = self.lang
        if self.spans:
            out["spans"] = [
                {"start": s.start, "end": s.end, "label": s.label}
                | ({"fragments": [list(f) for f in s.fragments]} if s.fragments else {})
                | ({"id": s.id} if s.id else {})
                for s in self.spans
            ]
        if self.label is not None:
            out["label"] = self.label
        if self.group is not None:
            out["group"] = self.group
        if self.meta:
            out["meta"] = self.meta
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Document:
        spans = [
            Span(
                int(s["start"]),
                int(s["end"]),
                str(s["label"]),
                tuple(tuple(f) for f in s.get("fragments", ())),  # type: ignore[misc]
                s.get("id"),
            )
            for s in data.get("spans", ())
        ]
        return cls(
            id=str(data["id"]),
            text=data["text"],
            lang=data.get("lang"),
            spans=spans,
            label=data.get("label"),
            group=data.get("group"),
            meta=dict(data.get("meta", {})),
        )
