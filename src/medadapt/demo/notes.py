"""The one clinical-note generator shared by the clinical corpus, the NER task and the screening task.

Why one generator: in real hospitals the notes used for continued pre-training and the notes of a clinical
task come from the same register (section headers, abbreviations, negation phrasing, dosing lines, vital
signs, the same entity vocabulary). Sharing that register is what lets clinical-domain pre-training help the
tasks, so the corpus and the tasks draw from this module with different RNG streams and different entity
pools, never from copies.

A note is built as `Section`s of sentences made of `Segment`s; a segment is literal text or an entity (with
its label) and may be flagged as the screening evidence. `render` joins them into text and computes the
character offsets of every entity and of the evidence, so spans are exact by construction.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from functools import cache

from medadapt.demo.lexicon import Concept, LanguageLexicon, Pool
from medadapt.documents import Span


@dataclass(frozen=True)
class Segment:
    text: str
    label: str | None = None
    evidence: bool = False


Sentence = list[Segment]


@dataclass
class Section:
    header: str | None
    sentences: list[Sentence] = field(default_factory=list)
    as_lines: bool = False  # one sentence per line (medication lists, structured data)


@dataclass(frozen=True)
class Rendered:
    text: str
    spans: list[Span]
    evidence_offset: int | None


@dataclass(frozen=True)
class NoteStyle:
    """Per-note layout choices, as different authors and systems format notes differently."""

    header_colon: bool
    inline_headers: bool
    blank_line: bool

    @classmethod
    def draw(cls, rng: random.Random) -> NoteStyle:
        return cls(rng.random() < 0.7, rng.random() < 0.5, rng.random() < 0.4)


_VITAL_UNITS = {
    "nl": ("mmHg", "/min", "°C", "/min"),
    "ro": ("mmHg", " bpm", "°C", " resp/min"),
    "es": ("mmHg", " lpm", "ºC", " rpm"),
}
_DATE_FORMATS = {"nl": "{d:02d}-{m:02d}-{y}", "ro": "{d:02d}.{m:02d}.{y}", "es": "{d:02d}/{m:02d}/{y}"}
_DOSES = (2.5, 5, 10, 20, 25, 40, 50, 80, 100, 200, 250, 500, 850, 1000)
_PHRASE_SLOTS = {
    "NEG": "NEG", "NEG_POST": "NEG_POST", "HIST": "HIST", "PT": "ABBR_PT", "BECAUSE": "ABBR_BECAUSE",
    "KNOWN": "ABBR_KNOWN", "CONTROL": "ABBR_CONTROL", "GP": "ABBR_GP", "CI": "BIO_CI", "PLACE": "GEN_PLACE",
    "PERSON": "GEN_PERSON", "DAY": "GEN_DAY", "THING": "GEN_THING", "ACTIVITY": "GEN_ACTIVITY",
}  # fmt: skip
_ENTITY_SLOTS = frozenset({"DISEASE", "SYMPTOM", "DRUG", "PROCEDURE", "ANATOMY"})
_CEDILLA = str.maketrans("șțȘȚ", "şţŞŢ")


@cache
def _parse(template: str) -> tuple[str, ...]:
    """Alternating literal text and slot names: ('Start ', 'DRUG', ', controle over ', 'N', ' weken.')."""
    return tuple(re.split(r"\{([A-Z_]+)\}", template))


def decimal(value: float, decimals: int) -> str:
    """Numbers as nl/ro/es clinicians write them: decimal comma."""
    return f"{value:.{decimals}f}".replace(".", ",")


def maybe_cedilla(text: str, lang: str, rng: random.Random, p: float = 0.2) -> str:
    """Romanian mostly uses comma-below ș/ț; older systems write cedilla ş/ţ, so some documents do too."""
    if lang == "ro" and rng.random() < p:
        return text.translate(_CEDILLA)
    return text


def word_count(sentence: Sentence) -> int:
    return sum(len(seg.text.split()) for seg in sentence)


class NoteWriter:
    """Fills templates and builds clinical notes for one language from the given entity pools."""

    def __init__(self, lex: LanguageLexicon, rng: random.Random, pools: dict[str, Pool] | None = None):
        self.lex = lex
        self.lang = lex.lang
        self.rng = rng
        self.pools = pools if pools is not None else lex.entities

    # --- slots ---------------------------------------------------------------------------------------------
    def phrase(self, kind: str) -> str:
        return self.rng.choice(self.lex.phrases[kind])

    def term(self, concept: Concept) -> str:
        return concept[0] if len(concept) == 1 or self.rng.random() < 0.75 else self.rng.choice(concept)

    def date(self, first_year: int = 2012, last_year: int = 2023) -> str:
        rng = self.rng
        y, m, d = rng.randint(first_year, last_year), rng.randint(1, 12), rng.randint(1, 28)
        return self.format_date(y, m, d)

    def format_date(self, y: int, m: int, d: int) -> str:
        return _DATE_FORMATS[self.lang].format(d=d, m=m, y=y)

    def _number(self, slot: str) -> str:
        rng = self.rng
        match slot:
            case "N":
                return str(rng.randint(2, 14))
            case "AGE":
                return str(rng.randint(18, 92))
            case "YEAR":
                return str(rng.randint(1990, 2021))
            case "DATE":
                return self.date()
            case "PCT":
                return decimal(rng.uniform(1, 95), 1)
            case "P":
                return rng.choice(("<0,001", decimal(rng.uniform(0.001, 0.2), 3)))
            case "NPAT":
                return str(rng.randint(40, 4000))
            case "HR":
                return decimal(rng.uniform(0.4, 2.5), 2)
            case "CIRANGE":
                low = rng.uniform(0.3, 1.2)
                return f"{decimal(low, 2)}–{decimal(low + rng.uniform(0.1, 1.0), 2)}"
        raise KeyError(f"unknown template slot {{{slot}}}")

    def fill(self, template: str, indicator: Concept | None = None, evidence: bool = True) -> Sentence:
        parts = _parse(template)
        out: Sentence = []
        for i, part in enumerate(parts):
            if i % 2 == 0:
                if part:
                    out.append(Segment(part))
            elif part in _ENTITY_SLOTS:
                out.append(Segment(self.term(self.pools[part].draw(self.rng)), part))
            elif part == "INDICATOR":
                if indicator is None:
                    raise ValueError(f"template {template!r} needs an indicator")
                out.append(Segment(self.term(indicator), "DISEASE", evidence=evidence))
            elif part in _PHRASE_SLOTS:
                out.append(Segment(self.phrase(_PHRASE_SLOTS[part])))
            else:
                out.append(Segment(self._number(part)))
        return out

    def sentence(self, kind: str, **kwargs: object) -> Sentence:
        return self.fill(self.rng.choice(self.lex.templates[kind]), **kwargs)  # type: ignore[arg-type]

    # --- structured lines ---
    def vitals(self) -> Sentence:
        rng, ph = self.rng, self.phrase
        bp, pulse, temp, resp = _VITAL_UNITS[self.lang]
        items = [
            f"{ph('VITAL_BP')} {rng.randint(95, 185)}/{rng.randint(55, 105)} {bp}",
            f"{ph('VITAL_PULSE')} {rng.randint(48, 128)}{pulse}",
            f"{ph('VITAL_TEMP')} {decimal(rng.uniform(35.8, 39.6), 1)} {temp}",
            f"{ph('VITAL_SAT')} {rng.randint(86, 100)}%",
            f"{ph('VITAL_RESP')} {rng.randint(10, 32)}{resp}",
        ]
        keep = sorted(rng.sample(range(len(items)), rng.randint(2, len(items))))
        return [Segment(", ".join(items[i] for i in keep) + ".")]

    def medication_line(self) -> Sentence:
        rng = self.rng
        dose = rng.choice(_DOSES)
        dose_text = decimal(dose, 1) if dose != int(dose) else str(int(dose))
        tail = f" {dose_text} mg {self.phrase('FREQ')}"
        if rng.random() < 0.3:
            tail += f" {self.phrase('ROUTE')}"
        return [Segment("- "), Segment(self.term(self.pools["DRUG"].draw(rng)), "DRUG"), Segment(tail)]

    def lab_line(self) -> Sentence:
        rng = self.rng
        labs = sorted(rng.sample(range(len(self.lex.labs)), rng.randint(3, 7)))
        items = []
        for i in labs:
            lab = self.lex.labs[i]
            value = rng.uniform(lab.low, lab.high)
            decimals = lab.decimals
            if self.lang != "nl" and lab.factor != 1:
                value *= lab.factor
                decimals = 0 if value >= 100 else max(decimals, 1)
            items.append(f"{lab.names[self.lang]} {decimal(value, decimals)} {lab.units[self.lang]}")
        return [Segment(", ".join(items) + ".")]

    # --- whole notes ---
    def clinical_note(self, detail: int = 1, date: str | None = None) -> list[Section]:
        """A consultation or admission note: date, reason, history, exam, results, medication, conclusion,
        plan.

        `detail` (1 = short, 3 = long) scales how many sentences each section gets.
        """
        rng, s = self.rng, self.sentence
        dateline = Section(None, [[Segment(f"{self.phrase('HDR_DATE')}: {date or self.date()}")]], as_lines=True)
        sections = [dateline, Section(self.phrase("HDR_REASON"), [s("reason")])]
        sections.append(
            Section(self.phrase("HDR_ANAMNESIS"), [s("anamnesis") for _ in range(rng.randint(1, 1 + detail))])
        )
        if rng.random() < 0.6:
            sections.append(Section(self.phrase("HDR_HISTORY"), [s("history") for _ in range(rng.randint(1, 2))]))
        exam = [self.vitals()] + [s("exam") for _ in range(rng.randint(0, detail + 1))]
        sections.append(Section(self.phrase("HDR_EXAM"), exam))
        extra = [self.lab_line()] + [s("additional") for _ in range(rng.randint(0, detail))]
        sections.append(Section(self.phrase("HDR_ADDITIONAL"), extra))
        if rng.random() < 0.7:
            meds = [self.medication_line() for _ in range(rng.randint(1, 2 + detail))]
            sections.append(Section(self.phrase("HDR_MEDICATION"), meds, as_lines=True))
        sections.append(Section(self.phrase("HDR_CONCLUSION"), [s("conclusion") for _ in range(rng.randint(1, 2))]))
        sections.append(Section(self.phrase("HDR_PLAN"), [s("plan") for _ in range(rng.randint(1, 1 + detail))]))
        return sections

    def long_note(self, target_words: int, date: str | None = None) -> list[Section]:
        """A long admission record (screening): the base note plus a progress section and more of everything,
        grown until `target_words`, with conclusion and plan kept last as in real records. A sentence already
        in the note is redrawn (a few tries), so long records do not loop over the same few lines."""
        rng = self.rng
        sections = self.clinical_note(detail=3, date=date)
        progress = Section(self.phrase("HDR_PROGRESS"))
        sections.insert(-2, progress)
        growable = [s for s in sections[2:-3] if not s.as_lines]
        seen = {_plain(x) for sec in sections for x in sec.sentences}
        words = sum(word_count(x) for sec in sections for x in sec.sentences)
        while words < target_words:
            section = progress if rng.random() < 0.55 else rng.choice(growable)
            for _ in range(4):
                kind = _section_kind(section, self.lex) if section is not progress else _progress_kind(rng)
                new = self.lab_line() if kind == "lab" else self.vitals() if kind == "vitals" else self.sentence(kind)
                if _plain(new) not in seen:
                    break
            seen.add(_plain(new))
            section.sentences.append(new)
            words += word_count(new)
        return sections


def _progress_kind(rng: random.Random) -> str:
    """A progress-section line: mostly nursing/routine lines, with labs, vitals and clinical sentences."""
    kinds = ("routine", "lab", "vitals", "anamnesis", "exam", "additional", "plan")
    return rng.choices(kinds, weights=(4, 2, 1, 2, 2, 2, 1))[0]


def _plain(sentence: Sentence) -> str:
    return "".join(seg.text for seg in sentence)


def _section_kind(section: Section, lex: LanguageLexicon) -> str:
    for kind in ("reason", "anamnesis", "history", "exam", "additional"):
        if section.header in lex.phrases[f"HDR_{kind.upper()}"]:
            return kind
    return "routine"


def insert_sentence(
    sections: list[Section], sentence: Sentence, rng: random.Random, min_words: int, max_words: int
) -> None:
    """Put `sentence` after a prose sentence whose end lies between min_words and max_words into the note
    (the last prose position if the note is too short), so the evidence's depth in the note is controlled."""
    positions: list[tuple[int, int]] = []
    fallback: tuple[int, int] | None = None
    words = 0
    for si, section in enumerate(sections):
        words += len(section.header.split()) if section.header else 0
        for ti, sent in enumerate(section.sentences):
            words += word_count(sent)
            if section.as_lines or section.header is None:
                continue
            fallback = (si, ti + 1)
            if min_words <= words <= max_words:
                positions.append((si, ti + 1))
    si, ti = rng.choice(positions) if positions else fallback or (len(sections) - 1, 0)
    sections[si].sentences.insert(ti, sentence)


def render(sections: list[Section], style: NoteStyle) -> Rendered:
    """Join sections into text, with exact entity spans and the evidence offset (if a segment is one)."""
    chunks: list[str] = []
    spans: list[Span] = []
    evidence: int | None = None
    pos = 0

    def emit(text: str) -> None:
        nonlocal pos
        chunks.append(text)
        pos += len(text)

    for si, section in enumerate(sections):
        if si:
            emit("\n\n" if style.blank_line else "\n")
        if section.header:
            emit(section.header + (":" if style.header_colon else ""))
            emit(" " if style.inline_headers and not section.as_lines else "\n")
        for ti, sentence in enumerate(section.sentences):
            if ti:
                emit("\n" if section.as_lines else " ")
            for gi, seg in enumerate(sentence):
                text = seg.text[:1].upper() + seg.text[1:] if gi == 0 else seg.text
                if seg.evidence and evidence is None:
                    evidence = pos
                if seg.label:
                    spans.append(Span(pos, pos + len(text), seg.label))
                emit(text)
    return Rendered("".join(chunks), spans, evidence)
