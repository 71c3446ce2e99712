"""`build_corpus`: the streaming pipeline reader → clean → filter → dedup → de-id → tokenize → pack → shards.

Why one generator chain: every stage holds one document (or one batch of about `batch_chars` characters) at a
time, so memory stays flat whatever the corpus size; only the dedup indexes grow, with the number of *kept*
documents (bytes per document are reported in stats.json). Tokenization runs either in-process with the Rust
tokenizer's own threads (`workers: 0`) or in `workers` spawned processes fed through a bounded, ordered window
of batches (so output order, and hence the corpus, is identical whatever the worker count, and the reader is
never more than a few batches ahead). Everything removed is counted per step; contamination removals are listed
by id (never text). Shards are written into `OUT/.tmp-build/` and moved in place only when the build succeeded,
so a rebuild that fails (bad input, Ctrl-C, no blocks) leaves the previous corpus in OUT intact. The manifest is
written last, so a folder without one is an interrupted build. A build that produces no training blocks is an
error (`EmptyCorpusError`, with the per-step counts) unless `allow_empty`.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from medadapt import __version__
from medadapt.config import file_sha256, write_resolved_config
from medadapt.corpus.clean import CleanStats, clean_text, length_reason
from medadapt.corpus.config import CorpusBuildConfig
from medadapt.corpus.contamination import ContaminationIndex
from medadapt.corpus.dedup import ExactDeduper, MinHasher, NearDeduper, text_hash
from medadapt.corpus.deid import apply_hook, load_hook
from medadapt.corpus.encode_pool import batches, run_batches, worker_pool
from medadapt.corpus.langfilter import LanguageFilter
from medadapt.corpus.pack import Packer
from medadapt.corpus.shards import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    SPLITS,
    STAGING_NAME,
    ShardWriter,
    token_dtype,
    vocab_hash,
)
from medadapt.corpus.stats import BoundedCounter, fertility_table, removal_rows, write_stats
from medadapt.corpus.tokenize import BatchEncoder, EncodedBatch
from medadapt.documents import Document
from medadapt.errors import ConfigError, MedadaptError, ModelLoadError
from medadapt.io import BadInputReport, expand_inputs, read_documents
from medadapt.io.inputs import FORMAT_EXTENSIONS
from medadapt.loading import load_tokenizer
from medadapt.progress import console, make_progress


class EmptyCorpusError(MedadaptError):
    """The build produced no training blocks: a corpus nothing can be pre-trained on."""


def special_ids(tokenizer: Any) -> dict[str, int]:
    """cls/sep (BERT) or bos/eos (RoBERTa-style) and pad; the separator between documents is `sep`."""
    cls = tokenizer.cls_token_id if tokenizer.cls_token_id is not None else tokenizer.bos_token_id
    sep = tokenizer.sep_token_id if tokenizer.sep_token_id is not None else tokenizer.eos_token_id
    if cls is None or sep is None:
        raise ModelLoadError(
            f"tokenizer {tokenizer.name_or_path!r} has neither cls/sep nor bos/eos tokens; blocks need both"
        )
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else sep
    ids = {"cls": int(cls), "sep": int(sep), "pad": int(pad)}
    for name in ("mask", "unk"):
        value = getattr(tokenizer, f"{name}_token_id", None)
        if value is not None:
            ids[name] = int(value)
    return ids


@dataclass
class _Kept:
    """A document that survived every filter, waiting for its tokenization batch."""

    text: str
    lang: str
    split: str


@dataclass
class _Counts:
    read: int = 0
    removed: Counter[str] = field(default_factory=Counter)
    contamination: dict[str, list[dict[str, str]]] = field(default_factory=lambda: defaultdict(list))
    per_split: Counter[str] = field(default_factory=Counter)


def _require(cfg: CorpusBuildConfig) -> tuple[list[str], str, Path]:
    missing = [name for name in ("inputs", "tokenizer", "out") if not getattr(cfg, name)]
    if missing:
        raise ConfigError(
            f"corpus build needs {', '.join(missing)} (give INPUT paths, --tokenizer and --out, or set them "
            "in the config file)"
        )
    return cfg.inputs, str(cfg.tokenizer), Path(str(cfg.out))


def _validation_split(seed: int, fraction: float) -> Callable[[str], str]:
    """Split by a hash of (seed, doc id): stable per document, so adding data never reshuffles old ones."""
    bound = int(fraction * (1 << 64))

    def split(doc_id: str) -> str:
        return "validation" if xxhash.xxh64_intdigest(f"{seed}\x00{doc_id}".encode()) < bound else "train"

    return split


def _warn_block_size(block_size: int, tokenizer: Any) -> None:
    """Blocks longer than the tokenizer's model_max_length usually exceed the model's positions too.

    Only a warning: the tokenizer's limit is a hint (some tokenizers state none), the model's is checked by
    `medadapt pretrain` before it starts. Saying it now saves building a corpus no matching model can read.
    """
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and limit < 1_000_000 and block_size > limit:  # 1e30 means: no limit stated
        console.print(
            f"[yellow]warning: block size {block_size} is above the tokenizer's model_max_length {limit}; "
            f"models that use this tokenizer usually take at most {limit} tokens (pre-training will refuse "
            "such a model)[/]",
            highlight=False,
        )


def _shard_files(folder: Path) -> list[Path]:
    return [path for split in SPLITS for path in sorted(folder.glob(f"{split}-[0-9][0-9][0-9][0-9][0-9].*.npy"))]


def _remove_stale(out: Path) -> None:
    """Delete shards/manifest of a previous build in `out` (only files matching our own names)."""
    (out / MANIFEST_NAME).unlink(missing_ok=True)  # first: the folder stops claiming to be a corpus
    for path in _shard_files(out):
        path.unlink()
    for name in ("stats.json", "stats.md"):
        (out / name).unlink(missing_ok=True)


def _publish(staging: Path, out: Path) -> None:
    """Replace the previous build's shards in `out` by the staged ones (same file system: renames)."""
    _remove_stale(out)
    for path in _shard_files(staging):
        os.replace(path, out / path.name)


