"""Dedup removes exact and near duplicates and nothing else; the compact index behaves like a dict."""

from __future__ import annotations

import random

import numpy as np

from medadapt.corpus.config import ContaminationConfig
from medadapt.corpus.contamination import ContaminationIndex
from medadapt.corpus.dedup import ExactDeduper, MinHasher, NearDeduper, text_hash
from medadapt.corpus.hashtable import U64Map
from medadapt.documents import Document

BOILERPLATE = (
    "Hospital Universitario, servicio de medicina interna. Informe de alta redactado por el equipo de guardia, "
    "revisado por el adjunto responsable y remitido al médico de atención primaria."
)


def make_note(rng: random.Random, n_words: int = 150) -> str:
    vocab = [f"w{i}" for i in range(3000)]
    return " ".join(rng.choice(vocab) for _ in range(n_words))


def make_sentences(rng: random.Random, n: int) -> str:
    return " ".join(make_note(rng, 12) + "." for _ in range(n))


def edit(text: str, rng: random.Random, n_edits: int) -> str:
    words = text.split()
    for _ in range(n_edits):
        words[rng.randrange(len(words))] = "EDIT"
    return " ".join(words)


def test_u64map_matches_a_dict() -> None:
    rng = random.Random(0)
    table, reference = U64Map(capacity=16), {}
    for i in range(5000):
        key = rng.getrandbits(64) if i % 7 else 0  # include the remapped zero key
        first = table.setdefault(key, i)
        assert first == reference.get(key)
        reference.setdefault(key, i)
    assert len(table) == len(reference)
    assert all(table.get(k) == v for k, v in reference.items())
    assert table.get(12345) is None or 12345 in reference


def test_exact_dedup_ignores_whitespace_layout_only() -> None:
    seen = ExactDeduper()
    assert not seen.seen(text_hash("Dolor  torácico\n\nagudo."))
    assert seen.seen(text_hash("Dolor torácico agudo."))
    assert not seen.seen(text_hash("Dolor torácico agudo!"))
    assert seen.nbytes / len(seen) < 20_000  # tiny table: fixed start size dominates


def test_near_dedup_removes_small_edits_and_keeps_distinct_docs_sharing_boilerplate() -> None:
    rng = random.Random(1)
    hasher, index = MinHasher(), NearDeduper(0.8)
    originals = [BOILERPLATE + " " + make_note(rng) for _ in range(60)]
    for text in originals:
        assert not index.check_and_add(hasher.signature(text)), "distinct notes sharing boilerplate are kept"
    for text in originals[:30]:
        near = edit(text, rng, 2)
        assert index.check_and_add(hasher.signature(near)), "a 2-word edit of a 175-word note is a near-dup"
    assert len(index) == 60


def test_near_dedup_bytes_per_document_are_bounded() -> None:
    rng = random.Random(2)
    hasher, index = MinHasher(), NearDeduper(0.8)
    for _ in range(3000):
        index.check_and_add(hasher.signature(make_note(rng, 60)))
    per_doc = index.nbytes / len(index)
    assert per_doc < 600, per_doc


def test_contamination_index_matchers() -> None:
    rng = random.Random(3)
    hasher = MinHasher()
    guard = ContaminationIndex(ContaminationConfig(), hasher)
    sentences = [f"Frase de evaluación número {i} con bastante texto clínico para contar." for i in range(10)]
    eval_doc = " ".join(sentences)
    other_eval = make_note(rng)
    guard.add_source("evalset", [Document("E1", eval_doc), Document("E2", other_eval)])

    def check(text: str) -> list[str]:
        return [m.method for m in guard.match(text, text_hash(text), hasher.signature(text))]

    assert check(eval_doc) == ["exact"]
    assert check(edit(other_eval, rng, 1)) == ["minhash"]
    # PHI-style edits in every other sentence: 5 of 10 sentences verbatim -> contaminated by sentences.
    altered = " ".join(s.replace("número", "nº") if i % 2 else s for i, s in enumerate(sentences))
    assert check(altered) in (["sentences"], ["minhash"])
    # The evaluation document embedded in a much longer corpus document.
    embedded = make_sentences(rng, 40) + " " + eval_doc + " " + make_sentences(rng, 40)
    assert check(embedded) == ["sentences-reverse"]
    assert check(make_note(rng)) == []
    assert np.all(guard._sigs[0] == hasher.signature(eval_doc))
