"""Screening data: files → checked notes → patients (notes newest-first) with one label each, and the split rules.

A screening decision is per patient, so everything here is organised around `Patient`. The checks are the ones a
wrong file would otherwise turn into a silently wrong model: a missing label or patient column, a label outside
the label set, an empty note, notes of one patient with different labels, and — the dangerous one — a patient
present in two splits (the model would be tested on a patient it was trained on). Each raises an `InputError`
naming the file and line. Nothing is dropped without a count in the data report.
"""

from __future__ import annotations

import hashlib
import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medadapt.documents import Document
from medadapt.errors import ConfigError, InputError
from medadapt.io import read_documents
from medadapt.tasks.screening.config import LabelSection, ScreeningConfig, ScreeningDataSection

POSITIVE_NAMES = ("1", "true", "yes", "y", "pos", "positive", "include", "included")
SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class LabelSpace:
    """The task's labels. Binary tasks have one output (the positive label's logit); others one per label."""

    kind: str  # binary | multiclass | multilabel
    labels: tuple[str, ...]  # binary: (negative, positive)

    @property
    def num_outputs(self) -> int:
        return 1 if self.kind == "binary" else len(self.labels)

    @property
    def positive(self) -> str:
        return self.labels[1]

    def target(self, label: str | tuple[str, ...]) -> list[float] | int | float:
        """The training target of one label: 0/1 (binary), a class index, or a multi-hot list."""
        if self.kind == "binary":
            return float(label == self.positive)
        if self.kind == "multiclass":
            return self.labels.index(str(label))
        chosen = set(label)
        return [float(name in chosen) for name in self.labels]

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "labels": list(self.labels)}


@dataclass
class Patient:
    id: str
    notes: list[Document]  # newest first
    label: str | tuple[str, ...]


def _where(doc: Document) -> tuple[str, int | None]:
    return str(doc.meta.get("source", "?")), doc.meta.get("line")


def _note_label(doc: Document, section: LabelSection) -> str | tuple[str, ...]:
    label = doc.label
    if label is None:
        path, line = _where(doc)
        raise InputError(path, f"note {doc.id!r} has no label (label field empty or missing)", line=line)
    if isinstance(label, list):
        return tuple(sorted(set(label)))
    if section.kind == "multilabel" or (section.multilabel_separator in label and section.kind == "auto"):
        return tuple(sorted({part.strip() for part in label.split(section.multilabel_separator) if part.strip()}))
    return label.strip()


def _read_folders(root: Path, data: ScreeningDataSection) -> list[Document]:
    """`root/<label>/<note>.txt`: the folder names the label; `<patient>__<note>.txt` names the patient."""
    if not root.is_dir():
        raise InputError(root, "format 'folders' needs a folder holding one sub-folder per label")
    docs = []
    for label_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        for path in sorted(label_dir.rglob("*.txt")):
            try:
                text = path.read_text(encoding="utf-8").lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                raise InputError(path, f"not UTF-8 text ({exc.reason})", offset=exc.start) from None
            patient = path.stem.split("__", 1)[0]
            doc_id = str(path.relative_to(root).with_suffix(""))
            docs.append(
                Document(doc_id, text, data.lang, label=label_dir.name, group=patient, meta={"source": str(path)})
            )
    if not docs:
        raise InputError(root, "no <label>/*.txt notes found under this folder")
    return docs


def read_notes(path: str | Path, data: ScreeningDataSection) -> list[Document]:
    """Every note of one split, text checked, with `group` = patient id and `meta["date"]` where given."""
    path = Path(path)
    if data.format == "folders":
        docs = _read_folders(path, data)
    else:
        fmt = "auto" if data.format == "auto" else data.format
        docs = list(
            read_documents(
                path,
                fmt,
                text_field=data.text_field,
                id_field=data.id_field,
                label_field=data.label_field,
                group_field=data.patient_field,
                lang=data.lang,
            )
        )
    if not docs:
        raise InputError(path, "holds no notes")
    for doc in docs:
        if not doc.text.strip():
            where, line = _where(doc)
            raise InputError(where, f"note {doc.id!r} is empty", line=line)
    return docs