def empty_corpus_problem(stats: dict[str, Any]) -> str | None:
    """Why the build has no training blocks, with the per-step document counts; None when it has some."""
    if stats["splits"]["train"]["n_blocks"]:
        return None
    counts = ", ".join(
        f"{step} {n:,}"
        for step, n in removal_rows(stats)
        if not step.startswith(" ") and (n or step in ("read", "kept"))
    )
    if stats["totals"]["blocks"]:
        validation = stats["splits"]["validation"]["documents"]
        return (
            f"no training blocks were produced: all {validation:,} kept documents went to the validation split "
            f"({counts}); lower --val-fraction"
        )
    return f"no blocks were produced ({counts})"


def build_corpus(config: CorpusBuildConfig, *, show_progress: bool = True, allow_empty: bool = False) -> dict[str, Any]:
    """Build the packed MLM corpus described by `config`; returns the statistics also written to stats.json.

    `allow_empty`: write a corpus without training blocks instead of raising `EmptyCorpusError`.
    """
    cfg = config
    inputs, tokenizer_name, out = _require(cfg)
    # Cheap checks first: a typo in an input path or hook must not wait for a tokenizer download attempt.
    input_files = expand_inputs(inputs, extensions=set(FORMAT_EXTENSIONS.get(cfg.format, FORMAT_EXTENSIONS["auto"])))
    for source in cfg.exclude:
        expand_inputs([source])
    hook = load_hook(cfg.deid) if cfg.deid else None
    tokenizer = load_tokenizer(tokenizer_name)
    ids = special_ids(tokenizer)
    _warn_block_size(cfg.block_size, tokenizer)
    lang_filter = LanguageFilter(cfg.languages, cfg.language_min_confidence) if cfg.languages else None
    setup = _Setup(inputs, out, input_files, hook, tokenizer, ids, lang_filter)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = out / STAGING_NAME
    shutil.rmtree(staging, ignore_errors=True)  # what a killed build left
    staging.mkdir()
    try:
        return _build(cfg, setup, staging, show_progress=show_progress, allow_empty=allow_empty)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if created and not any(out.iterdir()):  # a failed first build leaves no empty folder behind
            out.rmdir()


@dataclass
class _Setup:
    """What the cheap up-front checks produced, for the pipeline proper."""

    inputs: list[str]
    out: Path
    input_files: list[Path]
    hook: Any
    tokenizer: Any
    ids: dict[str, int]
    lang_filter: LanguageFilter | None


