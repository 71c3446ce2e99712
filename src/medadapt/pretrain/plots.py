"""Loss-curve PNG for a pre-training run (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt


def plot_loss_curve(history: list[dict[str, Any]], target: Path) -> Path:
    """Training loss per logged step, and per-corpus validation loss where evaluated."""
    train = [(r["step"], r["loss"]) for r in history if "loss" in r]
    evals: dict[str, list[tuple[int, float]]] = {}
    for record in history:
        for name, metrics in record.get("eval", {}).items():
            # a corpus without validation blocks is evaluated on training blocks: the label says so
            label = f"{'training blocks' if metrics.get('split') == 'train' else 'validation'}: {name}"
            evals.setdefault(label, []).append((record["step"], metrics["loss"]))
    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    if train:
        ax.plot(*zip(*train, strict=True), label="train (masked tokens)", color="#444444", linewidth=1)
    for label, points in sorted(evals.items()):
        ax.plot(*zip(*points, strict=True), marker="o", label=label)
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("MLM cross-entropy")
    ax.set_title("Continued pre-training")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target)
    plt.close(fig)
    return target
