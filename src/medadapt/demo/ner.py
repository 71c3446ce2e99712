"""The demo NER task: short clinical notes with gold DISEASE / SYMPTOM / DRUG / PROCEDURE / ANATOMY spans.

The notes come from the same `NoteWriter` as the clinical corpus (so pre-training on that corpus is genuinely
useful), with their own RNG stream. What keeps the task from being a lookup:
- about one concept in seven (below the 25 most common of each type) is held out of train and dev, so the test
  split has unseen entities, as real test sets do (they still occur in the pre-training corpora);
- the same word is a SYMPTOM alone and part of a DISEASE in context ("koorts" / "reumatische koorts");
- negated entities ("geen aanwijzingen voor X") are still entities; abbreviations (DM2, AF) are variants;
- entities occur everywhere, including in the note's last sentence, so a windowing bug that drops the end of a
  document loses entities.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from medadapt.demo.lexicon import LanguageLexicon, Pool
from medadapt.demo.notes import NoteStyle, NoteWriter, Section, maybe_cedilla, render
from medadapt.documents import Document


def ner_pools(lex: LanguageLexicon, split: str) -> dict[str, Pool]:
    """Entity pools for a split: train/dev never see the held-out concepts; test sees everything."""
    if split == "test":
        return lex.entities
    return {etype: pool.without(lambda c: c[0] in lex.heldout) for etype, pool in lex.entities.items()}


def ner_documents(lex: LanguageLexicon, rng: random.Random, split: str, n_docs: int) -> Iterator[Document]:
    writer = NoteWriter(lex, rng, ner_pools(lex, split))
    for i in range(n_docs):
        sections = writer.clinical_note(detail=rng.choice((1, 1, 2, 2, 3)))
        progress = [writer.sentence("routine") for _ in range(rng.randint(2, 5))]
        if progress:  # nursing/progress lines: realistic entity-free stretches between the dense sections
            sections.insert(-2, Section(writer.phrase("HDR_PROGRESS"), progress))
        if rng.random() < 0.15:  # a few notes end with an entity-free routine line
            sections.append(Section(None, [writer.sentence("routine")]))
        rendered = render(sections, NoteStyle.draw(rng))
        doc = Document(
            id=f"{lex.lang}-ner-{split}-{i:04d}",
            text=maybe_cedilla(rendered.text, lex.lang, rng),  # same length, so spans stay valid
            lang=lex.lang,
            spans=rendered.spans,
            meta={"synthetic": True, "split": split},
        )
        doc.validate()
        yield doc
