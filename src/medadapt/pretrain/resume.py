"""What `--resume` does besides loading a checkpoint: apply forced settings, keep a true record, start clean.

- A forced resume (`--force`) with changed optimiser settings: the checkpoint's optimizer and scheduler state
  carry the old learning rate, betas, eps and weight decay. They are replaced by this config's, so the run
  really uses what `resolved_config.yaml` records; `forced_resumes` in that file (and a `forced_resume` record
  in log.jsonl) says from which step, and what the checkpoint had before.
- No usable checkpoint: the run starts from step 0, so the old log.jsonl and the unusable checkpoints are moved
  aside (timestamped names), never appended to or mixed with the new run's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
import yaml

from medadapt.config import RESOLVED_CONFIG_NAME
from medadapt.pretrain.config import TrainingSection
from medadapt.training_shell import param_groups

HISTORY_KEY = "forced_resumes"


def apply_optimiser_settings(
    optimizer: torch.optim.Optimizer, scheduler: Any, model: torch.nn.Module, train: TrainingSection
) -> None:
    """Overwrite the hyper-parameters a loaded optimizer/scheduler state brought back with `train`'s.

    The groups are rebuilt with `param_groups` (the order every checkpoint relies on), and the current rate is
    the new base rate times the schedule's factor at the resumed step — what an uninterrupted run with these
    settings would use at that step.
    """
    fresh = param_groups(model, train.weight_decay, train.learning_rate)
    if len(fresh) != len(optimizer.param_groups):
        raise RuntimeError(
            f"{len(fresh)} parameter groups, the checkpoint's optimizer has {len(optimizer.param_groups)}"
        )
    scheduler.base_lrs = [group["lr"] for group in fresh]
    rates = [
        base * factor(scheduler.last_epoch)
        for base, factor in zip(scheduler.base_lrs, scheduler.lr_lambdas, strict=True)
    ]
    for group, new, rate in zip(optimizer.param_groups, fresh, rates, strict=True):
        group.update(
            lr=rate, initial_lr=new["lr"], weight_decay=new["weight_decay"], betas=train.adam_betas, eps=train.adam_eps
        )
    scheduler._last_lr = rates


def forced_resume_entry(step: int, checkpoint: Path, changes: dict[str, tuple[Any, Any]]) -> dict[str, Any]:
    """The record of one forced resume, as written to log.jsonl and resolved_config.yaml."""
    return {
        "step": step,
        "checkpoint": checkpoint.name,
        "changed": {key: {"checkpoint": old, "now": new} for key, (old, new) in changes.items()},
    }


def earlier_forced_resumes(out_dir: Path, up_to_step: int) -> list[dict[str, Any]]:
    """Forced resumes recorded by earlier sessions of this run that the resumed checkpoint includes.

    Entries after `up_to_step` belong to a continuation that was lost (killed before its next checkpoint).
    """
    path = out_dir / RESOLVED_CONFIG_NAME
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    entries = document.get(HISTORY_KEY) if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return []
    return [e for e in entries if isinstance(e, dict) and isinstance(e.get("step"), int) and e["step"] < up_to_step]


def record_forced_resumes(out_dir: Path, entries: list[dict[str, Any]]) -> None:
    """Append the history to the resolved config just written, so the file does not claim one setting throughout."""
    if not entries:
        return
    path = out_dir / RESOLVED_CONFIG_NAME
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    document[HISTORY_KEY] = entries
    path.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
