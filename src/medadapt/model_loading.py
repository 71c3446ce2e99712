"""Load a pre-trained encoder under a task head, and say in one line what was new — not in transformers' table.

Why: transformers 5 prints a LOAD REPORT table at every `from_pretrained` whose checkpoint and architecture differ.
Putting a fresh head on an encoder always differs (the head is "MISSING"), so every `medadapt finetune` printed
a block a user can take for an error, while the one case that *is* an error — encoder weights missing, so part of
the "pre-trained" model is random (a wrong folder, a truncated checkpoint, another architecture) — looked exactly
alike. Here the expected part (a fresh head, unused pre-training heads) is logged at INFO and kept in the run's
metrics; missing encoder weights are a WARNING naming them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from medadapt.errors import ModelLoadError
from medadapt.loading import check_model_folder

logger = logging.getLogger("medadapt.model")

SHOWN = 5  # keys named in a log line; the full lists go to the run's metrics
# Encoder-side layers that only classification uses: a masked-LM checkpoint (e.g. one `medadapt pretrain` saved)
# has no pooler, so a sequence classifier built on it gets a fresh one. That is part of the new head, not a loss.
CLASSIFICATION_ONLY = (".pooler.",)


@dataclass
class LoadSummary:
    """What `from_pretrained` did not take from the checkpoint (fresh) and what it left in it (unused)."""

    source: str
    fresh_head: list[str] = field(default_factory=list)
    fresh_encoder: list[str] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "fresh_head": self.fresh_head,
            "fresh_encoder": self.fresh_encoder,
            "unused": self.unused,
        }

    def fresh_head_parameters(self, model: Any) -> list[Any]:
        """The parameters of `model` (the one this load returned) that started fresh as part of the head.

        Why: `training.head_lr` finds the head as what lies outside the transformers body, but a sequence
        classifier built on a masked-LM save also gets a fresh pooler *inside* the body; training passes these
        so that the pooler learns at the head's rate like the classifier it feeds.
        """
        fresh = set(self.fresh_head)
        return [param for name, param in model.named_parameters() if name in fresh]


class _DropLoadReport(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "LOAD REPORT" not in str(record.msg)


@contextmanager
def _transformers_load_report_silenced() -> Iterator[None]:
    """A filter for that one record, not a raised level: transformers 5 runs (and logs) a tensor-parallel plan
    check exactly when its loader's level is WARNING or above."""
    from transformers.utils import logging as hf_logging

    hf_logger = hf_logging.get_logger("transformers.modeling_utils")
    only_the_report = _DropLoadReport()
    hf_logger.addFilter(only_the_report)
    try:
        yield
    finally:
        hf_logger.removeFilter(only_the_report)


def _named(keys: list[str]) -> str:
    more = f" and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
    return ", ".join(keys[:SHOWN]) + more


HeadPolicy = Literal["expected", "warn", "required"]


def load_pretrained(
    load: Callable[..., Any], source: str, *, head: HeadPolicy = "expected", **kwargs: Any
) -> tuple[Any, LoadSummary]:
    """`load(source, **kwargs)` (an `Auto*.from_pretrained` or a model class's) with the load summarised.

    `head` says what a head missing from the checkpoint means: "expected" for a new task head (fine-tuning),
    "warn" where a trained one was expected but a fresh one still works (continued MLM pre-training of an encoder
    saved without its MLM head), "required" where a fresh head would make the result meaningless (pseudo-
    perplexity scored by a random MLM head): a `ModelLoadError`. Errors (shape mismatches, unreadable files) still
    raise from transformers unchanged; callers turn them into `ModelLoadError`s with their own advice — except a
    `source` that cannot be a model at all (no such folder, a file): that is said first, in one line, the same for
    every caller (`medadapt.loading.check_model_folder`).
    """
    check_model_folder(str(source))
    with _transformers_load_report_silenced():
        model, info = load(source, output_loading_info=True, **kwargs)
    prefix = getattr(model, "base_model_prefix", "") or ""
    missing = sorted(info.get("missing_keys", ()))
    in_encoder = [
        k
        for k in missing
        if prefix and k.startswith(prefix + ".") and not any(part in k for part in CLASSIFICATION_ONLY)
    ]
    summary = LoadSummary(
        source=str(source),
        fresh_head=[k for k in missing if k not in in_encoder],
        fresh_encoder=in_encoder,
        unused=sorted(info.get("unexpected_keys", ())),
    )
    name = type(model).__name__
    if summary.fresh_encoder:
        logger.warning(
            "%s from %s: %d encoder weights are not in the checkpoint and start random (%s). The folder may hold "
            "another architecture or a truncated save; what is trained from it is not the pre-trained model.",
            name,
            source,
            len(summary.fresh_encoder),
            _named(summary.fresh_encoder),
        )
    if summary.fresh_head and head == "required":
        raise ModelLoadError(
            f"{name} from {source}: the checkpoint has no trained head ({_named(summary.fresh_head)} missing), "
            "and this step needs the trained one; give a folder saved with its head (e.g. a *ForMaskedLM save)"
        )
    if summary.fresh_head and head == "warn":
        logger.warning(
            "%s from %s: the checkpoint has no trained head (%s); a fresh one starts from random weights",
            name,
            source,
            _named(summary.fresh_head),
        )
    elif summary.fresh_head:
        logger.info("%s from %s: new task head (%s)", name, source, _named(summary.fresh_head))
    if summary.unused:
        logger.info("%s from %s: checkpoint weights not used (%s)", name, source, _named(summary.unused))
    return model, summary
