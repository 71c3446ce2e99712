"""Benchmark: `medadapt corpus build` vs the Hugging Face run_mlm.py way, same text, same tokenizer.

    .venv/bin/python bench/corpus_build.py [--sizes 1 10] [--base-mb N] [--workers 0] [--hf-num-proc 2]

Text: the real Spanish CodiEsp background notes (2,751 docs, 6.9 M chars), read in place from shared/data and
repeated to reach each size (each copy's ids and first line carry a copy marker, so exact dedup keeps them),
written as JSONL to a temp folder (never into the repo). Tokenizer: the real mBERT cased WordPiece vocabulary
(BertTokenizerFast from shared/data/vocab/mbert-cased-vocab.txt). Block size 512.

Each build runs in its own subprocess; the parent samples the RSS of the whole process tree every 20 ms (peak of
the sum, so pool workers count) and the wall time. Runs:
- medadapt (tokenize+pack): build_corpus with dedup off and no exclude sets — the like-for-like comparison;
- medadapt (full pipeline): dedup (exact + MinHash) on, at the smallest size only (copies are near-duplicates);
- HF run_mlm.py: load_dataset("json") → .map(tokenize_function, batched, num_proc) → .map(group_texts) →
  save_to_disk, with HF_DATASETS_CACHE in the temp folder.
tokens/s counts tokens written into blocks (medadapt: non-pad block tokens; HF: n_blocks × 512).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MEDADAPT_SHARED_DATA", ROOT.parent / "shared" / "data"))
BACKGROUND = SHARED / "es" / "codiesp" / "background" / "text_files"
VOCAB = SHARED / "vocab" / "mbert-cased-vocab.txt"
BLOCK = 512


def make_corpus(path: Path, copies: float) -> int:
    """JSONL with `copies` × the background notes (a fraction takes a prefix of the notes); returns chars."""
    notes = [(p.stem, p.read_text(encoding="utf-8")) for p in sorted(BACKGROUND.glob("*.txt"))]
    total = round(copies * len(notes))
    chars = 0
    with open(path, "w", encoding="utf-8") as out:
        for i in range(total):
            copy, (stem, text) = divmod(i, len(notes))[0], notes[i % len(notes)]
            text = f"Copia {copy}.\n{text}" if copy else text
            chars += len(text)
            out.write(json.dumps({"id": f"{stem}#{copy}", "text": text}, ensure_ascii=False) + "\n")
    return chars


def mbert_folder(tmp: Path) -> Path:
    from transformers import BertTokenizerFast

    folder = tmp / "mbert"
    if not folder.exists():
        BertTokenizerFast(vocab=str(VOCAB), do_lower_case=False).save_pretrained(str(folder))
    return folder


def run_medadapt(data: Path, out: Path, tokenizer: Path, workers: int, dedup: bool) -> dict:
    # Imports before the clock, as for the HF run (which imports datasets and transformers first).
    from transformers import AutoTokenizer  # noqa: F401

    from medadapt.corpus.build import build_corpus
    from medadapt.corpus.config import CorpusBuildConfig

    start = time.perf_counter()
    cfg = CorpusBuildConfig(
        inputs=[str(data)],
        tokenizer=str(tokenizer),
        out=str(out),
        block_size=BLOCK,
        workers=workers,
        dedup={"exact": dedup, "near": dedup},
    )
    stats = build_corpus(cfg, show_progress=False)
    return {
        "seconds": time.perf_counter() - start,
        "tokens": stats["totals"]["block_tokens"],
        "blocks": stats["totals"]["blocks"],
        "kept": stats["documents"]["kept"],
    }


def run_hf(data: Path, out: Path, tokenizer: Path, num_proc: int) -> dict:
    from itertools import chain

    from datasets import load_dataset
    from transformers import AutoTokenizer

    start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(str(tokenizer))
    raw = load_dataset("json", data_files=str(data), split="train")

    def tokenize_function(examples: dict) -> dict:  # run_mlm.py, line_by_line=False
        return tok(examples["text"], return_special_tokens_mask=True)

    tokenized = raw.map(tokenize_function, batched=True, num_proc=num_proc, remove_columns=raw.column_names)

    def group_texts(examples: dict) -> dict:  # run_mlm.py
        concatenated = {k: list(chain(*examples[k])) for k in examples}
        total_length = (len(concatenated["input_ids"]) // BLOCK) * BLOCK
        return {k: [t[i : i + BLOCK] for i in range(0, total_length, BLOCK)] for k, t in concatenated.items()}

    grouped = tokenized.map(group_texts, batched=True, num_proc=num_proc)
    grouped.save_to_disk(str(out))
    return {"seconds": time.perf_counter() - start, "tokens": len(grouped) * BLOCK, "blocks": len(grouped)}


def child(args: argparse.Namespace) -> None:
    data, out, tokenizer = Path(args.data), Path(args.out), Path(args.tokenizer)
    if args.child == "hf":
        result = run_hf(data, out, tokenizer, args.hf_num_proc)
    else:
        result = run_medadapt(data, out, tokenizer, args.workers, args.child == "medadapt-full")
    print("RESULT " + json.dumps(result))


def measure(cmd: list[str], env: dict[str, str]) -> tuple[dict, float, float]:
    """Run `cmd`, sampling the RSS sum of its process tree; returns (child result, wall s, peak MB)."""
    import psutil

    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    root = psutil.Process(proc.pid)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [root, *root.children(recursive=True)]
            rss = 0
            for p in procs:
                with contextlib.suppress(psutil.Error):
                    rss += p.memory_info().rss
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.02)
    wall = time.perf_counter() - start
    stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{stderr[-3000:]}")
    line = next(x for x in stdout.splitlines() if x.startswith("RESULT "))
    return json.loads(line[len("RESULT ") :]), wall, peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 10], help="multiples of the base text")
    parser.add_argument("--base-mb", type=float, default=None, help="base size in MB (default: all 6.9 M chars)")
    parser.add_argument("--workers", type=int, default=0, help="medadapt tokenizer workers (0 = Rust threads)")
    parser.add_argument("--hf-num-proc", type=int, default=2, help="num_proc for the HF .map calls")
    parser.add_argument("--child", choices=["medadapt", "medadapt-full", "hf"], help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--tokenizer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    with tempfile.TemporaryDirectory(prefix="medadapt-bench-") as tmp_name:
        tmp = Path(tmp_name)
        env = os.environ | {
            "HF_DATASETS_CACHE": str(tmp / "hf-cache"),
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
        }
        env.pop("TOKENIZERS_PARALLELISM", None)
        tokenizer = mbert_folder(tmp)
        base_chars = sum(len(p.read_text(encoding="utf-8")) for p in BACKGROUND.glob("*.txt"))
        base_copies = 1.0 if args.base_mb is None else args.base_mb * 2**20 / base_chars
        rows = []
        for size in args.sizes:
            data = tmp / f"corpus-{size:g}x.jsonl"
            chars = make_corpus(data, size * base_copies)
            runs = [("medadapt", "medadapt tokenize+pack"), ("hf", "HF run_mlm.py")]
            if size == min(args.sizes):
                runs.insert(1, ("medadapt-full", "medadapt full pipeline (dedup on)"))
            results = {}
            for kind, label in runs:
                out = tmp / f"out-{kind}-{size:g}"
                cmd = [sys.executable, __file__, "--child", kind, "--data", str(data), "--out", str(out)]
                cmd += ["--tokenizer", str(tokenizer), "--workers", str(args.workers)]
                cmd += ["--hf-num-proc", str(args.hf_num_proc)]
                result, wall, peak = measure(cmd, env)
                results[kind] = (result, wall, peak)
                rows.append((f"{size:g}×", f"{chars / 1e6:.1f}", label, result, wall, peak))
                print(
                    f"{size:g}× {label}: {result['tokens']:,} tokens in {result['seconds']:.1f} s "
                    f"(process {wall:.1f} s), peak RSS {peak:.0f} MB",
                    flush=True,
                )
                subprocess.run(["rm", "-rf", str(out), str(tmp / "hf-cache")], check=False)
            m, h = results["medadapt"], results["hf"]
            speed = (m[0]["tokens"] / m[0]["seconds"]) / (h[0]["tokens"] / h[0]["seconds"])
            rows.append((f"{size:g}×", "", "ratio medadapt / HF", None, speed, m[2] / h[2]))
            data.unlink()

    print()
    print("| size | M chars | pipeline | tokens | build s | process s | tokens/s | peak RSS MB |")
    print("|---|---:|---|---:|---:|---:|---:|---:|")
    for size, mchars, label, result, wall, peak in rows:
        if result is None:
            print(f"| {size} | | **{label}** | | | | **{wall:.2f}× speed** | **{peak:.2f}× memory** |")
            continue
        rate = result["tokens"] / result["seconds"]
        print(
            f"| {size} | {mchars} | {label} | {result['tokens']:,} | {result['seconds']:.1f} | {wall:.1f} "
            f"| {rate:,.0f} | {peak:.0f} |"
        )


if __name__ == "__main__":
    main()
