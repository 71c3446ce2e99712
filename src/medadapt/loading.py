"""Load a fast tokenizer from a local folder or the hub cache, with an error that says how to fix it offline.

Every stage needs the same thing (a Rust tokenizer: offsets, word ids), and a hospital machine is usually offline,
so one loader turns the hub's tracebacks into a `ModelLoadError` naming the folder problem or the offline cause.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from medadapt.errors import ModelLoadError


def load_tokenizer(name_or_path: str, *, require_mask: bool = False) -> Any:
    """A fast HF tokenizer; `require_mask` for masked-language-model training."""
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    except Exception as exc:  # OSError offline / missing, ValueError unknown class, ...
        local = Path(name_or_path).exists()
        hint = (
            "the folder exists but holds no loadable tokenizer (tokenizer.json / tokenizer_config.json)"
            if local
            else "not a local folder, and it could not be fetched from the Hugging Face hub (offline? "
            "HF_HUB_OFFLINE=1 forbids downloads); download it once with network access or pass a local folder"
        )
        raise ModelLoadError(f"cannot load tokenizer {name_or_path!r}: {hint} ({type(exc).__name__}: {exc})") from exc
    if not getattr(tokenizer, "is_fast", False) or getattr(tokenizer, "backend_tokenizer", None) is None:
        raise ModelLoadError(f"tokenizer {name_or_path!r} is not a fast (Rust) tokenizer; medadapt needs offsets")
    if require_mask and tokenizer.mask_token_id is None:
        raise ModelLoadError(f"tokenizer {name_or_path!r} has no mask token, so it cannot be used for MLM")
    return tokenizer
