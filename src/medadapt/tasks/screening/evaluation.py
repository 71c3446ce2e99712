"""Screening evaluation: thresholds from dev, patient- and note-level metrics with bootstrap CIs, predictions with
the evidence chunks that drove each flag, and the reliability plot.

Predictions never contain note text unless asked (`evaluation.write_text`): the evidence is given as note id and
character ranges, which is enough to find it in the record and safe to share inside a project.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from medadapt.metrics.classification import (
    binary_metrics,
    calibration_bins,
    choose_threshold,
    expected_calibration_error,
    multiclass_metrics,
    multilabel_metrics,
    reliability_plot,
)
from medadapt.metrics.stats import auprc_from_rows, auroc_from_rows, bootstrap_ci, threshold_metrics_from_rows
from medadapt.tasks.screening.chunks import EncodedPatient
from medadapt.tasks.screening.config import EvaluationSection, ThresholdSection
from medadapt.tasks.screening.data import LabelSpace
from medadapt.tasks.screening.scoring import SplitScores


def patient_probabilities(scores: SplitScores, space: LabelSpace) -> np.ndarray:
    """[patients, k] probabilities (binary: k = 1, the positive label)."""
    return scores.probabilities(scores.output.logits, space.kind)


def note_probabilities(scores: SplitScores, space: LabelSpace) -> np.ndarray:
    return scores.probabilities(scores.output.note_logits, space.kind)


def targets(encoded: Sequence[EncodedPatient], space: LabelSpace) -> np.ndarray:
    return np.asarray([e.target for e in encoded])


def choose_thresholds(
    y: np.ndarray, probabilities: np.ndarray, space: LabelSpace, settings: ThresholdSection
) -> list[float] | None:
    """Operating threshold(s) on dev: one (binary), one per label (multi-label), none (multi-class: arg-max)."""
    if space.kind == "multiclass":
        return None
    y2 = y.reshape(len(y), -1)
    return [
        choose_threshold(
            y2[:, j], probabilities[:, j], objective=settings.objective, target_sensitivity=settings.target_sensitivity
        )
        for j in range(probabilities.shape[1])
    ]


def level_metrics(
    y: np.ndarray, probabilities: np.ndarray, space: LabelSpace, thresholds: list[float] | None, n_bins: int
) -> dict[str, Any]:
    """The metrics of one level (patients or notes)."""
    if space.kind == "binary":
        assert thresholds is not None
        metrics: dict[str, Any] = binary_metrics(y, probabilities[:, 0], thresholds[0])
        if metrics["positives"] > 0:
            metrics["ece"] = expected_calibration_error(y, probabilities[:, 0], n_bins)
            metrics["calibration"] = calibration_bins(y, probabilities[:, 0], n_bins)
        return metrics
    if space.kind == "multiclass":
        return multiclass_metrics([space.labels[int(i)] for i in y], probabilities, space.labels)
    assert thresholds is not None
    return multilabel_metrics(y, probabilities, space.labels, thresholds)


def confidence_intervals(
    y: np.ndarray, probabilities: np.ndarray, threshold: float, settings: EvaluationSection, seed: int = 0
) -> dict[str, dict[str, float]]:
    """Percentile bootstrap CIs over patients for the binary metrics (one seed; the summary pools seeds)."""
    if settings.bootstrap_resamples == 0:
        return {}
    rows = np.column_stack([y.astype(float), probabilities[:, 0]])
    metrics = {"auroc": auroc_from_rows, "auprc": auprc_from_rows, **threshold_metrics_from_rows(threshold)}
    return {
        name: bootstrap_ci(
            rows, metric, n_resamples=settings.bootstrap_resamples, confidence=settings.confidence, seed=seed
        )
        for name, metric in metrics.items()
    }


def split_report(
    scores: SplitScores,
    encoded: Sequence[EncodedPatient],
    space: LabelSpace,
    thresholds: list[float] | None,
    settings: EvaluationSection,
    *,
    with_ci: bool = True,
) -> dict[str, Any]:
    """Patient- and note-level metrics; CIs at the patient level (binary)."""
    y = targets(encoded, space)
    probabilities = patient_probabilities(scores, space)
    report: dict[str, Any] = {"patient": level_metrics(y, probabilities, space, thresholds, settings.calibration_bins)}
    if with_ci and space.kind == "binary" and thresholds is not None:
        report["patient_ci"] = confidence_intervals(y, probabilities, thresholds[0], settings)
    note_y = np.asarray([encoded[p].target for p, _ in scores.note_owner])
    note_p = note_probabilities(scores, space)
    report["note"] = level_metrics(note_y, note_p, space, thresholds, settings.calibration_bins)
    report["note"]["labels_from"] = "each note carries its own label (in patient mode: the patient's)"
    return report


def _flagged(probabilities: np.ndarray, space: LabelSpace, thresholds: list[float] | None) -> list[list[int]]:
    """Per patient, the output columns predicted (binary: [0] when flagged)."""
    if space.kind == "multiclass":
        return [[int(np.argmax(row))] for row in probabilities]
    assert thresholds is not None
    return [[j for j, t in enumerate(thresholds) if row[j] >= t] for row in probabilities]


def _label_of(column: int, space: LabelSpace) -> str:
    return space.positive if space.kind == "binary" else space.labels[column]


def evidence(
    scores: SplitScores,
    encoded: Sequence[EncodedPatient],
    space: LabelSpace,
    column: int,
    patient: int,
    top_k: int,
    write_text: bool,
    chunk_rows: dict[int, list[int]],
) -> list[dict[str, Any]]:
    """The `top_k` chunks of one patient with the highest score for `column`, with their pooling weights."""
    out = scores.output
    rows = chunk_rows.get(patient, [])
    chunk_p = scores.probabilities(out.chunk_logits[rows], space.kind)[:, column] if rows else np.zeros(0)
    note_index = {owner: i for i, owner in enumerate(scores.note_owner)}
    ranked = sorted(range(len(rows)), key=lambda i: -float(chunk_p[i]))[:top_k]
    items = []
    for i in ranked:
        row = rows[i]
        chunk = encoded[patient].chunks[scores.chunk_owner[row][1]]
        note = encoded[patient].patient.notes[chunk.note]
        item: dict[str, Any] = {
            "note_id": note.id,
            "char_ranges": [list(r) for r in chunk.char_ranges],
            "chunk_score": round(float(chunk_p[i]), 6),
            "chunk_weight_in_note": round(float(out.chunk_weights[row]), 6),
            "note_weight_in_patient": round(float(out.note_weights[note_index[(patient, chunk.note)]]), 6),
        }
        if write_text:
            item["text"] = " … ".join(note.text[a:b] for a, b in chunk.char_ranges)
        items.append(item)
    return items


def patient_records(
    scores: SplitScores,
    encoded: Sequence[EncodedPatient],
    space: LabelSpace,
    thresholds: list[float] | None,
    settings: EvaluationSection,
    *,
    with_gold: bool = True,
) -> list[dict[str, Any]]:
    """Per patient: scores, the decision at `thresholds`, and the evidence chunks of every predicted label (the
    rows of predictions.jsonl; `with_gold=False` for unlabelled notes)."""
    probabilities = patient_probabilities(scores, space)
    flagged = _flagged(probabilities, space, thresholds)
    chunk_rows: dict[int, list[int]] = {}
    for row, (patient, _) in enumerate(scores.chunk_owner):
        chunk_rows.setdefault(patient, []).append(row)
    columns = [space.positive] if space.kind == "binary" else list(space.labels)
    records = []
    for p, item in enumerate(encoded):
        predicted = [_label_of(j, space) for j in flagged[p]]
        if space.kind == "binary":
            predicted = predicted or [space.labels[0]]
        record: dict[str, Any] = {"patient_id": item.patient.id}
        if with_gold:
            record["gold"] = item.patient.label if isinstance(item.patient.label, str) else "|".join(item.patient.label)
        record |= {
            "predicted": predicted if space.kind == "multilabel" else predicted[0],
            "scores": {c: round(float(v), 6) for c, v in zip(columns, probabilities[p], strict=True)},
            "thresholds": thresholds,
            "notes": len(item.patient.notes),
            "chunks": len(item.chunks),
        }
        if settings.explain_top_k and flagged[p]:
            record["evidence"] = {
                _label_of(j, space): evidence(
                    scores, encoded, space, j, p, settings.explain_top_k, settings.write_text, chunk_rows
                )
                for j in flagged[p]
            }
        records.append(record)
    return records


def write_predictions(
    scores: SplitScores,
    encoded: Sequence[EncodedPatient],
    space: LabelSpace,
    thresholds: list[float] | None,
    settings: EvaluationSection,
    out_dir: Path,
) -> dict[str, str]:
    """predictions.jsonl (per patient, evidence for every predicted label), predictions.csv, note_predictions.csv."""
    out_dir.mkdir(parents=True, exist_ok=True)
    probabilities = patient_probabilities(scores, space)
    columns = [space.positive] if space.kind == "binary" else list(space.labels)
    records = patient_records(scores, encoded, space, thresholds, settings)
    jsonl, table = out_dir / "predictions.jsonl", out_dir / "predictions.csv"
    with open(jsonl, "w", encoding="utf-8") as lines, open(table, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient_id", "gold", "predicted", *(f"score_{c}" for c in columns)])
        for p, record in enumerate(records):
            lines.write(json.dumps(record, ensure_ascii=False) + "\n")
            predicted = record["predicted"] if isinstance(record["predicted"], list) else [record["predicted"]]
            row = [record["patient_id"], record["gold"], "|".join(predicted), *(f"{v:.6f}" for v in probabilities[p])]
            writer.writerow(row)
    notes = out_dir / "note_predictions.csv"
    note_p = note_probabilities(scores, space)
    with open(notes, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["note_id", "patient_id", *(f"score_{c}" for c in columns)])
        for (p, n), row in zip(scores.note_owner, note_p, strict=True):
            writer.writerow([encoded[p].patient.notes[n].id, encoded[p].patient.id, *(f"{v:.6f}" for v in row)])
    return {"jsonl": str(jsonl), "csv": str(table), "notes_csv": str(notes)}


def write_reliability(
    scores: SplitScores, encoded: Sequence[EncodedPatient], space: LabelSpace, target: Path, bins: int
) -> str | None:
    """Patient-level reliability plot (binary tasks with both classes present)."""
    y = targets(encoded, space)
    if space.kind != "binary" or not 0 < y.sum() < len(y):
        return None
    probabilities = patient_probabilities(scores, space)[:, 0]
    return str(reliability_plot(y, probabilities, target, n_bins=bins, title="Patient-level reliability"))
