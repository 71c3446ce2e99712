"""MLM pre-training corpora: clean, filter, deduplicate, guard against evaluation leakage, tokenize, pack.

Public API: `CorpusBuildConfig`, `build_corpus(config) -> stats`, `open_corpus(dir)` (memory-mapped shards for
pre-training) and `train_tokenizer(...)`. Names are resolved lazily so that tokenizer worker processes, which only
import `medadapt.corpus.tokenize`, do not pay for transformers, datasketch or the readers.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from medadapt.corpus.build import build_corpus
    from medadapt.corpus.config import CorpusBuildConfig
    from medadapt.corpus.shards import open_corpus
    from medadapt.corpus.tokenizer_train import train_tokenizer

_EXPORTS = {
    "CorpusBuildConfig": "medadapt.corpus.config",
    "build_corpus": "medadapt.corpus.build",
    "open_corpus": "medadapt.corpus.shards",
    "train_tokenizer": "medadapt.corpus.tokenizer_train",
}

__all__ = ["CorpusBuildConfig", "build_corpus", "open_corpus", "train_tokenizer"]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'medadapt.corpus' has no attribute {name!r}")
