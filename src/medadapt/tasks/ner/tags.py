"""Tag vocabularies (IOB2, BIOES) and the two directions between entity runs and tag sequences.

`LabelMap` fixes the ids a model predicts ("O" = 0, then B-/I- (/E-/S-) per type in sorted type order) and
gives `id2label`/`label2id` in the form Hugging Face configs store, so a saved model folder decodes itself.
`tags_for_run` writes the tags of one entity; `chunk_tags` reads entities back from a predicted sequence and
repairs invalid sequences deterministically: with "conlleval" an I-X (or E-X) that does not continue an open X
entity starts a new one, exactly as conlleval and seqeval count it; with "drop" such tokens are ignored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from medadapt.documents import Document

SCHEMES = ("IOB2", "BIOES")
REPAIRS = ("conlleval", "drop")
OUTSIDE = "O"


@dataclass(frozen=True)
class LabelMap:
    """Entity types plus a tagging scheme; `labels[i]` is the tag of class id i."""

    types: tuple[str, ...]
    scheme: str = "IOB2"
    labels: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        types = tuple(sorted(set(self.types)))
        if "" in types:
            raise ValueError("entity types must be non-empty strings")
        prefixes = "BI" if self.scheme == "IOB2" else "BIES"
        object.__setattr__(self, "types", types)
        object.__setattr__(self, "labels", (OUTSIDE, *(f"{p}-{t}" for t in types for p in prefixes)))

    @classmethod
    def from_documents(cls, docs: Iterable[Document], scheme: str = "IOB2") -> LabelMap:
        return cls(tuple({span.label for doc in docs for span in doc.spans}), scheme)

    @classmethod
    def from_id2label(cls, id2label: dict[int, str] | dict[str, str]) -> LabelMap:
        """Rebuild from a model config, checking the ids still mean the same tags."""
        label_map, order = cls.from_foreign_id2label(id2label)
        if order != list(range(label_map.num_labels)):
            tags = [id2label[k] for k in sorted(id2label, key=int)]  # type: ignore[index]
            raise ValueError(f"id2label {tags} is not in medadapt order {list(label_map.labels)}")
        return label_map

    @classmethod
    def from_foreign_id2label(cls, id2label: dict[int, str] | dict[str, str]) -> tuple[LabelMap, list[int]]:
        """(label map, column order) for a model trained elsewhere (e.g. run_ner.py sorts its tags): the model's
        logit columns `order` are the label map's classes, i.e. `logits[..., order]` is in medadapt order.
        A tag set that is not one complete IOB2/BIOES scheme over its types is refused."""
        tags = [id2label[k] for k in sorted(id2label, key=int)]  # type: ignore[index]
        scheme = "BIOES" if any(t[:2] in ("E-", "S-") for t in tags) else "IOB2"
        label_map = cls(tuple({t[2:] for t in tags if t != OUTSIDE}), scheme)
        if sorted(label_map.labels) != sorted(tags):
            raise ValueError(f"id2label {tags} is not a complete {scheme} tag set; expected {list(label_map.labels)}")
        return label_map, [tags.index(label) for label in label_map.labels]

    @property
    def num_labels(self) -> int:
        return len(self.labels)

    @property
    def id2label(self) -> dict[int, str]:
        return dict(enumerate(self.labels))

    @property
    def label2id(self) -> dict[str, int]:
        return {tag: i for i, tag in enumerate(self.labels)}

    def tags_for_run(self, label: str, length: int) -> list[int]:
        """Class ids for an entity of `label` over `length` consecutive labelled units."""
        ids = self.label2id
        if f"B-{label}" not in ids:
            raise KeyError(label)
        if self.scheme == "BIOES":
            if length == 1:
                return [ids[f"S-{label}"]]
            return [ids[f"B-{label}"], *[ids[f"I-{label}"]] * (length - 2), ids[f"E-{label}"]]
        return [ids[f"B-{label}"], *[ids[f"I-{label}"]] * (length - 1)]


@dataclass
class ChunkCounts:
    """Invalid transitions met while chunking: repaired (started an entity) or dropped."""

    repaired: int = 0
    dropped: int = 0


def chunk_tags(
    tags: Sequence[str], repair: str = "conlleval", counts: ChunkCounts | None = None
) -> list[tuple[int, int, str]]:
    """Entities as (first unit, last unit exclusive, type) from a tag sequence; see module doc for `repair`."""
    if repair not in REPAIRS:
        raise ValueError(f"repair must be one of {REPAIRS}, got {repair!r}")
    counts = counts if counts is not None else ChunkCounts()
    chunks: list[tuple[int, int, str]] = []
    start, typ = -1, ""  # open entity, start = -1 when none

    def close(end: int) -> None:
        nonlocal start
        if start >= 0:
            chunks.append((start, end, typ))
        start = -1

    for i, tag in enumerate(tags):
        prefix, kind = (tag[0], tag[2:]) if tag != OUTSIDE else ("O", "")
        if prefix in "IE" and not (start >= 0 and kind == typ):
            close(i)
            if repair == "drop":
                counts.dropped += 1
                continue
            counts.repaired += 1
            prefix = "B" if prefix == "I" else "S"
        if prefix == "O":
            close(i)
        elif prefix in "BS":
            close(i)
            start, typ = i, kind
            if prefix == "S":
                close(i + 1)
        elif prefix == "E":
            close(i + 1)
        # "I" continuing the open entity: nothing to do
    close(len(tags))
    return chunks
