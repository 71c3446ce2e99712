"""Notes → model chunks: overlapping windows over the whole note, or the head / head+tail truncation baselines.

Every chunk keeps the character range(s) it covers in its note, so a decision can be traced back to the text that
drove it (the explanation written beside a prediction) without storing the text. Chunk bodies are cut from one
fast-tokenizer pass over the note (offsets included), then wrapped in the model's special tokens.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from medadapt.errors import ModelLoadError
from medadapt.tasks.screening.config import ChunkingSection
from medadapt.tasks.screening.data import LabelSpace, Patient
from medadapt.tasks.windows import plan_windows, special_template


@dataclass(frozen=True)
class Chunk:
    note: int  # index of the note within its patient (newest first)
    input_ids: list[int]
    char_ranges: tuple[tuple[int, int], ...]  # one range; head_tail: head and tail


@dataclass
class EncodedPatient:
    patient: Patient
    chunks: list[Chunk]
    target: Any

    def features(self) -> dict[str, Any]:
        """What the training loop batches; `len(input_ids)` (chunks) drives its length grouping."""
        return {
            "input_ids": [c.input_ids for c in self.chunks],
            "chunk_note": [c.note for c in self.chunks],
            "n_notes": self.chunks[-1].note + 1,  # notes with at least one chunk (see max_chunks_per_patient)
            "labels": self.target,
        }


@dataclass
class ChunkReport:
    notes: int = 0
    chunks: int = 0
    tokens: int = 0  # subword tokens in the notes (without special tokens)
    tokens_seen: int = 0  # tokens inside at least one chunk the model sees
    notes_truncated: int = 0  # notes not covered completely (head / head_tail strategies)
    chunks_dropped: int = 0  # over max_chunks_per_patient (oldest notes' chunks go first)
    notes_dropped: int = 0  # notes left with no chunk because of that cap
    max_chunks_per_patient_seen: int = 0
    tokens_per_note: list[int] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        lengths = sorted(self.tokens_per_note)
        quantile = (lambda q: lengths[min(len(lengths) - 1, int(q * len(lengths)))]) if lengths else (lambda q: 0)
        return {
            "notes": self.notes,
            "chunks": self.chunks,
            "tokens": self.tokens,
            "tokens_seen": self.tokens_seen,
            "coverage": self.tokens_seen / self.tokens if self.tokens else 1.0,
            "notes_truncated": self.notes_truncated,
            "chunks_dropped": self.chunks_dropped,
            "notes_dropped": self.notes_dropped,
            "max_chunks_per_patient": self.max_chunks_per_patient_seen,
            "tokens_per_note": {"median": quantile(0.5), "p90": quantile(0.9), "max": lengths[-1] if lengths else 0},
        }


def _char_range(offsets: Sequence[tuple[int, int]], a: int, b: int) -> tuple[int, int]:
    return offsets[a][0], offsets[b - 1][1]


def note_chunks(
    ids: Sequence[int],
    offsets: Sequence[tuple[int, int]],
    word_starts: Sequence[bool],
    settings: ChunkingSection,
    n_special: int,
) -> list[tuple[list[int], tuple[tuple[int, int], ...]]]:
    """(body token ids, character ranges) of every chunk of one tokenized note; windows start on word starts
    where possible (the NER window planner), so no chunk begins mid-word."""
    body = settings.max_length - n_special
    n = len(ids)
    if n == 0:
        return []
    if n <= body:
        return [(list(ids), (_char_range(offsets, 0, n),))]
    if settings.strategy == "windows":
        windows = plan_windows(n, body, settings.stride, word_starts)
        return [(list(ids[a:b]), (_char_range(offsets, a, b),)) for a, b in windows]
    if settings.strategy == "head":
        return [(list(ids[:body]), (_char_range(offsets, 0, body),))]
    head = round(body * settings.head_fraction)
    tail = body - head
    ranges = tuple(r for r in (_char_range(offsets, 0, head) if head else None, _char_range(offsets, n - tail, n)) if r)
    return [(list(ids[:head]) + list(ids[n - tail :]), ranges)]


def _seen_tokens(n: int, settings: ChunkingSection, n_special: int) -> int:
    body = settings.max_length - n_special
    return n if settings.strategy == "windows" else min(n, body)


def encode_patients(
    patients: Sequence[Patient], tokenizer: Any, settings: ChunkingSection, space: LabelSpace
) -> tuple[list[EncodedPatient], ChunkReport]:
    """Chunk every note of every patient; the counts (truncation, the chunk cap) go to the report."""
    if not getattr(tokenizer, "is_fast", False):
        raise ModelLoadError("screening needs a fast tokenizer (character offsets for the explanations)")
    prefix, suffix = special_template(tokenizer)
    n_special = len(prefix) + len(suffix)
    if settings.max_length - n_special <= settings.stride:
        raise ModelLoadError(f"chunking.max_length {settings.max_length} leaves no room beside {n_special} specials")
    report = ChunkReport()
    encoded = []
    texts = [note.text for patient in patients for note in patient.notes]
    batch = tokenizer(texts, add_special_tokens=False, return_offsets_mapping=True, verbose=False) if texts else None
    k = 0
    for patient in patients:
        chunks: list[Chunk] = []
        for note_index, _note in enumerate(patient.notes):
            assert batch is not None
            ids, offsets, words = batch["input_ids"][k], batch["offset_mapping"][k], batch.word_ids(k)
            starts = [i == 0 or w is None or w != words[i - 1] for i, w in enumerate(words)]
            k += 1
            report.notes += 1
            report.tokens += len(ids)
            report.tokens_per_note.append(len(ids))
            seen = _seen_tokens(len(ids), settings, n_special)
            report.tokens_seen += seen
            report.notes_truncated += seen < len(ids)
            for body, ranges in note_chunks(ids, offsets, starts, settings, n_special):
                chunks.append(Chunk(note_index, prefix + body + suffix, ranges))
            if not ids:  # a note without any token still gets an (empty) chunk: a note is never dropped
                chunks.append(Chunk(note_index, prefix + suffix, ((0, 0),)))
        cap = settings.max_chunks_per_patient
        if cap is not None and len(chunks) > cap:
            report.chunks_dropped += len(chunks) - cap
            kept_notes = {c.note for c in chunks[:cap]}
            report.notes_dropped += len(patient.notes) - len(kept_notes)
            chunks = chunks[:cap]
        report.chunks += len(chunks)
        report.max_chunks_per_patient_seen = max(report.max_chunks_per_patient_seen, len(chunks))
        encoded.append(EncodedPatient(patient, chunks, space.target(patient.label)))
    return encoded, report