def _build(
    cfg: CorpusBuildConfig, setup: _Setup, staging: Path, *, show_progress: bool, allow_empty: bool
) -> dict[str, Any]:
    """The pipeline proper, writing shards into `staging`; `out` is touched only once the build succeeded."""
    report = BadInputReport()
    hasher = MinHasher(cfg.dedup.num_perm, cfg.dedup.shingle_words)
    guard = _contamination_guard(cfg, hasher, report)
    filters = _Filters(cfg, hasher, guard, setup.lang_filter, setup.hook)
    progress = make_progress(disable=not show_progress)
    read_task = progress.add_task("documents read", total=None)
    token_task = progress.add_task("tokens packed", total=None)

    def kept_documents() -> Iterator[_Kept]:
        for doc in _read_inputs(cfg, setup.inputs, report):
            filters.counts.read += 1
            progress.advance(read_task)
            kept = filters.keep(doc)
            if kept is not None:
                yield kept

    dtype = token_dtype(len(setup.tokenizer))
    packing = _Packing.start(cfg, staging, dtype, setup.ids, lambda n: progress.advance(token_task, n))
    tokenizer_json = setup.tokenizer.backend_tokenizer.to_str()
    encoder = BatchEncoder(tokenizer_json, split_words=cfg.top_split_words > 0, threads=cfg.workers == 0)
    # The pool is started before the progress bar's refresh thread, so forked workers copy no running thread.
    with worker_pool(cfg.workers, encoder) as pool, progress:
        run_batches(batches(kept_documents(), cfg.batch_chars), encoder, packing.consume, pool, cfg.workers)
    packing.finish()

    stats = _statistics(cfg, filters, report, packing, setup.tokenizer)
    _refuse_empty(stats, setup.out, allow_empty)
    manifest = _manifest(cfg, setup.tokenizer, setup.ids, dtype, packing.packers, filters.counts, setup.input_files)
    _publish(staging, setup.out)
    write_stats(setup.out, stats)
    write_resolved_config(setup.out, cfg, setup.input_files)
    (setup.out / MANIFEST_NAME).write_text(_json(manifest), encoding="utf-8")
    return stats


def _contamination_guard(cfg: CorpusBuildConfig, hasher: MinHasher, report: BadInputReport) -> ContaminationIndex:
    """The index of every `exclude` source's documents, read (and cleaned) before the corpus itself."""
    guard = ContaminationIndex(cfg.contamination, hasher)
    for source in cfg.exclude:
        docs = read_documents(source, skip_bad=cfg.skip_bad, report=report)
        guard.add_source(source, docs, clean=lambda t: clean_text(t, nfc=cfg.clean.nfc))
    return guard


def _read_inputs(cfg: CorpusBuildConfig, inputs: list[str], report: BadInputReport) -> Iterator[Document]:
    """The corpus documents as the config says to read them; bad input goes to `report` (with skip_bad)."""
    return read_documents(
        inputs,
        cfg.format,
        one_per_line=cfg.one_per_line,
        text_field=cfg.text_field,
        id_field=cfg.id_field,
        lang_field=cfg.lang_field,
        skip_bad=cfg.skip_bad,
        report=report,
    )


