"""The three pre-training corpora of the demo, one per domain the study compares.

- clinical: notes from `notes.NoteWriter` — the tasks' register and vocabulary (what clinical-domain
  pre-training should learn);
- biomedical: abstract-like prose (Background/Methods/Results/Conclusions) with the same entity lexicon in a
  literature register — shares vocabulary with the tasks but not their structure;
- general: everyday prose from `wordfreq` words and small everyday templates — shares neither; every medical
  word of the lexicon is kept out of it.

Each generator yields `Document`s with `meta = {"synthetic": True, "domain": ...}`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from medadapt.demo.lexicon import LanguageLexicon
from medadapt.demo.notes import NoteStyle, NoteWriter, Section, maybe_cedilla, render
from medadapt.documents import Document

DOMAINS: tuple[str, ...] = ("clinical", "biomedical", "general")


def _document(lang: str, domain: str, index: int, text: str) -> Document:
    return Document(
        id=f"{lang}-{domain}-{index:06d}",
        text=text,
        lang=lang,
        meta={"synthetic": True, "domain": domain},
    )


def clinical_corpus(lex: LanguageLexicon, rng: random.Random, n_docs: int) -> Iterator[Document]:
    writer = NoteWriter(lex, rng)
    for i in range(n_docs):
        sections = writer.clinical_note(detail=rng.choice((1, 2, 2, 3, 3)))
        text = render(sections, NoteStyle.draw(rng)).text
        yield _document(lex.lang, "clinical", i, maybe_cedilla(text, lex.lang, rng))


def biomedical_corpus(lex: LanguageLexicon, rng: random.Random, n_docs: int) -> Iterator[Document]:
    writer = NoteWriter(lex, rng)
    parts = (
        ("BIO_BACKGROUND", "bio_background", (1, 3)),
        ("BIO_METHODS", "bio_methods", (1, 3)),
        ("BIO_RESULTS", "bio_results", (2, 4)),
        ("BIO_CONCLUSIONS", "bio_conclusions", (1, 2)),
    )
    for i in range(n_docs):
        sections = [Section(None, [writer.sentence("bio_title")])]
        for header, kind, (lo, hi) in parts:
            sentences = [writer.sentence(kind) for _ in range(rng.randint(lo, hi))]
            sections.append(Section(writer.phrase(header), sentences))
        style = NoteStyle(header_colon=True, inline_headers=rng.random() < 0.8, blank_line=rng.random() < 0.5)
        text = render(sections, style).text
        yield _document(lex.lang, "biomedical", i, maybe_cedilla(text, lex.lang, rng))


def general_corpus(lex: LanguageLexicon, rng: random.Random, n_docs: int) -> Iterator[Document]:
    """Everyday prose: template sentences and frequency-sampled word sequences (no medical vocabulary)."""
    writer = NoteWriter(lex, rng)
    words = lex.general_words
    for i in range(n_docs):
        paragraphs = []
        for _ in range(rng.randint(2, 4)):
            sentences = []
            for _ in range(rng.randint(2, 6)):
                if rng.random() < 0.35:
                    sentence = "".join(seg.text for seg in writer.sentence("general"))
                else:
                    sentence = " ".join(words.draw(rng)[0] for _ in range(rng.randint(6, 18))) + "."
                sentences.append(sentence[:1].upper() + sentence[1:])
            paragraphs.append(" ".join(sentences))
        text = "\n\n".join(paragraphs)
        yield _document(lex.lang, "general", i, maybe_cedilla(text, lex.lang, rng))


def corpus(domain: str, lex: LanguageLexicon, rng: random.Random, n_docs: int) -> Iterator[Document]:
    generators = {"clinical": clinical_corpus, "biomedical": biomedical_corpus, "general": general_corpus}
    return generators[domain](lex, rng, n_docs)
