"""Batches and scores: patients' chunks ↔ flat padded tensors, and a whole split scored in one pooling pass.

Training batches are groups of whole patients (the loss is per patient). Prediction instead runs the encoder over
every chunk of the split in length-sorted batches (small padding, bounded memory whatever a patient's size) and
pools once over the flat result — the same `pool` the training forward uses, so train and test cannot disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from medadapt.tasks.screening.chunks import EncodedPatient
from medadapt.tasks.screening.model import ChunkPoolingClassifier, ScreeningOutput


def _pad(rows: Sequence[Sequence[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[i, : len(row)] = 1
    return ids, mask


def make_collate(pad_id: int, multiclass: bool) -> Callable[[list[dict[str, Any]]], dict[str, torch.Tensor]]:
    """Patients' feature dicts → input_ids/attention_mask over all their chunks, chunk→note and note→patient."""

    def collate(items: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        rows, chunk_note, note_patient = [], [], []
        for p, item in enumerate(items):
            base = len(note_patient)
            rows.extend(item["input_ids"])
            chunk_note.extend(base + n for n in item["chunk_note"])
            note_patient.extend([p] * item["n_notes"])
        ids, mask = _pad(rows, pad_id)
        labels = [item["labels"] for item in items]
        return {
            "input_ids": ids,
            "attention_mask": mask,
            "chunk_note": torch.tensor(chunk_note, dtype=torch.long),
            "note_patient": torch.tensor(note_patient, dtype=torch.long),
            "labels": torch.tensor(labels, dtype=torch.long if multiclass else torch.float),
        }

    return collate


@dataclass
class SplitScores:
    """Pooled outputs of a whole split, as numpy, plus where each note and chunk belongs."""

    output: ScreeningOutput
    note_owner: list[tuple[int, int]]  # (patient index, note index within the patient)
    chunk_owner: list[tuple[int, int]]  # (patient index, chunk index within the patient)

    def probabilities(self, logits: torch.Tensor, kind: str) -> np.ndarray:
        if kind == "multiclass":
            return torch.softmax(logits, dim=-1).numpy()
        return torch.sigmoid(logits).numpy()


def score_split(
    model: ChunkPoolingClassifier, encoded: Sequence[EncodedPatient], pad_id: int, batch_size: int
) -> SplitScores:
    """Every chunk through the encoder (length-sorted batches, no gradients), then one pooling pass."""
    device = next(model.parameters()).device
    rows, chunk_note, note_patient, note_owner, chunk_owner = [], [], [], [], []
    for p, item in enumerate(encoded):
        base = len(note_patient)
        n_notes = item.chunks[-1].note + 1
        for c, chunk in enumerate(item.chunks):
            rows.append(chunk.input_ids)
            chunk_note.append(base + chunk.note)
            chunk_owner.append((p, c))
        note_patient.extend([p] * n_notes)
        note_owner.extend((p, n) for n in range(n_notes))
    order = sorted(range(len(rows)), key=lambda i: len(rows[i]))
    k = model.encoder.config.num_labels
    logits = torch.zeros(len(rows), k)
    vectors = torch.zeros(len(rows), model.encoder.config.hidden_size)
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            ids, mask = _pad([rows[i] for i in idx], pad_id)
            chunk_logits, chunk_vectors = model.score_chunks(ids.to(device), mask.to(device))
            logits[idx] = chunk_logits.float().cpu()
            vectors[idx] = chunk_vectors.float().cpu()
        cpu = torch.device("cpu")
        scorers = [m for m in (model.chunk_scorer, model.note_scorer) if m is not None]
        for m in scorers:
            m.to(cpu)
        output = model.pool(logits, vectors, torch.tensor(chunk_note), torch.tensor(note_patient))
        for m in scorers:
            m.to(device)
    model.train(was_training)
    return SplitScores(output, note_owner, chunk_owner)
