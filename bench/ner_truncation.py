"""Benchmark: what truncation costs the Hugging Face `run_ner.py` path on document-level clinical NER, measured
entity by entity, against medadapt's overlapping windows.

Why a measurement without training: truncation removes gold entities from what a model sees and predicts, and no
model can recover them. If a fraction k of the gold entities lies inside the first `max_length` tokens, a run_ner
model has recall at most k, so its strict F1 is at most 2k / (1 + k) (a perfect model on the kept part); a model
with precision P and recall R on the kept part scores 2·P·R·k / (P + R·k) on the whole document. That bound holds
for every model and seed, so it needs no GPU and no training budget.

- HF side: run_ner tokenizes each example with `truncation=True, max_length=L` (L - 2 content tokens for BERT's
  [CLS]/[SEP]); words past the cut get no prediction. An entity is kept when it ends at or before the last
  character of the last kept token.
- medadapt side: `encode_document` windows of L tokens with stride L/4 (the task's defaults scaled); an entity is
  kept when one window holds it whole. Entities whose tags cannot give back their exact span (`EncodeReport`'s
  not-aligned ones) count as lost on both sides.
- Data (read in place): CT-EBM-SP (dev, via configs/ner/ct-ebm-sp-umls.yaml: the study's four UMLS groups),
  PharmaCoNER (the BRAT dev documents), MEDDOCAN (test documents, de-identification); all whole documents, as a
  user converting BRAT for run_ner gets them (splitting into sentences avoids truncation but needs a sentence
  splitter and loses cross-sentence context; the sentence-level CoNLL numbers are in BENCHMARKS.md).

    .venv/bin/python bench/ner_truncation.py                          # tokenizer: bench/out/e5-small
    .venv/bin/python bench/ner_truncation.py --lengths 128,256,512 --json bench/out/ner-truncation.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"


def corpora(data: Path) -> dict[str, Any]:
    """name → loader returning resolved gold documents (contiguous, disjoint spans, as both sides train on)."""
    from medadapt.config import load_config
    from medadapt.io.read import read_documents
    from medadapt.tasks.ner.config import NerConfig
    from medadapt.tasks.ner.data import DataReport, load_split
    from medadapt.tasks.ner.span_policy import resolve_document

    def ct_ebm_sp() -> list[Any]:
        config = load_config(
            NerConfig, ROOT / "configs" / "ner" / "ct-ebm-sp-umls.yaml", [f"data.dev={data}/es/ct-ebm-sp/brat/dev"]
        )
        return load_split(config, "dev", DataReport())[1]

    def brat(folder: Path) -> list[Any]:
        return [resolve_document(d) for d in read_documents(folder, "brat", lang="es")]

    return {
        "CT-EBM-SP dev (UMLS groups)": ct_ebm_sp,
        "PharmaCoNER dev (BRAT)": lambda: brat(data / "es" / "pharmaconer" / "brat-dev"),
        "MEDDOCAN test": lambda: brat(data / "es" / "meddocan" / "test"),
    }


def hf_kept(doc: Any, tokenized: Any, max_length: int, unlabelable: set[Any]) -> tuple[int, bool]:
    """(gold entities inside run_ner's truncated input, whether the document was truncated at all)."""
    capacity = max_length - len(tokenized.prefix) - len(tokenized.suffix)
    cut = tokenized.offsets[capacity - 1][1] if len(tokenized.ids) > capacity else len(doc.text)
    kept = sum(1 for span in doc.spans if span.end <= cut and (doc.id, span) not in unlabelable)
    return kept, len(tokenized.ids) > capacity


def windows_kept(doc: Any, windows: list[Any], unlabelable: set[Any]) -> int:
    """Gold entities that some window holds whole (so the window can predict them end to end)."""
    covered = [
        (min(a for a, b in w.offsets if b > a), max(b for a, b in w.offsets if b > a))
        for w in windows
        if any(b > a for a, b in w.offsets)
    ]
    return sum(
        1
        for span in doc.spans
        if (doc.id, span) not in unlabelable and any(lo <= span.start and span.end <= hi for lo, hi in covered)
    )


def f1_ceiling(kept_fraction: float) -> float:
    """Strict F1 of a model perfect on what it sees, when only `kept_fraction` of the gold can be seen."""
    return 2 * kept_fraction / (1 + kept_fraction) if kept_fraction else 0.0


def measure(name: str, docs: list[Any], tokenizer: Any, lengths: list[int]) -> list[dict[str, Any]]:
    from medadapt.tasks.ner.encoding import EncodeReport, encode_document
    from medadapt.tasks.ner.tags import LabelMap
    from medadapt.tasks.windows import tokenize

    label_map = LabelMap.from_documents(docs)
    tokenized = [tokenize(d.text, tokenizer) for d in docs]
    entities = sum(len(d.spans) for d in docs)
    # Entities the tags cannot reproduce exactly (a gold edge inside a word: expanded, or lost where two share a
    # word) are strict misses on both sides alike (run_ner labels whole words, so it has at least these), so
    # neither side's ceiling counts them.
    aligned = EncodeReport()
    for d in docs:
        encode_document(d, tokenizer, label_map, lengths[0], lengths[0] // 4, report=aligned)
    unlabelable = {(item.doc_id, item.gold) for item in aligned.not_aligned if item.recovered != item.gold}
    rows = []
    for length in lengths:
        hf = [hf_kept(d, t, length, unlabelable) for d, t in zip(docs, tokenized, strict=True)]
        report = EncodeReport()
        in_window = sum(
            windows_kept(d, encode_document(d, tokenizer, label_map, length, length // 4, report=report), unlabelable)
            for d in docs
        )
        k_hf, k_medadapt = sum(k for k, _ in hf) / entities, in_window / entities
        rows.append(
            {
                "corpus": name,
                "max_length": length,
                "documents": len(docs),
                "tokens_per_document": round(sum(len(t.ids) for t in tokenized) / len(docs), 1),
                "documents_truncated": sum(1 for _, cut in hf if cut),
                "entities": entities,
                "hf_entities_kept": sum(k for k, _ in hf),
                "hf_f1_ceiling": f1_ceiling(k_hf),
                "medadapt_windows": report.windows,
                "medadapt_entities_in_a_window": in_window,
                "unlabelable_entities": len(unlabelable),
                "medadapt_f1_ceiling": f1_ceiling(k_medadapt),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "bench" / "out" / "e5-small"), help="tokenizer folder")
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--lengths", default="128,512", help="max_length values, comma-separated")
    parser.add_argument("--json", help="write the rows here")
    args = parser.parse_args()
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(args.model)
    lengths = [int(x) for x in args.lengths.split(",")]
    rows: list[dict[str, Any]] = []
    for name, load in corpora(Path(args.data)).items():
        start = time.perf_counter()
        rows += measure(name, load(), tokenizer, lengths)
        print(f"{name}: {time.perf_counter() - start:.1f} s", flush=True)
    print()
    print(
        "| corpus | max_length | documents (truncated) | tokens/doc | gold entities | HF kept | HF F1 ceiling "
        "| medadapt windows | medadapt kept | unlabelable (both) | medadapt F1 ceiling | ratio HF / medadapt |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['corpus']} | {r['max_length']} | {r['documents']} ({r['documents_truncated']}) "
            f"| {r['tokens_per_document']} | {r['entities']} | {r['hf_entities_kept']} "
            f"({r['hf_entities_kept'] / r['entities']:.1%}) | {r['hf_f1_ceiling']:.3f} | {r['medadapt_windows']} "
            f"| {r['medadapt_entities_in_a_window']} | {r['unlabelable_entities']} "
            f"| {r['medadapt_f1_ceiling']:.3f} | {r['hf_f1_ceiling'] / r['medadapt_f1_ceiling']:.2f} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
