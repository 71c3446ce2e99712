"""The demo screening task: patients with long notes, labelled for a guideline-style test indication.

Modelled on TASKS.md (HIV-testing eligibility after EuroTEST): a patient is included (label "1") when a note
shows an INDICATOR condition (herpes zoster, unexplained weight loss, thrombocytopenia, ...) mentioned
affirmatively and no EXCLUSION reason (known HIV, a recent negative test, refusal). Each patient belongs to
one kind:

- positive: an affirmed indicator;
- negated (hard negative): the indicator only negated ("geen aanwijzingen voor herpes zoster",
  "X uitgesloten");
- historical (hard negative): the indicator only as history ("status na herpes zoster (2009)");
- excluded (hard negative): an affirmed indicator *and* an exclusion statement, the exclusion decisive;
- plain: no indicator at all.

Positives are ~18% (the real task has ~10%; the demo's small splits need positives in every split). For most
positive and hard-negative patients the decisive sentence sits beyond `RecordShape.late_min_words` words of
routine content in its note, i.e. past the first chunk a truncating model reads, so a model that truncates
records cannot solve them: sliding windows are needed, as in the study.

Two record shapes, one per scale of model:
- `LONG_RECORDS` (2-4 notes of 430-800 words, thousands of subword tokens per patient, evidence beyond the first
  512 tokens) are real-length records for a real encoder: `bench/screening.py` tests on them.
- `DEMO_RECORDS` (1-2 notes of 130-200 words, ~270-500 demo-tokenizer tokens per patient, evidence beyond the
  first 128 tokens for ~83% of patients with evidence) are for the demo encoders, which are pre-trained on
  128-token blocks: for them 128 tokens is what 512 is for mBERT, so head-128 truncation is the demo's
  head-512 baseline. Why so short: a learnable demo set needs many positive patients, and 2 CPU cores cannot
  afford hundreds of long records. Measured (2026-12-04, nl, the demo's clinical encoder, windows of 128,
  token-lse pooling, 1:1 down-sampling, 5 epochs): 1,000 training patients of this shape give test AUROC 0.79
  (head-128: 0.64), while 400 patients of 1-2 notes of 330-470 words stayed near chance in every setting tried
  (see `medadapt.demo.study`).

Negated indicator mentions also occur in positive patients and "never tested" remarks in every kind, so neither
is a shortcut. The note's `meta.evidence_char_offset` marks the
decisive mention (null in other notes); nothing in the text gives the label away.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from medadapt.demo.lexicon import LanguageLexicon, Pool
from medadapt.demo.notes import (
    NoteStyle,
    NoteWriter,
    Section,
    Segment,
    insert_sentence,
    maybe_cedilla,
    render,
)

PREVALENCE = 0.18
KIND_SHARES = {"positive": PREVALENCE, "negated": 0.16, "historical": 0.07, "excluded": 0.10}
LATE_EVIDENCE = 0.85  # share of decisive sentences placed late (beyond RecordShape.late_min_words)


@dataclass(frozen=True)
class RecordShape:
    """Notes per patient and words per note (inclusive ranges); late evidence goes beyond `late_min_words` words
    into its note, so notes should be longer than that."""

    notes: tuple[int, int] = (2, 4)
    words: tuple[int, int] = (430, 800)
    late_min_words: int = 380


LONG_RECORDS = RecordShape()
DEMO_RECORDS = RecordShape(notes=(1, 2), words=(130, 200), late_min_words=75)


@dataclass(frozen=True)
class Note:
    """One line of a screening JSONL file."""

    id: str
    text: str
    label: str
    patient_id: str
    date: str
    lang: str
    meta: dict

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "text": self.text,
            "label": self.label,
            "patient_id": self.patient_id,
            "date": self.date,
            "lang": self.lang,
            "meta": self.meta,
        }


def screening_pools(lex: LanguageLexicon) -> dict[str, Pool]:
    """Routine content must not mention an indicator (or HIV testing) by accident, only on purpose."""
    stems = (*lex.indicator_stems(), "hiv", "vih")

    def drop(concept: tuple[str, ...]) -> bool:
        return any(stem in variant.lower() for variant in concept for stem in stems)

    return {etype: pool.without(drop) for etype, pool in lex.entities.items()}


def _kinds(rng: random.Random, n: int) -> list[str]:
    kinds = [kind for kind, share in KIND_SHARES.items() for _ in range(max(1, round(share * n)))]
    kinds += ["plain"] * (n - len(kinds))
    rng.shuffle(kinds)
    return kinds


def _evidence_sentence(writer: NoteWriter, kind: str, indicator: tuple[str, ...]) -> list[Segment]:
    if kind == "excluded":
        sentence = writer.sentence("exclusion")
        return [Segment(s.text, s.label, evidence=(i == 0)) for i, s in enumerate(sentence)]
    template_kind = {
        "positive": "indicator_affirm",
        "negated": "indicator_neg",
        "historical": "indicator_hist",
    }
    return writer.sentence(template_kind[kind], indicator=indicator)


def _patient(
    lex: LanguageLexicon,
    writer: NoteWriter,
    rng: random.Random,
    patient_id: str,
    kind: str,
    shape: RecordShape,
) -> list[Note]:
    n_notes = rng.randint(*shape.notes)
    unique_dates: set[tuple[int, int, int]] = set()
    while len(unique_dates) < n_notes:
        unique_dates.add((rng.randint(2019, 2023), rng.randint(1, 12), rng.randint(1, 28)))
    dates = sorted(unique_dates, reverse=True)  # newest first, as the real records are merged
    notes: list[list[Section]] = [
        writer.long_note(rng.randint(*shape.words), date=writer.format_date(y, m, d)) for y, m, d in dates
    ]
    indicator = rng.choice(lex.indicators)
    others = [c for c in lex.indicators if c != indicator]
    if kind != "plain":
        late = rng.random() < LATE_EVIDENCE
        lo, hi = (shape.late_min_words, 10_000) if late else (20, 150)
        insert_sentence(rng.choice(notes), _evidence_sentence(writer, kind, indicator), rng, lo, hi)
    if kind == "excluded":  # the indicator itself is affirmed somewhere, typically early (the trap)
        affirmed = writer.sentence("indicator_affirm", indicator=indicator, evidence=False)
        insert_sentence(rng.choice(notes), affirmed, rng, 20, 300)
    if kind in ("positive", "negated") and rng.random() < 0.35:  # negation is no shortcut to the label
        negated = writer.sentence("indicator_neg", indicator=rng.choice(others), evidence=False)
        insert_sentence(rng.choice(notes), negated, rng, 20, 10_000)
    if rng.random() < 0.25:
        insert_sentence(rng.choice(notes), writer.sentence("notexcl"), rng, 20, 10_000)
    label = "1" if kind == "positive" else "0"
    out = []
    for k, (sections, (y, m, d)) in enumerate(zip(notes, dates, strict=True)):
        rendered = render(sections, NoteStyle.draw(rng))
        out.append(
            Note(
                id=f"{patient_id}-n{k + 1}",
                text=maybe_cedilla(rendered.text, lex.lang, rng),
                label=label,
                patient_id=patient_id,
                date=f"{y:04d}-{m:02d}-{d:02d}",
                lang=lex.lang,
                meta={
                    "synthetic": True,
                    "evidence_char_offset": rendered.evidence_offset,
                    "patient_kind": kind,
                },
            )
        )
    return out


def screening_notes(
    lex: LanguageLexicon,
    rng: random.Random,
    split: str,
    n_patients: int,
    first_index: int,
    shape: RecordShape | None = None,
) -> Iterator[Note]:
    """Notes of `n_patients` patients; numbering starts at `first_index` so ids never repeat across splits."""
    writer = NoteWriter(lex, rng, screening_pools(lex))
    shape = shape or LONG_RECORDS
    for i, kind in enumerate(_kinds(rng, n_patients)):
        patient_id = f"{lex.lang}-P{first_index + i:05d}"
        yield from _patient(lex, writer, rng, patient_id, kind, shape)