def _date_key(doc: Document, date_field: str | None) -> str:
    value = doc.meta.get(date_field) if date_field else None
    return str(value) if value is not None else ""


def group_patients(docs: Sequence[Document], config: ScreeningConfig) -> tuple[list[Patient], dict[str, int]]:
    """Notes → patients (first-seen order), notes newest-first; every note of a patient must carry its label."""
    counts = {"notes": len(docs), "notes_without_patient_id": 0, "notes_without_date": 0}
    by_patient: dict[str, list[Document]] = defaultdict(list)
    for doc in docs:
        if config.unit == "note":
            key = doc.id
        elif doc.group is None:
            counts["notes_without_patient_id"] += 1
            key = doc.id
        else:
            key = doc.group
        by_patient[key].append(doc)
        if config.data.date_field and _date_key(doc, config.data.date_field) == "":
            counts["notes_without_date"] += 1
    patients = []
    for pid, notes in by_patient.items():
        labels = {_note_label(n, config.labels) for n in notes}
        if len(labels) > 1:
            shown = ", ".join(
                f"{n.id} ({_where(n)[0]}:{_where(n)[1]}) → {_note_label(n, config.labels)!r}" for n in notes
            )
            raise InputError(
                _where(notes[0])[0],
                f"patient {pid!r} has notes with different labels ({shown}); screening labels are per patient — "
                "fix the data or set unit: note",
                line=_where(notes[0])[1],
            )
        # newest first: ISO dates sort as strings; undated notes go last, file order kept among equals
        ordered = sorted(notes, key=lambda n: _date_key(n, config.data.date_field), reverse=True)
        patients.append(Patient(pid, ordered, labels.pop()))
    counts["patients"] = len(patients)
    return patients, counts


def infer_label_space(patients: Sequence[Patient], section: LabelSection, source: str) -> LabelSpace:
    """The label set from train (or the config), and the task kind."""
    multi = any(isinstance(p.label, tuple) for p in patients)
    seen = sorted({x for p in patients for x in (p.label if isinstance(p.label, tuple) else (p.label,))})
    labels = list(section.labels) if section.labels else seen
    kind = section.kind
    if kind == "auto":
        kind = "multilabel" if multi else ("binary" if len(labels) <= 2 else "multiclass")
    if kind == "binary":
        if len(labels) != 2 and not (len(labels) == 1 and section.positive is None and labels[0] in POSITIVE_NAMES):
            if len(labels) == 1:
                raise InputError(source, f"train holds only the label {labels[0]!r}; a binary task needs both classes")
            raise ConfigError(f"binary screening needs two labels; train has {labels}. Set labels.kind: multiclass")
        positive = section.positive or next((x for x in labels if x.lower() in POSITIVE_NAMES), None)
        if positive is None or positive not in labels:
            raise ConfigError(f"which label is positive? set labels.positive to one of {labels}")
        negative = next(x for x in labels if x != positive)
        return LabelSpace("binary", (negative, positive))
    return LabelSpace(kind, tuple(labels))


def check_labels(patients: Sequence[Patient], space: LabelSpace) -> None:
    """Refuse labels outside the label set (dev/test labels the model never saw, or typos)."""
    known = set(space.labels)
    for patient in patients:
        values = patient.label if isinstance(patient.label, tuple) else (patient.label,)
        if space.kind != "multilabel" and isinstance(patient.label, tuple):
            path, line = _where(patient.notes[0])
            raise InputError(
                path, f"patient {patient.id!r} has several labels {values}; the task is {space.kind}", line=line
            )
        unknown = [v for v in values if v not in known]
        if unknown:
            path, line = _where(patient.notes[0])
            raise InputError(
                path,
                f"patient {patient.id!r}: unknown label {unknown[0]!r}; known labels: {list(space.labels)}",
                line=line,
            )


def check_no_leak(splits: dict[str, list[Patient]]) -> None:
    """A patient in two splits makes the test score a memory test: refuse, naming both splits and the file."""
    seen: dict[str, str] = {}
    for split, patients in splits.items():
        for patient in patients:
            if seen.setdefault(patient.id, split) != split:
                path, line = _where(patient.notes[0])
                raise InputError(
                    path,
                    f"patient {patient.id!r} is in both {seen[patient.id]} and {split}: a patient-grouped split must "
                    "keep all of a patient's notes in one split",
                    line=line,
                )


