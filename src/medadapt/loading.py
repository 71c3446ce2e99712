"""Load a fast tokenizer from a local folder or the hub cache, with an error that says how to fix it offline.

Every stage needs the same thing (a Rust tokenizer: offsets, word ids), and a hospital machine is usually offline,
so one loader turns the hub's tracebacks into a `ModelLoadError` naming the folder problem or the offline cause.

The same few functions decide, for every place that loads a model or a tokenizer (fine-tuning, pre-training,
corpus building, evaluation), what a name that does not load means: a path that does not exist is "no such model
folder: PATH" — said before transformers is asked, since its answer for a missing folder is advice about hub repo
ids — and hub advice is kept for what can really be a hub id, when the hub can be reached.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from medadapt.errors import ModelLoadError

# what a hub id can be: `name` or `namespace/name`, of letters, digits, `-`, `_` and `.`
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
# one of these is in every folder transformers can load a model or a tokenizer from
FOLDER_MARKERS = ("config.json", "tokenizer.json", "tokenizer_config.json")
WHAT_A_FOLDER_NEEDS = {
    "tokenizer": "tokenizer.json / tokenizer_config.json",
    "model": "config.json and model.safetensors",
}


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
        return ModelLoadError(
            f"no such model folder: {name} (offline: HF_HUB_OFFLINE is set, so a hub id loads only from the local "
            "Hugging Face cache, and it is not there)"
        )
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