class _Filters:
    """The per-document steps between reader and tokenizer: clean → length → language → exact duplicate →
    contamination → near duplicate → de-id hook → split. Each removal is counted under its reason in `counts`.

    One method per document (`keep`), so the reader → tokenizer generator stays one loop. What the order means: a
    contaminated text never enters the near-dedup index (so it removes no later document as its near duplicate),
    and the de-id hook sees only documents every other step kept.
    """

    def __init__(
        self,
        cfg: CorpusBuildConfig,
        hasher: MinHasher,
        guard: ContaminationIndex,
        lang_filter: LanguageFilter | None,
        hook: Any,
    ) -> None:
        self.cfg, self.hasher, self.guard, self.lang_filter, self.hook = cfg, hasher, guard, lang_filter, hook
        self.exact = ExactDeduper() if cfg.dedup.exact else None
        self.near = NearDeduper(cfg.dedup.threshold, cfg.dedup.num_perm) if cfg.dedup.near else None
        self.split_of = _validation_split(cfg.seed, cfg.val_fraction)
        self.counts = _Counts()
        self.clean_stats = CleanStats()

    def keep(self, doc: Document) -> _Kept | None:
        """The document as it goes to the tokenizer, or None (counted) when a step removes it."""
        text = clean_text(doc.text, nfc=self.cfg.clean.nfc, stats=self.clean_stats)
        reason = length_reason(text, self.cfg.clean)
        if reason is not None:
            return self._remove(reason)
        lang = doc.lang
        if self.lang_filter is not None:
            lang = self.lang_filter.detect(text, doc.lang)
            if not self.lang_filter.keep(lang):
                return self._remove("language")
        reason = self._duplicate_or_contaminated(doc.id, text)
        if reason is not None:
            return self._remove(reason)
        if self.hook is not None:
            text = apply_hook(self.hook, text, lang, doc_id=doc.id, source=str(doc.meta.get("source", "?")))
            if not text.strip():
                return self._remove("deid_empty")
        split = self.split_of(doc.id)
        self.counts.per_split[split] += 1
        return _Kept(text, lang or "und", split)

    def _duplicate_or_contaminated(self, doc_id: str, text: str) -> str | None:
        """The removal reason from the dedup indexes and the contamination guard; a kept text enters the indexes.

        Hash and signature are computed only when some index needs them (the MinHash is the costly one).
        """
        h = text_hash(text) if (self.exact is not None or len(self.guard)) else 0
        if self.exact is not None and self.exact.seen(h):
            return "exact_duplicate"
        signature = self.hasher.signature(text) if (self.near is not None or len(self.guard)) else None
        matches = self.guard.match(text, h, signature)
        if matches:
            for m in matches:
                self.counts.contamination[m.source].append({"id": doc_id, "matched": m.matched_id, "method": m.method})
            return "contamination"
        if self.near is not None and signature is not None and self.near.check_and_add(signature):
            return "near_duplicate"
        return None

    def _remove(self, reason: str) -> None:
        self.counts.removed[reason] += 1


@dataclass
class _Packing:
    """The tokenizer's output side: one packer per split, and the per-language and split-word counts."""

    packers: dict[str, Packer]
    split_words: BoundedCounter
    advance: Callable[[int], None]  # the "tokens packed" progress
    per_lang: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    @classmethod
    def start(
        cls, cfg: CorpusBuildConfig, staging: Path, dtype: np.dtype, ids: dict[str, int], advance: Callable[[int], None]
    ) -> _Packing:
        """Packers writing shards of at most `shard_max_mb` into `staging`."""
        max_bytes = int(cfg.shard_max_mb * (1 << 20))
        packers = {
            split: Packer(
                ShardWriter(staging, split, cfg.block_size, dtype, max_bytes),
                cfg.block_size,
                ids["cls"],
                ids["sep"],
                ids["pad"],
                cross_doc=cfg.cross_doc_boundaries,
            )
            for split in SPLITS
        }
        return cls(packers, BoundedCounter(cfg.word_counter_capacity), advance)

    def consume(self, batch: list[_Kept], encoded: EncodedBatch) -> None:
        """Pack one tokenized batch, each document into its split's packer, and count its tokens and words."""
        splits = np.array([k.split for k in batch])
        for split, packer in self.packers.items():
            chosen = splits == split
            if not chosen.any():
                continue
            token_mask = np.repeat(chosen, encoded.doc_tokens)
            packer.add(encoded.ids[token_mask], encoded.word_starts[token_mask], encoded.doc_tokens[chosen])
        for k, n_tok, n_words in zip(batch, encoded.doc_tokens.tolist(), encoded.doc_words.tolist(), strict=True):
            c = self.per_lang[k.lang]
            c["documents"] += 1
            c["tokens"] += n_tok
            c["words"] += n_words
        self.split_words.update(encoded.split_words, encoded.split_pieces)
        self.advance(int(encoded.doc_tokens.sum()))

    def finish(self) -> None:
        for packer in self.packers.values():
            packer.finish()


def _refuse_empty(stats: dict[str, Any], out: Path, allow_empty: bool) -> None:
    """Raise `EmptyCorpusError` for a build without training blocks (unless allowed), before `out` is touched."""
    problem = empty_corpus_problem(stats)
    if problem is not None and not allow_empty:
        kept = f"{out} keeps its previous corpus" if (out / MANIFEST_NAME).is_file() else f"nothing written to {out}"
        raise EmptyCorpusError(f"{problem}; {kept} (pass --allow-empty to write an empty corpus anyway)")


