"""How `medadapt predict` writes NER predictions: BRAT (a copy of each text beside its predicted `.ann`) or one
JSONL file of `{"id", "spans": [{start, end, label, text}]}` records, appended chunk by chunk."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from medadapt.documents import Document
from medadapt.io.brat import write_brat

JSONL_NAME = "predictions.jsonl"


def span_records(document: Document) -> list[dict[str, Any]]:
    """A document's predicted spans as plain records (what the Python API returns and the JSONL holds)."""
    return [
        {"start": s.start, "end": s.end, "label": s.label, "text": document.span_text(s)}
        for s in sorted(document.spans, key=lambda s: (s.start, s.end, s.label))
    ]


class BratSink:
    """One `<id>.txt` + `<id>.ann` per document; a rerun rewrites the files of an unfinished chunk."""

    append_files: tuple[str, ...] = ()

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    def write(self, predictions: list[Document]) -> None:
        for doc in predictions:
            write_brat(Document(doc.id, doc.text, doc.lang, doc.spans), self.out_dir)


class JsonlSink:
    append_files = (JSONL_NAME,)

    def __init__(self, out_dir: Path) -> None:
        self.path = out_dir / JSONL_NAME

    def write(self, predictions: list[Document]) -> None:
        with open(self.path, "a", encoding="utf-8") as handle:
            for doc in predictions:
                handle.write(json.dumps({"id": doc.id, "spans": span_records(doc)}, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def prediction_sink(out_dir: Path, output_format: str) -> BratSink | JsonlSink:
    return BratSink(out_dir) if output_format == "brat" else JsonlSink(out_dir)
