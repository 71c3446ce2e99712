"""The model side of NER data: windows → padded batches, the class weights of the loss, batched prediction.

Apart from data.py (files → documents → windows) because these need torch and a model, and the training loop
and the predictor reach for them, not for the readers. `make_collate` pads with the tokenizer's pad id and -100
labels; `predict` runs a model over windows in length-sorted batches and returns each window's logits unpadded,
in the input order.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from medadapt.tasks.ner.encoding import IGNORE, Window


def make_collate(pad_id: int):
    """Pad `input_ids` (pad id), `attention_mask` (0) and `labels` (-100) to the longest example of the batch."""

    def collate(features: list[dict[str, list[int]]]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        pads = {"input_ids": pad_id, "attention_mask": 0, "labels": IGNORE}
        return {
            name: torch.tensor([f[name] + [pad] * (width - len(f[name])) for f in features], dtype=torch.long)
            for name, pad in pads.items()
            if name in features[0]
        }

    return collate


def class_weights(windows: Sequence[Window], num_labels: int) -> torch.Tensor:
    """Inverse square-root label frequency over the labelled tokens, scaled so the average token weight is 1."""
    counts = np.zeros(num_labels)
    for window in windows:
        labels = np.asarray(window.labels)
        counts += np.bincount(labels[labels != IGNORE], minlength=num_labels)[:num_labels]
    weights = 1.0 / np.sqrt(np.maximum(counts, 1.0))
    weights *= counts.sum() / max(float((weights * counts).sum()), 1e-12)
    return torch.tensor(weights, dtype=torch.float32)


@torch.no_grad()
def predict(model: torch.nn.Module, windows: Sequence[Window], pad_id: int, batch_size: int) -> list[np.ndarray]:
    """Per-window logits [window length, labels] in the order of `windows` (batches grouped by length)."""
    device = next(model.parameters()).device
    collate = make_collate(pad_id)
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    out: list[np.ndarray | None] = [None] * len(windows)
    was_training = model.training
    model.eval()
    for k in range(0, len(order), batch_size):
        chunk = order[k : k + batch_size]
        batch = collate([{n: v for n, v in windows[i].features().items() if n != "labels"} for i in chunk])
        logits = model(**{n: t.to(device) for n, t in batch.items()}).logits.float().cpu().numpy()
        for row, i in zip(logits, chunk, strict=True):
            out[i] = row[: len(windows[i].input_ids)]
    model.train(was_training)
    return out  # type: ignore[return-value]
