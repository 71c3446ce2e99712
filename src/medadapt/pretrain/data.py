"""Pre-training's view of a built corpus: random access to packed blocks by index, per split.

The corpus folder format belongs to `medadapt.corpus.shards`; this adapter adds what training needs — gathering
a list of block indices into dense arrays, the tokenizer identity to check against the model, and a hash of the
manifest so a resumed run can tell that its data changed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from transformers import PreTrainedTokenizerBase

from medadapt.corpus.shards import MANIFEST_NAME, CorpusSplit, open_corpus, vocab_hash


def tokenizer_vocab_hash(tokenizer: PreTrainedTokenizerBase) -> str:
    return vocab_hash(tokenizer.get_vocab())


@dataclass
class BlockSplit:
    split: CorpusSplit

    def __len__(self) -> int:
        return len(self.split)

    def fetch(self, indices: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(token ids int64 [k, L], word-start flags bool [k, L], real lengths int64 [k])."""
        blocks = [self.split[int(i)] for i in indices]
        ids = np.stack([np.asarray(b.input_ids, dtype=np.int64) for b in blocks])
        starts = np.stack([np.asarray(b.word_starts, dtype=bool) for b in blocks])
        lengths = np.asarray([b.length for b in blocks], dtype=np.int64)
        return ids, starts, lengths


@dataclass
class PackedCorpus:
    path: Path
    manifest: dict[str, Any]
    train: BlockSplit
    validation: BlockSplit
    manifest_hash: str

    @property
    def block_size(self) -> int:
        return int(self.manifest["block_size"])

    @property
    def tokenizer_info(self) -> dict[str, Any]:
        return dict(self.manifest.get("tokenizer", {}))

    @property
    def vocab_hash(self) -> str:
        return str(self.tokenizer_info.get("vocab_hash"))

    @property
    def tokenizer_path(self) -> str:
        return str(self.tokenizer_info.get("name_or_path"))


def open_packed_corpus(path: Path) -> PackedCorpus:
    corpus = open_corpus(path)
    manifest_hash = hashlib.sha256((Path(path) / MANIFEST_NAME).read_bytes()).hexdigest()
    validation = corpus.split("validation") if "validation" in corpus.splits else corpus.split("train")
    return PackedCorpus(
        path=Path(path),
        manifest=corpus.manifest,
        train=BlockSplit(corpus.split("train")),
        validation=BlockSplit(validation),
        manifest_hash=manifest_hash,
    )