def _statistics(
    cfg: CorpusBuildConfig, filters: _Filters, report: BadInputReport, packing: _Packing, tokenizer: Any
) -> dict[str, Any]:
    """stats.json: what was read, removed (per step) and kept, and what the kept documents became."""
    counts = filters.counts
    kept = sum(counts.per_split.values())
    splits = {}
    for split, packer in packing.packers.items():
        summary = packer.writer.summary()
        splits[split] = {
            "documents": counts.per_split.get(split, 0),
            "n_blocks": summary["n_blocks"],
            "n_tokens": summary["n_tokens"],
            "shards": len(summary["shards"]),
        }
    per_lang = packing.per_lang
    return {
        "documents": {
            "read": counts.read,
            "bad_input_skipped": report.count,
            "removed": dict(counts.removed),
            "kept": kept,
        },
        "bad_input": report.to_dict() | {"summary": report.summary()},
        "cleaning": filters.clean_stats.to_dict(),
        "contamination": _contamination_stats(cfg, counts, filters.guard),
        "dedup": _dedup_stats(filters.exact, filters.near, kept),
        "splits": splits,
        "totals": {
            "documents": kept,
            "words": sum(c["words"] for c in per_lang.values()),
            "tokens": sum(c["tokens"] for c in per_lang.values()),
            "blocks": sum(s["n_blocks"] for s in splits.values()),
            "block_tokens": sum(s["n_tokens"] for s in splits.values()),
        },
        "block_size": cfg.block_size,
        "fertility": fertility_table(per_lang),
        "split_words": _split_word_stats(packing.split_words, cfg.top_split_words, tokenizer),
    }


def _contamination_stats(cfg: CorpusBuildConfig, counts: _Counts, guard: ContaminationIndex) -> dict[str, Any]:
    """Removals per `exclude` source, by document id (never text)."""
    return {
        "total_removed": counts.removed.get("contamination", 0),
        "sources": {
            source: {
                "documents": guard.source_docs.get(source, 0),
                "removed": len(counts.contamination.get(source, [])),
                "removed_ids": counts.contamination.get(source, []),
            }
            for source in cfg.exclude
        },
    }


def _dedup_stats(exact: ExactDeduper | None, near: NearDeduper | None, kept: int) -> dict[str, Any]:
    """Index sizes: the only memory that grows with the corpus (with the number of kept documents)."""
    index_bytes = (exact.nbytes if exact else 0) + (near.nbytes if near else 0)
    return {
        "exact_index_entries": len(exact) if exact else 0,
        "near_index_entries": len(near) if near else 0,
        "near_bands_rows": [near.bands, near.rows] if near else None,
        "index_bytes": index_bytes,
        "index_bytes_per_kept_doc": index_bytes / kept if kept else 0.0,
    }


def _split_word_stats(split_words: BoundedCounter, top: int, tokenizer: Any) -> dict[str, Any]:
    """The words the tokenizer splits most often (decoded from their pieces), and whether the counts are exact."""
    return {
        "top": [
            {
                "word": tokenizer.decode(list(split_words.payload[key])).strip(),
                "count": n,
                "pieces": len(split_words.payload[key]),
            }
            for key, n in split_words.most_common(top)
        ],
        "counter_capacity": split_words.capacity,
        "counter_prunes": split_words.prunes,
        "exact": split_words.prunes == 0,
    }


def _manifest(
    cfg: CorpusBuildConfig,
    tokenizer: Any,
    ids: dict[str, int],
    dtype: np.dtype,
    packers: dict[str, Packer],
    counts: _Counts,
    input_files: list[Path],
) -> dict[str, Any]:
    splits = {}
    for split, packer in packers.items():
        splits[split] = packer.writer.summary() | {"documents": counts.per_split.get(split, 0)}
    return {
        "format_version": FORMAT_VERSION,
        "medadapt_version": __version__,
        "tokenizer": {
            "name_or_path": cfg.tokenizer,
            "class": type(tokenizer).__name__,
            "vocab_hash": vocab_hash(tokenizer.get_vocab()),
            "vocab_size": len(tokenizer),
            "special_ids": ids,
        },
        "block_size": cfg.block_size,
        "cross_doc_boundaries": cfg.cross_doc_boundaries,
        "separator_id": ids["sep"],
        "dtype": dtype.name,
        "word_starts_dtype": "uint8",
        "val_fraction": cfg.val_fraction,
        "seed": cfg.seed,
        "splits": splits,
        "totals": {
            "documents": sum(s["documents"] for s in splits.values()),
            "n_blocks": sum(s["n_blocks"] for s in splits.values()),
            "n_tokens": sum(s["n_tokens"] for s in splits.values()),
        },
        "inputs": {str(p): file_sha256(p) for p in input_files},
    }


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
