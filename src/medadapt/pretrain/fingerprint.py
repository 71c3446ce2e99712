"""What a checkpoint was trained with, so `--resume` can refuse a silently different run.

Resuming with another model, tokenizer, corpus or batch geometry would continue training but not *this*
training: the data position and the optimizer state would mean something else. The fingerprint lists each
ingredient; a mismatch names every changed key. `--force` overrides and the override is logged.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from medadapt.pretrain.config import PretrainConfig


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def run_fingerprint(
    config: PretrainConfig, *, tokenizer_hash: str, corpus_hashes: list[str], world_size: int
) -> dict[str, Any]:
    return {
        "model": config.model.name_or_path
        if config.model.from_config is None
        else "from_config:" + _digest(config.model.from_config),
        "tokenizer_vocab_hash": tokenizer_hash,
        "corpora": corpus_hashes,
        "corpus_weights": [c.weight for c in config.corpora],
        "global_batch_size": config.training.per_device_batch_size * config.training.gradient_accumulation * world_size,
        "block_size_and_masking": _digest(config.masking.model_dump()),
        "seed": config.training.seed,
    }


def fingerprint_changes(saved: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """Human-readable list of differences, empty when the run may resume."""
    changes = []
    for key in sorted(set(saved) | set(current)):
        if saved.get(key) != current.get(key):
            changes.append(f"{key}: checkpoint has {saved.get(key)!r}, this run has {current.get(key)!r}")
    return changes
