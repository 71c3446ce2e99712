"""Batch tokenization to flat numpy arrays: token ids, word-start flags and per-document counts.

Why this shape: the packer needs ids and word starts as arrays, not Python lists of lists, so each batch is
encoded once with the Rust `tokenizers.Tokenizer` (no special tokens; the packer adds them), flattened with
`np.fromiter`, and word starts are derived from `Encoding.word_ids` with array comparisons instead of a per-token
Python loop; the "most split words" statistic is counted by hashing piece sequences in numpy too.

This module imports only numpy and tokenizers, so worker processes start fast; they receive the tokenizer as its
JSON string and build their own copy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import chain

import numpy as np
from tokenizers import Tokenizer


@dataclass
class EncodedBatch:
    """One batch of documents, tokenized: flat arrays plus per-document token and word counts."""

    ids: np.ndarray  # int64 [n_tokens], documents back to back
    word_starts: np.ndarray  # bool [n_tokens]
    doc_tokens: np.ndarray  # int64 [n_docs]
    doc_words: np.ndarray  # int64 [n_docs]
    split_words: dict[int, int] = field(default_factory=dict)  # piece-sequence hash -> occurrences
    split_pieces: dict[int, tuple[int, ...]] = field(default_factory=dict)  # hash -> token ids of the word


# Random odd 64-bit multipliers, one per position inside a word: hash(word) = sum(id_j * M_j) mod 2^64.
_MAX_PIECES = 64
_MULTIPLIERS = np.random.default_rng(20240611).integers(1, 2**63, size=_MAX_PIECES, dtype=np.uint64) * 2 + 1


class BatchEncoder:
    """Callable turning a list of texts into an `EncodedBatch` (picklable: holds the tokenizer as JSON).

    Word starts come from `Encoding.word_ids` in general. For WordPiece models they are read off the vocabulary
    instead (a token starts a word unless it carries the continuing-subword prefix, "##"), which lets the batch
    go through `encode_batch_fast` (no offsets, ~25% faster); with BERT's pre-tokenizer the two agree exactly,
    which the tests check against `word_ids()`. Literal special-token strings in the text ("[SEP]" typed in a
    note) are tokenized as text, never turned into control tokens.
    """

    def __init__(self, tokenizer_json: str, *, split_words: bool = True, threads: bool = False) -> None:
        self._json = tokenizer_json
        self._split_words = split_words
        self._threads = threads
        self._tokenizer: Tokenizer | None = None
        self._continuation: np.ndarray | None = None

    def __getstate__(self) -> dict[str, object]:
        return {"_json": self._json, "_split_words": self._split_words, "_threads": self._threads}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._tokenizer = None
        self._continuation = None

    @property
    def tokenizer(self) -> Tokenizer:
        if self._tokenizer is None:
            tokenizer = Tokenizer.from_str(self._json)
            if hasattr(tokenizer, "encode_special_tokens"):
                tokenizer.encode_special_tokens = True
            model = json.loads(self._json).get("model", {})
            prefix = model.get("continuing_subword_prefix")
            if model.get("type") == "WordPiece" and prefix and hasattr(tokenizer, "encode_batch_fast"):
                vocab = tokenizer.get_vocab(with_added_tokens=True)
                continuation = np.zeros(max(vocab.values()) + 1, dtype=bool)
                continuation[[i for t, i in vocab.items() if t.startswith(prefix)]] = True
                self._continuation = continuation
            self._tokenizer = tokenizer
        return self._tokenizer

    def _encode(self, texts: list[str]) -> list:
        tokenizer = self.tokenizer
        # tokenizers reads TOKENIZERS_PARALLELISM on every call, so in-process threading is switched per batch.
        previous = os.environ.get("TOKENIZERS_PARALLELISM")
        os.environ["TOKENIZERS_PARALLELISM"] = "true" if self._threads else "false"
        try:
            if self._continuation is not None:
                return tokenizer.encode_batch_fast(texts, add_special_tokens=False)
            return tokenizer.encode_batch(texts, add_special_tokens=False)
        finally:
            if previous is None:
                os.environ.pop("TOKENIZERS_PARALLELISM", None)
            else:
                os.environ["TOKENIZERS_PARALLELISM"] = previous

    def __call__(self, texts: Sequence[str]) -> EncodedBatch:
        encodings = self._encode(list(texts))
        doc_tokens = np.fromiter((len(e.ids) for e in encodings), dtype=np.int64, count=len(encodings))
        total = int(doc_tokens.sum())
        ids = np.fromiter(chain.from_iterable(e.ids for e in encodings), dtype=np.int64, count=total)
        doc_begin = np.concatenate(([0], np.cumsum(doc_tokens)[:-1])) if len(doc_tokens) else doc_tokens
        if self._continuation is not None:
            starts = ~self._continuation[ids]
        else:
            word_ids = np.fromiter(
                (-1 if w is None else w for w in chain.from_iterable(e.word_ids for e in encodings)),
                dtype=np.int64,
                count=total,
            )
            starts = np.ones(total, dtype=bool)
            if total > 1:
                np.not_equal(word_ids[1:], word_ids[:-1], out=starts[1:])
        starts[doc_begin[doc_tokens > 0]] = True  # a document's first token starts a word
        cum = np.concatenate(([0], np.cumsum(starts, dtype=np.int64)))
        doc_words = cum[doc_begin + doc_tokens] - cum[doc_begin]
        batch = EncodedBatch(ids, starts, doc_tokens, doc_words)
        if self._split_words:
            _count_split_words(ids, starts, batch)
        return batch


def _count_split_words(ids: np.ndarray, starts: np.ndarray, batch: EncodedBatch) -> None:
    """Count words made of >= 2 tokens, keyed by a hash of their token ids — all in numpy.

    A word's identity is its piece sequence (what the statistic is about), so no text or offsets are needed: the
    top words are decoded once at the end. Only the first occurrence of each distinct word in the batch is
    visited in Python, to keep its token ids for that decoding.
    """
    positions = np.flatnonzero(starts)
    if not len(positions):
        return
    run = np.diff(np.append(positions, len(starts)))
    multi = run >= 2
    if not multi.any():
        return
    word_start = np.repeat(positions, run)  # for every token, the index of its word's first token
    inside = np.minimum(np.arange(len(ids)) - word_start, _MAX_PIECES - 1)
    weighted = ids.astype(np.uint64) * _MULTIPLIERS[inside]
    hashes = np.add.reduceat(weighted, positions)[multi] ^ run[multi].astype(np.uint64)
    keys, first, counts = np.unique(hashes, return_index=True, return_counts=True)
    batch.split_words = dict(zip(keys.tolist(), counts.tolist(), strict=True))
    begin, length = positions[multi][first], run[multi][first]
    batch.split_pieces = {
        k: tuple(ids[b : b + n].tolist())
        for k, b, n in zip(keys.tolist(), begin.tolist(), length.tolist(), strict=True)
    }
