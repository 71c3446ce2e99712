"""The Hugging Face side's `TrainingArguments`, one recipe for every benchmark: the run_*.py defaults medadapt is
compared with (AdamW, linear schedule, weight decay 0.01), on the CPU, with no checkpoints, logs or progress bars
that would cost the HF side time medadapt's side does not spend.

Imported by the bench scripts as a sibling module (`python bench/<script>.py` puts bench/ on sys.path).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def cpu_training_arguments(
    out: Path,
    *,
    batch_size: int,
    lr: float,
    epochs: int,
    warmup_steps: int,
    seed: int,
    precision: str,
    **extra: Any,
) -> Any:
    """`extra` adds or overrides TrainingArguments fields (e.g. eval_strategy, logging_strategy)."""
    from transformers import TrainingArguments

    fields: dict[str, Any] = {
        "output_dir": str(out),
        "per_device_train_batch_size": batch_size,
        "learning_rate": lr,
        "weight_decay": 0.01,
        "warmup_steps": warmup_steps,
        "num_train_epochs": epochs,
        "seed": seed,
        "save_strategy": "no",
        "report_to": [],
        "disable_tqdm": True,
        "logging_strategy": "no",
        "use_cpu": True,
        "bf16": precision == "bf16",
    }
    return TrainingArguments(**(fields | extra))
