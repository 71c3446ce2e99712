"""How `medadapt predict` writes screening predictions: `patients.jsonl` (the full record per patient: scores,
decision at the model's threshold, evidence offsets) and `patients.csv` (one row per patient, evidence as JSON),
both appended chunk by chunk. No note text is written."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

JSONL_NAME = "patients.jsonl"
CSV_NAME = "patients.csv"


def csv_row(record: dict[str, Any]) -> dict[str, Any]:
    predicted = record["predicted"]
    row = {
        "patient_id": record["patient_id"],
        "predicted": "|".join(predicted) if isinstance(predicted, list) else predicted,
        "notes": record.get("notes"),
        "chunks": record.get("chunks"),
    }
    row |= {f"score_{label}": score for label, score in record["scores"].items()}
    evidence = {
        label: [{"note_id": e["note_id"], "char_ranges": e["char_ranges"]} for e in items]
        for label, items in record.get("evidence", {}).items()
    }
    return row | {"evidence": json.dumps(evidence, ensure_ascii=False)}


class PatientSink:
    append_files = (JSONL_NAME, CSV_NAME)

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir

    def write(self, predictions: list[dict[str, Any]]) -> None:
        if not predictions:
            return
        with open(self.out_dir / JSONL_NAME, "a", encoding="utf-8") as handle:
            for record in predictions:
                handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        rows = [csv_row(r) for r in predictions]
        target = self.out_dir / CSV_NAME
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
        if not target.exists() or target.stat().st_size == 0:
            writer.writeheader()
        writer.writerows(rows)
        with open(target, "a", encoding="utf-8") as handle:
            handle.write(buffer.getvalue())
            handle.flush()
            os.fsync(handle.fileno())


def prediction_sink(out_dir: Path, output_format: str) -> PatientSink:
    return PatientSink(out_dir)
