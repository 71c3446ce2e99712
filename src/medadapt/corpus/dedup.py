"""Exact and near-duplicate detection: xxhash of normalised text, and MinHash + LSH over word shingles.

Why this shape:
- Exact duplicates are found by a 64-bit xxh3 hash of the whitespace-normalised text (collision odds ~n²/2⁶⁵:
  about 3 in a million at ten million documents), kept in a compact `U64Map` (16–32 bytes per document).
- Near duplicates use datasketch MinHash signatures over lower-cased word 5-shingles. datasketch's own
  `MinHashLSH` keeps Python dicts of byte-string band keys and sets (several KB per document), so the index here
  stores only a 64-bit hash per LSH band (in one `U64Map`) plus the lowest 8 bits of each signature value
  ("b-bit MinHash"), used to *verify* every LSH candidate against the threshold. Verification is what lets the
  bands be chosen for recall (many bands, few rows) without removing documents that merely share boilerplate: a
  candidate is a duplicate only if its estimated Jaccard similarity reaches the threshold. Two 8-bit values agree
  by chance with probability 1/256, which the estimate corrects for: J = (agree - 1/256) / (1 - 1/256).
- 128 permutations by default: the estimator's standard deviation at J≈0.9 is ~0.03 (0.044 with 64), so true
  near-duplicates are rarely estimated below a 0.8 threshold.
- Only kept documents enter the indexes, so they grow with the output, not the input.
"""

from __future__ import annotations

import re

import numpy as np
import xxhash
from datasketch import MinHash
from datasketch.lsh import _optimal_param

from medadapt.corpus.hashtable import U64Map

_TOKEN = re.compile(r"\w+")


def text_hash(text: str) -> int:
    """64-bit hash of the text with all whitespace runs collapsed (so re-wrapped copies still match)."""
    return xxhash.xxh3_64_intdigest(" ".join(text.split()).encode())


def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) weighted 9:1 towards recall; candidates are verified, so false positives only cost time."""
    return _optimal_param(threshold, num_perm, 0.1, 0.9)


class MinHasher:
    """Word-shingle MinHash signatures with one shared set of permutations (built once, not per document)."""

    def __init__(self, num_perm: int = 128, shingle_words: int = 5, seed: int = 1) -> None:
        self.num_perm = num_perm
        self.shingle_words = shingle_words
        self._seed = seed
        template = MinHash(num_perm=num_perm, seed=seed, hashfunc=xxhash.xxh32_intdigest, scheme="affine32")
        self._permutations = template.permutations

    def shingles(self, text: str) -> set[bytes]:
        """Distinct lower-cased word k-shingles, UTF-8 encoded (a text shorter than k words is one shingle)."""
        words = _TOKEN.findall(text.lower())
        k = self.shingle_words
        if len(words) <= k:
            return {" ".join(words).encode()} if words else set()
        return {" ".join(words[i : i + k]).encode() for i in range(len(words) - k + 1)}

    def signature(self, text: str) -> np.ndarray | None:
        """uint32[num_perm] signature, or None for a text without word characters (it has no shingles)."""
        shingles = self.shingles(text)
        if not shingles:
            return None
        m = MinHash(
            num_perm=self.num_perm,
            seed=self._seed,
            hashfunc=xxhash.xxh32_intdigest,
            permutations=self._permutations,
            scheme="affine32",
        )
        m.update_batch(shingles)
        return np.asarray(m.hashvalues, dtype=np.uint32)


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[int]:
    """One 64-bit key per LSH band (the band index seeds the hash, so equal values in different bands differ)."""
    return [xxhash.xxh3_64_intdigest(signature[i * rows : (i + 1) * rows].tobytes(), seed=i) for i in range(bands)]


def estimated_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of agreeing MinHash values (full-width signatures)."""
    return float(np.count_nonzero(a == b)) / len(a)


_CHANCE = 1.0 / 256.0


def estimated_jaccard_8bit(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard estimate from 8-bit truncated signatures, corrected for chance agreement."""
    agree = float(np.count_nonzero(a == b)) / len(a)
    return max(0.0, (agree - _CHANCE) / (1.0 - _CHANCE))


class ExactDeduper:
    """Remembers hashes of kept texts; `seen(h)` says whether `h` was kept before, and records it if not."""

    def __init__(self) -> None:
        self._table = U64Map()

    def seen(self, h: int) -> bool:
        return self._table.setdefault(h, 1) is not None

    def __len__(self) -> int:
        return len(self._table)

    @property
    def nbytes(self) -> int:
        return self._table.nbytes


class NearDeduper:
    """MinHash-LSH index of kept documents: band keys + 8-bit signatures, candidates verified by Jaccard."""

    def __init__(self, threshold: float = 0.8, num_perm: int = 128) -> None:
        self.threshold = threshold
        self.num_perm = num_perm
        self.bands, self.rows = lsh_params(threshold, num_perm)
        self._keys = U64Map()
        self._sigs = np.zeros((1024, num_perm), dtype=np.uint8)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    @property
    def nbytes(self) -> int:
        return self._keys.nbytes + self._sigs.nbytes

    def query(self, signature: np.ndarray, keys: list[int] | None = None) -> int | None:
        """Index of a kept document whose estimated Jaccard with `signature` reaches the threshold, or None."""
        keys = keys if keys is not None else band_keys(signature, self.bands, self.rows)
        short = signature.astype(np.uint8)  # keeps the lowest 8 bits
        tried: set[int] = set()
        for key in keys:
            j = self._keys.get(key)
            if j is None or j in tried:
                continue
            tried.add(j)
            if estimated_jaccard_8bit(short, self._sigs[j]) >= self.threshold:
                return j
        return None

    def add(self, signature: np.ndarray, keys: list[int] | None = None) -> int:
        keys = keys if keys is not None else band_keys(signature, self.bands, self.rows)
        if self._n == len(self._sigs):
            grown = np.zeros((2 * len(self._sigs), self.num_perm), dtype=np.uint8)
            grown[: self._n] = self._sigs
            self._sigs = grown
        index = self._n
        self._sigs[index] = signature.astype(np.uint8)
        self._n += 1
        for key in keys:
            self._keys.setdefault(key, index)
        return index

    def check_and_add(self, signature: np.ndarray) -> bool:
        """True if `signature` near-duplicates a kept document; otherwise record it as kept and return False."""
        keys = band_keys(signature, self.bands, self.rows)
        if self.query(signature, keys) is not None:
            return True
        self.add(signature, keys)
        return False
