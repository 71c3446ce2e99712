"""Build statistics: what every step removed, what was kept, fertility, most split words; JSON + Markdown.

Why a bounded counter for split words: a corpus has a long tail of rare words, and an exact counter grows with the
vocabulary of the corpus (millions of entries for clinical text with codes, dates and typos). `BoundedCounter`
keeps at most `2 × capacity` entries; when it overflows it keeps the `capacity` most frequent (a "lossy
counting" prune). Words that are frequent overall are frequent early and survive every prune, so the top-50 list is
exact in practice; a pruned word's count restarts from zero, so reported counts are lower bounds.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping
from pathlib import Path
from typing import Any


class BoundedCounter:
    """A Counter that never holds more than `2 * capacity` keys (see module docstring).

    `payload` maps a key to something worth keeping with it (here: a word's token ids); it is pruned together
    with the counts, and only set for keys not seen before.
    """

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self.counts: Counter[Hashable] = Counter()
        self.payload: dict[Hashable, Any] = {}
        self.prunes = 0

    def update(self, items: Mapping[Hashable, int] | Iterable[Hashable], payload: Mapping[Hashable, Any] = {}) -> None:
        self.counts.update(items)
        for key, value in payload.items():
            if key not in self.payload:
                self.payload[key] = value
        if len(self.counts) > 2 * self.capacity:
            self.counts = Counter(dict(self.counts.most_common(self.capacity)))
            self.payload = {k: self.payload[k] for k in self.counts if k in self.payload}
            self.prunes += 1

    def most_common(self, n: int) -> list[tuple[Hashable, int]]:
        return self.counts.most_common(n)


def fertility_table(per_lang: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, float | int]]:
    """tokens / words per language (words = the tokenizer's pre-tokenized words, i.e. punctuation apart)."""
    out: dict[str, dict[str, float | int]] = {}
    for lang, c in sorted(per_lang.items()):
        words, tokens = c.get("words", 0), c.get("tokens", 0)
        out[lang] = {
            "documents": c.get("documents", 0),
            "words": words,
            "tokens": tokens,
            "fertility": round(tokens / words, 4) if words else 0.0,
        }
    return out


def removal_rows(stats: Mapping[str, Any]) -> list[tuple[str, int]]:
    """(step, documents) in pipeline order, for both the rich table and stats.md."""
    docs = stats["documents"]
    rows = [("read", docs["read"]), ("bad input skipped", docs["bad_input_skipped"])]
    for step, label in [
        ("empty", "empty after cleaning"),
        ("too_short", "too short"),
        ("too_long", "too long"),
        ("language", "other language"),
    ]:
        rows.append((label, docs["removed"].get(step, 0)))
    rows.append(("contamination (any exclude source)", stats["contamination"]["total_removed"]))
    for source, info in stats["contamination"]["sources"].items():
        # A document copied in two evaluation sets counts under both, so these rows may sum to more.
        rows.append((f"  matches {source}", info["removed"]))
    rows.append(("exact duplicate", docs["removed"].get("exact_duplicate", 0)))
    rows.append(("near duplicate", docs["removed"].get("near_duplicate", 0)))
    rows.append(("empty after de-identification", docs["removed"].get("deid_empty", 0)))
    rows.append(("kept", docs["kept"]))
    return rows


def to_markdown(stats: Mapping[str, Any]) -> str:
    """stats.md: the same numbers as stats.json, for people."""
    lines = ["# Corpus build statistics", "", "| step | documents |", "|---|---:|"]
    lines += [f"| {step} | {n:,} |" for step, n in removal_rows(stats)]
    t = stats["totals"]
    lines += [
        "",
        "| split | documents | blocks | tokens (non-pad) |",
        "|---|---:|---:|---:|",
    ]
    for split, s in stats["splits"].items():
        lines.append(f"| {split} | {s['documents']:,} | {s['n_blocks']:,} | {s['n_tokens']:,} |")
    lines += [
        "",
        f"Words: {t['words']:,} · document tokens: {t['tokens']:,} · blocks: {t['blocks']:,} "
        f"· block size: {stats['block_size']}",
        "",
        "## Fertility (tokens per word) by language",
        "",
        "| language | documents | words | tokens | fertility |",
        "|---|---:|---:|---:|---:|",
    ]
    for lang, f in stats["fertility"].items():
        lines.append(f"| {lang} | {f['documents']:,} | {f['words']:,} | {f['tokens']:,} | {f['fertility']:.3f} |")
    lines += ["", "## Most frequent words split into ≥ 2 pieces", "", "| word | count | pieces |", "|---|---:|---:|"]
    lines += [
        f"| {w['word'].replace('|', chr(92) + '|')} | {w['count']:,} | {w['pieces']} |"
        for w in stats["split_words"]["top"]
    ]
    cont = stats["contamination"]
    if cont["sources"]:
        lines += ["", "## Contamination guard", "", "| exclude source | documents | removed |", "|---|---:|---:|"]
        lines += [f"| {s} | {i['documents']:,} | {i['removed']:,} |" for s, i in cont["sources"].items()]
    lines += ["", f"Dedup index memory: {stats['dedup']['index_bytes_per_kept_doc']:.1f} bytes per kept document", ""]
    return "\n".join(lines)


def write_stats(out_dir: Path, stats: Mapping[str, Any]) -> None:
    (out_dir / "stats.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / "stats.md").write_text(to_markdown(stats), encoding="utf-8")
