"""Weighted mixing of several packed corpora into one stream of blocks, exactly resumable.

Each global sample index `i` picks a corpus by weight from a random stream that depends only on (seed, chunk of
`i`), and each corpus walks through its own blocks in an epoch-wise permutation that depends only on (seed,
corpus, epoch). The whole state is therefore two counters — samples drawn and blocks consumed per corpus — so
resume is exact and every process of a distributed run computes the same global batch and takes its slice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

_CHUNK = 4096


@dataclass
class CorpusMixer:
    """Yields (corpus index, block index) pairs; `realised_proportions` is what the log reports."""

    sizes: Sequence[int]
    weights: Sequence[float]
    seed: int = 0
    samples_drawn: int = 0
    consumed: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.weights) or not self.sizes:
            raise ValueError("one weight per corpus is required")
        if any(s <= 0 for s in self.sizes):
            raise ValueError(f"every corpus needs at least one block, got sizes {list(self.sizes)}")
        if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ValueError(f"weights must be non-negative and not all zero, got {list(self.weights)}")
        total = float(sum(self.weights))
        self._probs = np.asarray(self.weights, dtype=np.float64) / total
        if not self.consumed:
            self.consumed = [0] * len(self.sizes)
        self._chunk_cache: tuple[int, np.ndarray] | None = None
        self._perm_cache: dict[tuple[int, int], np.ndarray] = {}

    def _corpus_of(self, index: int) -> int:
        chunk, offset = divmod(index, _CHUNK)
        if self._chunk_cache is None or self._chunk_cache[0] != chunk:
            rng = np.random.default_rng([self.seed, 7, chunk])
            self._chunk_cache = (chunk, rng.choice(len(self._probs), size=_CHUNK, p=self._probs))
        return int(self._chunk_cache[1][offset])

    def _permutation(self, corpus: int, epoch: int) -> np.ndarray:
        key = (corpus, epoch)
        if key not in self._perm_cache:
            if len(self._perm_cache) > 2 * len(self.sizes):
                self._perm_cache.clear()
            rng = np.random.default_rng([self.seed, 11, corpus, epoch])
            self._perm_cache[key] = rng.permutation(self.sizes[corpus])
        return self._perm_cache[key]

    def take(self, n: int) -> list[tuple[int, int]]:
        """The next `n` samples of the global stream (the same on every process)."""
        out = []
        for _ in range(n):
            corpus = self._corpus_of(self.samples_drawn)
            epoch, position = divmod(self.consumed[corpus], self.sizes[corpus])
            out.append((corpus, int(self._permutation(corpus, epoch)[position])))
            self.consumed[corpus] += 1
            self.samples_drawn += 1
        return out

    def epochs(self) -> list[float]:
        return [c / s for c, s in zip(self.consumed, self.sizes, strict=True)]

    def realised_proportions(self) -> list[float]:
        total = max(self.samples_drawn, 1)
        return [c / total for c in self.consumed]

    def state_dict(self) -> dict[str, object]:
        return {
            "sizes": list(self.sizes),
            "weights": list(self.weights),
            "seed": self.seed,
            "samples_drawn": self.samples_drawn,
            "consumed": list(self.consumed),
        }

    def load_state_dict(self, state: dict[str, object]) -> None:
        if list(state["sizes"]) != list(self.sizes) or list(state["weights"]) != list(self.weights):  # type: ignore[call-overload]
            raise ValueError(
                f"checkpoint mixer was built for sizes {state['sizes']} / weights {state['weights']}, "
                f"this run has {list(self.sizes)} / {list(self.weights)}"
            )
        self.seed = int(state["seed"])  # type: ignore[call-overload]
        self.samples_drawn = int(state["samples_drawn"])  # type: ignore[call-overload]
        self.consumed = [int(c) for c in state["consumed"]]  # type: ignore[union-attr]
        self._chunk_cache = None
