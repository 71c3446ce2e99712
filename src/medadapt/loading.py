"""The one loader of models and tokenizers: a local folder or the hub cache, errors that say how to fix them
offline, and a load summary that says in one line what started fresh.

Every stage needs the same things, and a hospital machine is usually offline, so every place that loads a model
or a tokenizer (fine-tuning, pre-training, corpus building, evaluation, vocabulary surgery) goes through here:

- What a name that does not load means: a path that does not exist is "no such model folder: PATH" — said before
  transformers is asked, since its answer for a missing folder is advice about hub repo ids — and hub advice is
  kept for what can really be a hub id, when the hub can be reached. The offline case has one text,
  `OFFLINE_ADVICE`.
- Tokenizers: a fast (Rust) tokenizer, for offsets and word ids.
- Models under a task head (`load_pretrained`): transformers 5 prints a LOAD REPORT table at every
  `from_pretrained` whose checkpoint and architecture differ. Putting a fresh head on an encoder always differs
  (the head is "MISSING"), so every `medadapt finetune` printed a block a user can take for an error, while the
  one case that *is* an error — encoder weights missing, so part of the "pre-trained" model is random (a wrong
  folder, a truncated checkpoint, another architecture) — looked exactly alike. Here the expected part (a fresh
  head, unused pre-training heads) is logged at INFO and kept in the run's metrics; missing encoder weights are
  a WARNING naming them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from medadapt.errors import ModelLoadError

logger = logging.getLogger("medadapt.model")

# what a hub id can be: `name` or `namespace/name`, of letters, digits, `-`, `_` and `.`
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
# one of these is in every folder transformers can load a model or a tokenizer from
FOLDER_MARKERS = ("config.json", "tokenizer.json", "tokenizer_config.json")
WHAT_A_FOLDER_NEEDS = {
    "tokenizer": "tokenizer.json / tokenizer_config.json",
    "model": "config.json and model.safetensors",
}
# the one text for a hub id asked for on an offline machine (HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE) and not cached
OFFLINE_ADVICE = (
    "offline: HF_HUB_OFFLINE is set, so a hub id loads only from the local Hugging Face cache, and it is not there"
)
SHOWN = 5  # keys named in a log line; the full lists go to the run's metrics
# Encoder-side layers that only classification uses: a masked-LM checkpoint (e.g. one `medadapt pretrain` saved)
# has no pooler, so a sequence classifier built on it gets a fresh one. That is part of the new head, not a loss.
CLASSIFICATION_ONLY = (".pooler.",)


def hub_offline() -> bool:
    """Whether the hub may not be asked: HF_HUB_OFFLINE / TRANSFORMERS_OFFLINE, read now (not at import time)."""
    from huggingface_hub import is_offline_mode

    flags = (os.environ.get(name, "").strip().upper() for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))
    return is_offline_mode() or any(flag in {"1", "ON", "YES", "TRUE"} for flag in flags)


def looks_like_a_path(name: str) -> bool:
    """True for a name only a local folder can be: `./x`, `../x`, `~/x`, `/x`, `C:\\x`, `a/b/c`, or `a/b` where
    `a/` is a folder here (a hub id has at most one `/` and no such prefix)."""
    if name.startswith((".", "~")) or Path(name).is_absolute() or "\\" in name or not HUB_ID.fullmatch(name):
        return True
    return "/" in name and Path(name).parent.is_dir()


def check_model_folder(name: str) -> None:
    """Refuse, in one line, a model name that cannot load whatever transformers would say: a file, a folder with
    nothing loadable in it, or a path that does not exist. Hub ids pass (the hub or its cache may have them)."""
    path = Path(name).expanduser()
    if path.is_file():
        raise ModelLoadError(f"{name} is a file, not a model folder")
    if path.is_dir():
        if not any((path / marker).is_file() for marker in FOLDER_MARKERS):
            raise ModelLoadError(
                f"{name} is not a model folder: no {', '.join(FOLDER_MARKERS[:-1])} or {FOLDER_MARKERS[-1]} in it"
            )
        return
    if looks_like_a_path(name):
        raise ModelLoadError(f"no such model folder: {name}")


def load_failure(name: str, what: str, exc: BaseException) -> ModelLoadError:
    """The one-line error for `what` ("model" or "tokenizer") that transformers could not load from `name`, by
    cause: a local folder with something missing, an offline machine, or a hub id the hub did not give."""
    text = str(exc).strip()
    cause = f"{type(exc).__name__}: {text.splitlines()[0][:300] if text else ''}"
    if Path(name).expanduser().exists():
        needs = WHAT_A_FOLDER_NEEDS.get(what, what)
        return ModelLoadError(
            f"cannot load the {what} in {name}: the folder holds no loadable {what} ({needs}); {cause}"
        )
    if hub_offline():
        return ModelLoadError(f"no such model folder: {name} ({OFFLINE_ADVICE})")
    return ModelLoadError(
        f"cannot load {what} {name!r}: not a local folder, and it could not be fetched from the Hugging Face hub "
        f"({cause}); check the id and the network, or pass a local save_pretrained folder"
    )


def load_tokenizer(name_or_path: str, *, require_mask: bool = False) -> Any:
    """A fast HF tokenizer; `require_mask` for masked-language-model training."""
    from transformers import AutoTokenizer

    check_model_folder(name_or_path)
    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    except Exception as exc:  # OSError offline / missing, ValueError unknown class, ...
        raise load_failure(name_or_path, "tokenizer", exc) from exc
    if not getattr(tokenizer, "is_fast", False) or getattr(tokenizer, "backend_tokenizer", None) is None:
        raise ModelLoadError(f"tokenizer {name_or_path!r} is not a fast (Rust) tokenizer; medadapt needs offsets")
    if require_mask and tokenizer.mask_token_id is None:
        raise ModelLoadError(f"tokenizer {name_or_path!r} has no mask token, so it cannot be used for MLM")
    return tokenizer


def check_tokenizer_fits(name: str) -> None:
    """Refuse a folder whose tokenizer has more tokens than its model has embedding rows (another model's
    tokenizer): training would stop deep in torch with `IndexError: index out of range in self`."""
    from transformers import AutoConfig

    tokens = len(load_tokenizer(name))  # first: its errors are the ones to show
    try:
        rows = getattr(AutoConfig.from_pretrained(name), "vocab_size", None)
    except Exception:  # no readable config: loading the model says what is wrong
        return
    if isinstance(rows, int) and tokens > rows:
        raise ModelLoadError(
            f"{name}: the tokenizer has {tokens} tokens but the model only {rows} embedding rows, so the folder pairs "
            "a model with another model's tokenizer; use the model's own tokenizer (`medadapt vocab extend` grows a "
            "model's vocabulary)"
        )


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

        Why: `training.head_learning_rate` finds the head as what lies outside the transformers body, but a sequence
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
    perplexity scored by a random MLM head): a `ModelLoadError`. Errors (shape mismatches, unreadable files)
    become one `ModelLoadError` by cause (`load_failure`: a folder with something missing, the offline machine, a
    hub id the hub did not give), the same for every caller; a `source` that cannot be a model at all (no such
    folder, a file) is said first, in one line, before transformers is asked (`check_model_folder`).
    """
    check_model_folder(str(source))
    try:
        with _transformers_load_report_silenced():
            model, info = load(source, output_loading_info=True, **kwargs)
    except (OSError, ValueError) as exc:
        raise load_failure(str(source), "model", exc) from exc
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