def shared_note_texts(splits: dict[str, list[Patient]]) -> int:
    """Notes whose exact text also occurs in another split (copied letters, templates): counted, not refused,
    because short boilerplate notes legitimately repeat across patients."""
    owner: dict[str, str] = {}
    shared = 0
    for split, patients in splits.items():
        for note in (n for p in patients for n in p.notes):
            shared += owner.setdefault(note.text, split) != split
    return shared


def grouped_split(
    patients: Sequence[Patient], fractions: Sequence[float], seed: int, space: LabelSpace
) -> dict[str, list[Patient]]:
    """Stratified, patient-grouped split: within each label stratum patients are ordered by
    sha256(f"{seed}:{patient id}") and cut at round(n·f_train), round(n·f_dev); rebuildable from the seed alone."""
    total = sum(fractions)
    f_train, f_dev = fractions[0] / total, fractions[1] / total
    strata: dict[str, list[Patient]] = defaultdict(list)
    for patient in patients:
        key = "|".join(patient.label) if isinstance(patient.label, tuple) else patient.label
        strata[key].append(patient)
    parts: dict[str, list[Patient]] = {s: [] for s in SPLITS}
    for key in sorted(strata):
        ordered = sorted(strata[key], key=lambda p: hashlib.sha256(f"{seed}:{p.id}".encode()).hexdigest())
        n = len(ordered)
        n_train = round(n * f_train)
        n_dev = min(round(n * f_dev), n - n_train)
        parts["train"] += ordered[:n_train]
        parts["dev"] += ordered[n_train : n_train + n_dev]
        parts["test"] += ordered[n_train + n_dev :]
    order = {p.id: i for i, p in enumerate(patients)}
    return {s: sorted(ps, key=lambda p: order[p.id]) for s, ps in parts.items()}


def downsample(patients: Sequence[Patient], space: LabelSpace, ratio: float, seed: int) -> list[Patient]:
    """Keep every positive patient and about `ratio` negatives per positive (the paper's 1:1 baseline)."""
    if space.kind != "binary":
        raise ConfigError("imbalance.downsample_ratio applies to binary screening only")
    positives = [p for p in patients if p.label == space.positive]
    negatives = [p for p in patients if p.label != space.positive]
    keep = min(len(negatives), math.ceil(ratio * len(positives)))
    kept = set(id(p) for p in random.Random(seed).sample(negatives, keep))
    return [p for p in patients if p.label == space.positive or id(p) in kept]


def label_counts(patients: Iterable[Patient]) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for patient in patients:
        for value in patient.label if isinstance(patient.label, tuple) else (patient.label,):
            counts[value] += 1
    return dict(sorted(counts.items()))


def load_splits(config: ScreeningConfig) -> tuple[dict[str, list[Patient]], LabelSpace, dict[str, Any]]:
    """Read train/dev/test, build patients, infer and check labels, split when asked, refuse leaks."""
    data = config.data
    report: dict[str, Any] = {}
    splits: dict[str, list[Patient]] = {}
    for split in SPLITS:
        path = getattr(data, split)
        if path:
            patients, counts = group_patients(read_notes(path, data), config)
            splits[split] = patients
            report[split] = counts | {"source": str(path)}
    space = infer_label_space(splits["train"], config.labels, str(data.train))
    if data.split is not None:
        missing = [s for s in ("dev", "test") if s not in splits]
        if not missing:
            raise ConfigError("data.split is set but dev and test files are both given; remove one or the other")
        parts = grouped_split(splits["train"], data.split, data.split_seed, space)
        splits["train"] = parts["train"]
        for split in missing:
            splits[split] = parts[split]
            report[split] = {"source": f"split of {data.train} (seed {data.split_seed})", "patients": len(parts[split])}
        report["train"]["patients_after_split"] = len(parts["train"])
    for split, patients in splits.items():
        check_labels(patients, space)
        report[split]["labels"] = label_counts(patients)
    check_no_leak(splits)
    report["notes_with_text_in_another_split"] = shared_note_texts(splits)
    return splits, space, report
