"""Deterministic train/dev/test splits for NER corpora that ship without one (MoNERo, in-house annotations).

The rule, exactly (so a split can be rebuilt from the seed alone, on any machine and Python version):

1. Units. Each input file is read on its own. With `unit="sentence"` (CoNLL only) every sentence is a unit
   (`read_conll(..., sentences_as_documents=True)`); with `unit="document"` every document is a unit (a
   `-DOCSTART-` block of a CoNLL file, or a `.txt`/`.ann` pair of a BRAT folder).
2. Order. Within a file, unit `i` (0-based position in the file) gets the key
   `sha256(f"{seed}:{i}".encode()).hexdigest()`; units are sorted by key (ties cannot happen in practice; the
   index breaks them).
3. Cut. With `n` units in the file and fractions `(f_train, f_dev, f_test)` (normalised to sum to 1), the first
   `round(n * f_train)` units of that order are train, the next `round(n * f_dev)` dev, the rest test.
4. Several input files are split separately and the parts concatenated (in input order, each part in original
   unit order), so passing MoNERo's three sub-domain files (cardiology, diabetes, endocrinology) gives a split
   stratified by sub-domain; passing `MoNERo.txt` (their concatenation) gives one unstratified split.

Every unit lands in exactly one part; the parts are written in their original order. CoNLL output is
`token<TAB>IOB2-tag` with one `-DOCSTART-` per unit (extra columns such as MoNERo's lemma and POS are not
written, so read the output with the default label column); BRAT output is one folder per part.
`split_report.json` records the rule, the seed, the fractions and per part the units and entities per type.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medadapt.documents import Document
from medadapt.errors import ConfigError
from medadapt.io import detect_format, expand_inputs, read_documents, write_documents

PARTS = ("train", "dev", "test")


def parse_fractions(text: str | Sequence[float]) -> tuple[float, float, float]:
    """ "0.8,0.1,0.1" (or a sequence) → three non-negative fractions normalised to sum to 1."""
    values = [float(v) for v in text.split(",")] if isinstance(text, str) else [float(v) for v in text]
    if len(values) != 3 or any(v < 0 for v in values) or sum(values) <= 0:
        raise ConfigError(f"fractions must be three non-negative numbers for train,dev,test; got {text!r}")
    total = sum(values)
    return values[0] / total, values[1] / total, values[2] / total


def split_indices(n: int, fractions: Sequence[float], seed: int) -> tuple[list[int], list[int], list[int]]:
    """Indices 0..n-1 assigned to (train, dev, test) by the hash-rank rule of the module doc, each sorted."""
    f_train, f_dev, _ = parse_fractions(fractions)
    order = sorted(range(n), key=lambda i: (hashlib.sha256(f"{seed}:{i}".encode()).hexdigest(), i))
    n_train = round(n * f_train)
    n_dev = min(round(n * f_dev), n - n_train)
    return sorted(order[:n_train]), sorted(order[n_train : n_train + n_dev]), sorted(order[n_train + n_dev :])


@dataclass
class SplitResult:
    parts: dict[str, list[Document]] = field(default_factory=lambda: {p: [] for p in PARTS})
    files: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for part, docs in self.parts.items():
            types = Counter(s.label for d in docs for s in d.spans)
            out[part] = {"units": len(docs), "entities": sum(types.values()), "by_type": dict(sorted(types.items()))}
        return out


def split_documents(
    inputs: Sequence[str | Path],
    *,
    fractions: Sequence[float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    fmt: str = "auto",
    label_column: int | None = None,
    unit: str = "sentence",
    lang: str | None = None,
) -> SplitResult:
    """Read every input file and split its units (see module doc); nothing is dropped."""
    if unit not in ("sentence", "document"):
        raise ConfigError(f"unit must be 'sentence' or 'document'; got {unit!r}")
    fractions = parse_fractions(fractions)
    result = SplitResult()
    groups: list[Path] = []
    for item in inputs:
        path = Path(item)
        # a BRAT folder is one group of documents; files of other formats are split one by one
        if path.is_dir() and (fmt == "brat" or any(p.suffix == ".ann" for p in path.iterdir())):
            groups.append(path)
        else:
            groups.extend(expand_inputs([path]))
    for path in groups:
        file_fmt = "brat" if path.is_dir() else (detect_format(path) if fmt == "auto" else fmt)
        if unit == "sentence" and file_fmt != "conll":
            raise ConfigError(f"{path}: --unit sentence needs CoNLL input (read as {file_fmt}); use --unit document")
        docs = list(
            read_documents(
                path,
                file_fmt,
                label_column=label_column,
                lang=lang,
                sentences_as_documents=unit == "sentence",
            )
        )
        for part, indices in zip(PARTS, split_indices(len(docs), fractions, seed), strict=True):
            result.parts[part].extend(docs[i] for i in indices)
        result.files.append(str(path))
    return result


def output_format(result: SplitResult, fmt: str) -> str:
    if fmt != "auto":
        return fmt
    first = Path(result.files[0]) if result.files else None
    return "brat" if first is not None and first.is_dir() else "conll"


def write_split(
    result: SplitResult, out_dir: str | Path, fmt: str, *, seed: int, fractions: Sequence[float], unit: str
) -> dict[str, Any]:
    """Write train/dev/test (`<part>.conll` files or `<part>/` BRAT folders) and split_report.json."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, str] = {}
    for part, docs in result.parts.items():
        if fmt == "brat":
            target = out / part
            write_documents(docs, target, "brat")
        elif fmt == "conll":
            target = out / f"{part}.conll"
            write_documents(docs, target, "conll", docstart=True)
        else:
            target = out / f"{part}.jsonl"
            write_documents(docs, target, "jsonl")
        written[part] = str(target)
    report = {
        "rule": "per input file: sort unit indices i by sha256(f'{seed}:{i}'), cut at round(n*f_train), "
        "round(n*f_dev); see medadapt.tasks.ner.splits",
        "seed": seed,
        "fractions": list(parse_fractions(fractions)),
        "unit": unit,
        "inputs": result.files,
        "outputs": written,
        "parts": result.counts(),
    }
    (out / "split_report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    return report
