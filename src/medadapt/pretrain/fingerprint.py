"""What a checkpoint was trained with, so `--resume` can refuse a silently different run.

Resuming with another model, tokenizer, corpus or batch geometry would continue training but not *this*
training: the data position and the optimizer state would mean something else. The same holds for the
optimiser and schedule settings: the checkpoint's optimizer and scheduler state carry the old learning rate,
betas, eps and weight decay (a changed value would be silently ignored), while the schedule's shape is rebuilt
from `max_steps`, `warmup_ratio` and `schedule` (a changed value would jump the rate mid-way). The fingerprint
lists each ingredient; a mismatch names every changed key, old → new. `--force` overrides, the run then uses the
new values from the resume step on, and the override is recorded (log.jsonl and resolved_config.yaml).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from medadapt.pretrain.config import PretrainConfig

# training.* settings that shape the optimisation. Checkpoints written before they were fingerprinted lack
# them; those are not compared (there is nothing to compare with), so such checkpoints still resume.
OPTIMISATION_KEYS = (
    "learning_rate",
    "weight_decay",
    "adam_betas",
    "adam_eps",
    "max_grad_norm",
    "schedule",
    "warmup_ratio",
    "max_steps",
)


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def _as_json(data: Any) -> Any:
    """The value as it reads back from state.json (tuples become lists), so saved and current compare equal."""
    return json.loads(json.dumps(data))


def run_fingerprint(
    config: PretrainConfig, *, tokenizer_hash: str, corpus_hashes: list[str], world_size: int
) -> dict[str, Any]:
    train = config.training
    fingerprint = {
        "model": config.model.name_or_path
        if config.model.from_config is None
        else "from_config:" + _digest(config.model.from_config),
        "tokenizer_vocab_hash": tokenizer_hash,
        "corpora": corpus_hashes,
        "corpus_weights": [c.weight for c in config.corpora],
        "global_batch_size": train.batch_size * train.gradient_accumulation * world_size,
        "block_size_and_masking": _digest(config.masking.model_dump()),
        "seed": train.seed,
    }
    fingerprint.update({f"training.{key}": getattr(train, key) for key in OPTIMISATION_KEYS})
    return _as_json(fingerprint)


def fingerprint_diff(saved: dict[str, Any], current: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """{key: (checkpoint's value, this run's value)} for every difference; empty when the run may resume."""
    optional = {f"training.{key}" for key in OPTIMISATION_KEYS}
    current = _as_json(current)
    changes = {}
    for key in sorted(set(saved) | set(current)):
        if key in optional and key not in saved:
            continue
        if saved.get(key) != current.get(key):
            changes[key] = (saved.get(key), current.get(key))
    return changes


def describe_changes(changes: dict[str, tuple[Any, Any]]) -> str:
    """`key: old → new; key: old → new` — one line a person can read (hashes shortened)."""
    return "; ".join(f"{key}: {_show(old)} → {_show(new)}" for key, (old, new) in changes.items())


def _show(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if isinstance(value, str):
        is_digest = len(value) >= 32 and all(c in "0123456789abcdef" for c in value)
        return value[:12] + "…" if is_digest else repr(value)
    return str(value)
