"""Contamination guard: drop corpus documents that copy (or nearly copy) a document of an evaluation set.

Why three matchers (see shared/data/README.md, "SPACCC document overlap"): the same clinical cases reappear across
SPACCC tasks under other ids, so id matching misses them; MEDDOCAN re-synthesised the PHI, so whole-text hashing
misses those copies. A corpus document is therefore contaminated when any of these holds against an exclude set:
1. its normalised-text hash equals an excluded document's;
2. its MinHash estimate of word-shingle Jaccard with an excluded document reaches the threshold;
3. at least `sentence_fraction` of its distinct sentences of >= `sentence_min_chars` characters occur verbatim
   in the exclude set, or at least that fraction of one excluded document's long sentences occur in it (this
   second direction catches a corpus document that embeds an evaluation document inside more text).
Evaluation sets are small (hundreds to thousands of documents), so their indexes are plain dicts.
Only ids are recorded, never text.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xxhash

from medadapt.corpus.config import ContaminationConfig
from medadapt.corpus.dedup import MinHasher, band_keys, estimated_jaccard, lsh_params, text_hash
from medadapt.documents import Document

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def sentence_hashes(text: str, min_chars: int) -> set[int]:
    """Hashes of the distinct whitespace-normalised sentences of at least `min_chars` characters."""
    out = set()
    for piece in _SENTENCE_END.split(text):
        sentence = " ".join(piece.split())
        if len(sentence) >= min_chars:
            out.add(xxhash.xxh3_64_intdigest(sentence.encode()))
    return out


@dataclass
class Match:
    """Why a corpus document was removed: the exclude source, the matched exclude document, the method."""

    source: str
    matched_id: str
    method: str  # "exact" | "minhash" | "sentences" | "sentences-reverse"


@dataclass
class _ExcludeDoc:
    source: int
    id: str
    n_sentences: int


@dataclass
class ContaminationIndex:
    """Exclude-set fingerprints; `match(...)` tells whether a corpus document copies one of them."""

    config: ContaminationConfig
    hasher: MinHasher
    sources: list[str] = field(default_factory=list)
    source_docs: Counter[str] = field(default_factory=Counter)
    _docs: list[_ExcludeDoc] = field(default_factory=list)
    _exact: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    _bands: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    _sigs: list[np.ndarray | None] = field(default_factory=list)
    _sentences: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))

    def __post_init__(self) -> None:
        self.bands, self.rows = lsh_params(self.config.minhash_threshold, self.hasher.num_perm)

    def __len__(self) -> int:
        return len(self._docs)

    def add_source(self, name: str, documents: Iterable[Document], clean: Any = None) -> int:
        """Index every document of one exclude set; `clean` (text -> text) is the corpus cleaner, for parity."""
        if name not in self.sources:
            self.sources.append(name)
        source = self.sources.index(name)
        n = 0
        for doc in documents:
            text = clean(doc.text) if clean is not None else doc.text
            if not text:
                continue
            index = len(self._docs)
            self._exact[text_hash(text)].append(index)
            sig = self.hasher.signature(text) if self.config.minhash else None
            self._sigs.append(sig)
            if sig is not None:
                for key in band_keys(sig, self.bands, self.rows):
                    self._bands[key].append(index)
            sentences = sentence_hashes(text, self.config.sentence_min_chars) if self.config.sentences else set()
            for h in sentences:
                self._sentences[h].append(index)
            self._docs.append(_ExcludeDoc(source, doc.id, len(sentences)))
            n += 1
        self.source_docs[name] += n
        return n

    def _match(self, index: int, method: str) -> Match:
        doc = self._docs[index]
        return Match(self.sources[doc.source], doc.id, method)

    def match(self, text: str, h: int, signature: np.ndarray | None) -> list[Match]:
        """Every exclude source the cleaned corpus text copies (first matcher that fires per source).

        Each source is judged on its own, so a document that is in two evaluation sets is reported under both,
        and a per-source count means "documents that would leak this evaluation set".
        """
        if not self._docs:
            return []
        found: dict[int, Match] = {}

        def note(index: int, method: str) -> None:
            source = self._docs[index].source
            if source not in found:
                found[source] = self._match(index, method)

        for index in self._exact.get(h, ()):
            note(index, "exact")
        if self.config.minhash and signature is not None and len(found) < len(self.sources):
            tried: set[int] = set()
            for key in band_keys(signature, self.bands, self.rows):
                for j in self._bands.get(key, ()):
                    if j in tried or self._docs[j].source in found:
                        continue
                    tried.add(j)
                    other = self._sigs[j]
                    if other is not None and estimated_jaccard(signature, other) >= self.config.minhash_threshold:
                        note(j, "minhash")
        if self.config.sentences and len(found) < len(self.sources):
            self._match_sentences(text, found, note)
        return [found[k] for k in sorted(found)]

    def _match_sentences(self, text: str, found: dict[int, Match], note: Callable[[int, str], None]) -> None:
        sentences = sentence_hashes(text, self.config.sentence_min_chars)
        if not sentences:
            return
        per_doc: Counter[int] = Counter()
        per_source: dict[int, int] = defaultdict(int)
        for h in sentences:
            docs = self._sentences.get(h)
            if docs:
                per_doc.update(docs)
                for source in {self._docs[j].source for j in docs}:
                    per_source[source] += 1
        if not per_doc:
            return
        fraction = self.config.sentence_fraction
        for j, hits in per_doc.most_common():  # best-matching excluded document first
            source = self._docs[j].source
            if source in found:
                continue
            if per_source[source] >= fraction * len(sentences):
                note(j, "sentences")
            elif hits >= fraction * self._docs[j].n_sentences:
                note(j, "sentences-reverse")
