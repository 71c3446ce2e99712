"""Benchmark: `medadapt finetune ner` vs the Hugging Face `run_ner.py` path, and vocabulary trimming as the lever.

Same model folder, same data, same seed, epochs, batch size, learning rate, weight decay and warmup on both sides:

- medadapt: `finetune_ner` on a NerConfig (windows of `--max-length` with a stride, so nothing is truncated).
- HF: what `examples/pytorch/token-classification/run_ner.py` does — `datasets.Dataset` → `tokenizer(words,
  is_split_into_words=True, truncation=True, max_length=...)`, label on the first sub-token (-100 elsewhere) →
  `Trainer` + `DataCollatorForTokenClassification` → train, evaluate on dev (seqeval), predict on test. Words cut off
  by truncation get no prediction (run_ner drops them), so we score them as "O".
- Both sides' test predictions are scored by medadapt's `evaluate_entities` against the same gold documents
  (strict micro-F1). For HF the score is also given against the truncated gold (run_ner's own view), and the number
  of gold test entities that truncation removes is counted.
- medadapt is run on the full model and on a copy whose vocabulary is trimmed (`trim_plan` + `trim_vocabulary`)
  to the pieces the task's text uses (token ids counted over the full train+dev+test text of the task).

Defaults are 3 epochs at learning rate 2e-4: with 1 epoch of 1,000 sentences (64 steps) both pipelines still
predicted no entity at all, at 5e-5 and at 2e-4 (test F1 0.0 on both sides, measured), which compares nothing.

Data: PharmaCoNER, CongSun CoNLL (sentence level), each sentence a document (`sentences_as_documents`), random
subsamples (seeded) written as CoNLL with one -DOCSTART- per sentence into the work folder. Each pipeline runs in
its own subprocess; "wall s" is timed inside it after imports (model loading, tokenisation, training, dev evaluation
and test prediction included); "process s" adds interpreter start and imports.

    .venv/bin/python bench/ner.py                       # defaults: 1000/200/500 sentences, 3 epochs, lr 2e-4
    .venv/bin/python bench/ner.py --train-sentences 300 --json bench/out/ner.json
    .venv/bin/python bench/ner.py --train-sentences 2000 --epochs 6 --lr 5e-5 --precision bf16 --no-medadapt-full
    # F1 over seeds, both sides on the trimmed model; rerun the same command to resume an interrupted series
    .venv/bin/python bench/ner.py --train-sentences 2000 --epochs 6 --lr 1e-4 --no-medadapt-full --no-hf-full \
        --hf-trimmed --seeds 42,1,2 --work bench/out/ner-seeds --json bench/out/ner-seeds.json
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "es" / "pharmaconer" / "conll-congsun"
SPLITS = ("train", "dev", "test")


# ------------------------------------------------------------------------------------------------ data
def prepare_data(args: argparse.Namespace, out: Path) -> dict[str, int]:
    """Seeded sentence subsamples of the CongSun splits, written as CoNLL with one -DOCSTART- per sentence."""
    from medadapt.io import read_documents, write_documents

    sizes = {"train": args.train_sentences, "dev": args.dev_sentences, "test": args.test_sentences}
    counts: dict[str, int] = {}
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLITS:
        docs = list(read_documents(Path(args.data) / f"{split}.txt", "conll", sentences_as_documents=True))
        n = sizes[split]
        if n and n < len(docs):
            docs = [docs[i] for i in sorted(random.Random(args.seed).sample(range(len(docs)), n))]
        write_documents(docs, out / f"{split}.conll", "conll", docstart=True)
        counts[f"{split}_sentences"] = len(docs)
        counts[f"{split}_entities"] = sum(len(d.spans) for d in docs)
    return counts


def trim_model(model_dir: str, data_dir: Path, out: Path) -> dict[str, object]:
    """Trim the vocabulary to the pieces of the task's full train+dev+test text; check tokenisation is unchanged."""
    import numpy as np
    from transformers import AutoTokenizer

    from medadapt.io import read_documents
    from medadapt.pretrain.vocab import load_pair, trim_plan, trim_vocabulary

    start = time.perf_counter()
    model, tokenizer = load_pair(model_dir)
    texts = [
        d.text for s in SPLITS for d in read_documents(data_dir / f"{s}.txt", "conll", sentences_as_documents=True)
    ]
    size = model.get_input_embeddings().weight.shape[0]
    counts = np.zeros(size, dtype=np.int64)
    for k in range(0, len(texts), 1000):
        for ids in tokenizer(texts[k : k + 1000], add_special_tokens=False)["input_ids"]:
            counts += np.bincount(np.asarray(ids, dtype=np.int64), minlength=size)[:size]
    keep = trim_plan(tokenizer, counts)
    report = trim_vocabulary(model, tokenizer, keep, out)
    old_to_new = np.load(out / "trim_old_to_new.npy")
    trimmed = AutoTokenizer.from_pretrained(out)
    sample = texts[:: max(1, len(texts) // 500)]
    same = all(
        [int(old_to_new[i]) for i in a] == b
        for a, b in zip(tokenizer(sample)["input_ids"], trimmed(sample)["input_ids"], strict=True)
    )
    return {
        "vocab_before": report["tokenizer_size_before"],
        "vocab_after": report["kept"],
        "parameters_removed": report["parameters_removed"],
        "same_tokenization_on_sample": same,
        "sample_sentences": len(sample),
        "trim_s": round(time.perf_counter() - start, 1),
    }


# ------------------------------------------------------------------------------------------------ workers
def worker_medadapt(args: argparse.Namespace) -> dict[str, object]:
    from medadapt.config import build_config
    from medadapt.tasks.ner.config import NerConfig
    from medadapt.tasks.ner.recipe import finetune_ner

    data, out = Path(args.data_dir), Path(args.out_dir)
    config = build_config(
        NerConfig,
        {
            "model": args.model,
            "data": {s: str(data / f"{s}.conll") for s in SPLITS} | {"format": "conll", "lang": "es"},
            "encoding": {"max_length": args.max_length, "stride": args.stride},
            "training": {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "eval_batch_size": 32,
                "learning_rate": args.lr,
                "weight_decay": 0.01,
                "warmup_ratio": 0.1,
                "seed": args.seed,
                "precision": args.precision,
            }
            | json.loads(args.medadapt_training),
            "out_dir": str(out),
        },
        source="bench",
    )
    start = time.perf_counter()
    metrics = finetune_ner(config, show_progress=False)
    wall = time.perf_counter() - start
    report = json.loads((out / "data_report.json").read_text())
    lost = report["test"]["encoding"]["lost"]
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if line.strip()]
    return {
        "dev_f1_per_epoch": [round(r["dev"]["f1"], 4) for r in log if "dev" in r],
        "wall_s": wall,
        "test_f1": metrics["test"]["f1"],
        "dev_f1": metrics["dev"]["f1"],
        "dropped": lost if isinstance(lost, int) else len(lost),
        "train_windows": report["train"]["encoding"]["windows"],
    }


def _read_conll_blocks(path: Path) -> list[tuple[list[str], list[str]]]:
    """(words, tags) per -DOCSTART- block (one sentence each here)."""
    blocks: list[tuple[list[str], list[str]]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            blocks.append(([], []))
        elif line.strip():
            word, tag = line.split("\t")
            blocks[-1][0].append(word)
            blocks[-1][1].append(tag)
    return blocks


def _write_like(gold: Path, target: Path, tags: list[list[str]]) -> None:
    """A copy of the gold file, line for line, with other tags (so read_conll gives the same document ids)."""
    lines, block, k = [], -1, 0
    for line in gold.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            block, k = block + 1, 0
            lines.append(line)
        elif line.strip():
            lines.append(f"{line.split(chr(9))[0]}\t{tags[block][k]}")
            k += 1
        else:
            lines.append(line)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("\n".join(lines) + "\n", encoding="utf-8")


def worker_hf(args: argparse.Namespace) -> dict[str, object]:
    import numpy as np
    import torch
    from datasets import Dataset
    from seqeval.metrics import f1_score
    from transformers import (
        AutoModelForTokenClassification,
        AutoTokenizer,
        DataCollatorForTokenClassification,
        Trainer,
    )

    from hf_trainer_args import cpu_training_arguments

    data, out = Path(args.data_dir), Path(args.out_dir)
    start = time.perf_counter()
    raw = {s: _read_conll_blocks(data / f"{s}.conll") for s in SPLITS}
    label_list = sorted({t for _, tags in raw["train"] for t in tags})  # run_ner: sorted unique train labels
    label2id = {t: i for i, t in enumerate(label_list)}
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    torch.manual_seed(args.seed)
    model = AutoModelForTokenClassification.from_pretrained(
        args.model, num_labels=len(label_list), id2label=dict(enumerate(label_list)), label2id=label2id
    )

    def tokenize_and_align_labels(examples: dict[str, list]) -> dict[str, list]:
        enc = tokenizer(examples["tokens"], truncation=True, max_length=args.max_length, is_split_into_words=True)
        labels = []
        for i, tags in enumerate(examples["ner_tags"]):
            previous, row = None, []
            for word in enc.word_ids(batch_index=i):
                row.append(-100 if word is None or word == previous else label2id.get(tags[word], label2id["O"]))
                previous = word
            labels.append(row)
        enc["labels"] = labels
        return enc

    datasets = {
        s: Dataset.from_dict({"tokens": [w for w, _ in raw[s]], "ner_tags": [t for _, t in raw[s]]}).map(
            tokenize_and_align_labels, batched=True, remove_columns=["tokens", "ner_tags"]
        )
        for s in SPLITS
    }

    def compute_metrics(p: tuple) -> dict[str, float]:
        predictions, labels = p
        predictions = np.argmax(predictions, axis=2)
        true_p = [
            [label_list[a] for a, b in zip(pr, la, strict=True) if b != -100]
            for pr, la in zip(predictions, labels, strict=True)
        ]
        true_l = [[label_list[b] for b in la if b != -100] for la in labels]
        return {"f1": f1_score(true_l, true_p)}

    steps = -(-len(datasets["train"]) // args.batch_size) * args.epochs
    training_args = cpu_training_arguments(
        out,
        batch_size=args.batch_size,
        lr=args.lr,
        epochs=args.epochs,
        warmup_steps=int(0.1 * steps),
        seed=args.seed,
        precision=args.precision,
        per_device_eval_batch_size=32,
        eval_strategy="epoch",  # a dev curve, as medadapt evaluates every epoch (both pay for it in wall time)
    )
    trainer = Trainer(
        model=model,
        args=training_args,
        train_dataset=datasets["train"],
        eval_dataset=datasets["dev"],
        data_collator=DataCollatorForTokenClassification(tokenizer),
        compute_metrics=compute_metrics,
    )
    trainer.train()
    dev = trainer.evaluate()
    logits, _, _ = trainer.predict(datasets["test"])
    predictions = np.argmax(logits, axis=2)
    wall = time.perf_counter() - start
    # word-level tags: the first sub-token's prediction; words cut off by truncation predicted "O"
    pred_tags, visible_gold = [], []
    for i, (words, tags) in enumerate(raw["test"]):
        enc = tokenizer(words, truncation=True, max_length=args.max_length, is_split_into_words=True)
        row, seen = ["O"] * len(words), set()
        for k, word in enumerate(enc.word_ids()):
            if word is not None and word not in seen:
                seen.add(word)
                row[word] = label_list[int(predictions[i][k])]
        pred_tags.append(row)
        visible_gold.append([t if j in seen else "O" for j, t in enumerate(tags)])
    _write_like(data / "test.conll", out / "pred" / "test.conll", pred_tags)
    _write_like(data / "test.conll", out / "visible" / "test.conll", visible_gold)
    trainer.save_model(str(out / "final-model"))  # after timing: lets medadapt's decoder score HF's model too
    tokenizer.save_pretrained(str(out / "final-model"))
    curve = [round(r["eval_f1"], 4) for r in trainer.state.log_history if "eval_f1" in r]
    return {
        "wall_s": wall,
        "dev_f1_seqeval": dev.get("eval_f1"),
        "dev_f1_per_epoch": curve[: args.epochs],
        "train_windows": len(datasets["train"]),
    }


def score_hf(data_dir: Path, out: Path) -> dict[str, object]:
    from medadapt.io import read_documents
    from medadapt.metrics import evaluate_entities

    def read(path: Path) -> list:
        return list(read_documents(path, "conll"))

    gold, pred, visible = (
        read(data_dir / "test.conll"),
        read(out / "pred" / "test.conll"),
        read(out / "visible" / "test.conll"),
    )
    spans = lambda docs: {(d.id, s.start, s.end, s.label) for d in docs for s in d.spans}  # noqa: E731
    return {
        "test_f1": evaluate_entities(gold, pred).strict.micro.f1,
        "test_f1_truncated_gold": evaluate_entities(visible, pred).strict.micro.f1,
        "dropped": len(spans(gold) - spans(visible)),
    }


# ------------------------------------------------------------------------------------------------ driver
def source_version() -> str | None:
    """The git tree id of medadapt's source (None outside a git checkout): medadapt's results depend on its code."""
    done = subprocess.run(
        ["git", "rev-parse", "HEAD:src/medadapt"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(["git", "status", "--porcelain", "src/medadapt"], cwd=ROOT, capture_output=True, text=True)
    if done.returncode or dirty.stdout.strip():
        return None
    return done.stdout.strip()


def recipe_of(kind: str, model: str, args: argparse.Namespace, seed: int) -> dict[str, object]:
    """Everything a run's result depends on: a stored result is reused (--seeds resume) only if this matches.
    medadapt's side includes its source tree id, so a run made with other code (or uncommitted changes) reruns."""
    keys = ("train_sentences", "dev_sentences", "test_sentences", "epochs", "max_length", "stride", "batch_size")
    ours = {"medadapt_training": json.loads(args.medadapt_training), "medadapt_src": source_version()}
    return (
        {"kind": kind, "model": model, "seed": seed, "lr": args.lr, "precision": args.precision}
        | {k: getattr(args, k) for k in keys}
        | (ours if kind == "medadapt" else {})
    )


def run_worker(
    kind: str, model: str, args: argparse.Namespace, work: Path, name: str, seed: int | None = None
) -> dict[str, object]:
    seed = args.seed if seed is None else seed
    result = work / f"{name}.json"
    recipe = recipe_of(kind, model, args, seed)
    if args.seeds and result.is_file():
        stored = json.loads(result.read_text())
        if stored.get("recipe") == recipe and "process_s" in stored and recipe.get("medadapt_src", "") is not None:
            print(f"{name}: reusing the finished run in {result}", flush=True)
            return stored
    cmd = [sys.executable, __file__, "--worker", kind, "--model", model, "--data-dir", str(work / "data"),
           "--out-dir", str(work / name), "--result", str(result), "--seed", str(seed), "--epochs",
           str(args.epochs), "--max-length", str(args.max_length), "--stride", str(args.stride), "--batch-size",
           str(args.batch_size), "--lr", str(args.lr), "--precision", args.precision,
           "--medadapt-training", args.medadapt_training]  # fmt: skip
    start = time.perf_counter()
    subprocess.run(cmd, check=True)
    out = json.loads(result.read_text())
    out["process_s"] = time.perf_counter() - start
    if kind == "hf":
        out |= score_hf(work / "data", work / name)
    out["recipe"] = recipe
    result.write_text(json.dumps(out, indent=1))  # complete: a --seeds rerun reuses it
    return out


def seed_summary(results: dict[str, object], seeds: list[int], ours: str, theirs: str) -> dict[str, object]:
    """Test F1 over seeds on both sides, and the per-seed difference (same seed: same head initialisation and
    data, different batch order and dropout masks) with a t interval — one run per side is not a comparison: the
    dropout masks alone moved test F1 by 0.055 between two otherwise identical runs (BENCHMARKS.md)."""
    import statistics

    from scipy import stats

    from medadapt.metrics.stats import mean_sd

    a = [results[f"{ours}-seed{s}"]["test_f1"] for s in seeds]  # type: ignore[index]
    b = [results[f"{theirs}-seed{s}"]["test_f1"] for s in seeds]  # type: ignore[index]
    diff = [x - y for x, y in zip(a, b, strict=True)]
    wall = {n: statistics.fmean(results[f"{n}-seed{s}"]["wall_s"] for s in seeds) for n in (ours, theirs)}  # type: ignore[index]
    summary: dict[str, object] = {
        "seeds": seeds,
        ours: {"test_f1": a, "wall_s_mean": wall[ours]} | mean_sd(a),
        theirs: {"test_f1": b, "wall_s_mean": wall[theirs]} | mean_sd(b),
        "difference": {"values": diff} | mean_sd(diff),
    }
    if len(seeds) > 1:
        difference = summary["difference"]
        half = stats.t.ppf(0.975, len(diff) - 1) * difference["sd"] / len(diff) ** 0.5  # type: ignore[index]
        difference |= {  # type: ignore[operator]
            "ci95": [difference["mean"] - half, difference["mean"] + half],  # type: ignore[index]
            "p_paired_t": float(stats.ttest_rel(a, b).pvalue) if half > 0 else 1.0,
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(ROOT / "bench" / "out" / "e5-small"))
    parser.add_argument("--data", default=str(DATA))
    parser.add_argument("--train-sentences", type=int, default=1000)
    parser.add_argument("--dev-sentences", type=int, default=200)
    parser.add_argument("--test-sentences", type=int, default=500)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--stride", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--seeds",
        help="comma-separated seeds: every run once per seed (results kept in --work and reused when rerun with the "
        "same recipe), then mean, sd and the paired difference medadapt - HF over seeds",
    )
    parser.add_argument(
        "--precision", choices=["fp32", "bf16"], default="fp32", help="both sides (bf16: CPU autocast, AMX)"
    )
    parser.add_argument(
        "--medadapt-training",
        default="{}",
        help="JSON merged into medadapt's training section, e.g. '{\"group_by_length\": false}'",
    )
    parser.add_argument("--no-trim", action="store_true", help="Skip the trimmed-vocabulary run.")
    parser.add_argument(
        "--no-medadapt-full",
        action="store_true",
        help="Skip medadapt on the full vocabulary (the slowest run; compare HF full with medadapt trimmed only).",
    )
    parser.add_argument("--hf-trimmed", action="store_true", help="Also run the HF path on the trimmed model.")
    parser.add_argument(
        "--no-hf-full",
        action="store_true",
        help="Skip HF on the full vocabulary (with --hf-trimmed: F1 over seeds on the same trimmed model).",
    )
    parser.add_argument("--work", help="Work folder (default: a temporary one, removed afterwards).")
    parser.add_argument("--json", help="Write all results here.")
    parser.add_argument("--worker", choices=["medadapt", "hf"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        result = worker_medadapt(args) if args.worker == "medadapt" else worker_hf(args)
        Path(args.result).write_text(json.dumps(result))
        return

    with tempfile.TemporaryDirectory(prefix="bench-ner-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        results: dict[str, object] = {"args": {k: v for k, v in vars(args).items() if v is not None}}
        results["data"] = prepare_data(args, work / "data")
        print("data:", results["data"], flush=True)
        if args.no_medadapt_full and args.no_trim:
            parser.error("--no-medadapt-full and --no-trim leave no medadapt run to compare")
        if args.no_hf_full and not (args.hf_trimmed and not args.no_trim):
            parser.error("--no-hf-full needs --hf-trimmed (and trimming): it leaves no HF run to compare")
        if args.seeds and not args.work:
            parser.error("--seeds needs --work: its runs are kept there so an interrupted series can resume")
        runs = [] if args.no_medadapt_full else [("medadapt", args.model, "medadapt-full")]
        if not args.no_hf_full:
            runs.append(("hf", args.model, "hf-full"))
        if not args.no_trim:
            results["trim"] = trim_model(args.model, Path(args.data), work / "model-trimmed")
            print("trim:", results["trim"], flush=True)
            runs.append(("medadapt", str(work / "model-trimmed"), "medadapt-trimmed"))
            if args.hf_trimmed:
                runs.append(("hf", str(work / "model-trimmed"), "hf-trimmed"))
        seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]
        for seed in seeds:
            for kind, model, name in runs:
                key = f"{name}-seed{seed}" if args.seeds else name
                results[key] = run_worker(kind, model, args, work, key, seed)
                print(f"{key}: {results[key]}", flush=True)
        if args.seeds:
            ours = "medadapt-trimmed" if not args.no_trim else "medadapt-full"
            theirs = "hf-trimmed" if args.no_hf_full else "hf-full"
            results["over_seeds"] = seed_summary(results, seeds, ours, theirs)
        if args.json:
            Path(args.json).parent.mkdir(parents=True, exist_ok=True)
            Path(args.json).write_text(json.dumps(results, indent=1))

    print("\n| pipeline | model | seed | wall s | process s | test strict micro-F1 | entities dropped by truncation |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for key, r in results.items():
        if not (key.startswith("medadapt-") or key.startswith("hf-")):
            continue
        pipeline = "medadapt finetune ner" if key.startswith("medadapt") else "HF run_ner.py (Trainer)"
        model = "e5-small trimmed" if "-trimmed" in key else "e5-small full"
        f1 = f"{r['test_f1']:.4f}"
        if "test_f1_truncated_gold" in r:
            f1 += f" ({r['test_f1_truncated_gold']:.4f} vs truncated gold)"
        seed = r.get("recipe", {}).get("seed", args.seed)
        print(f"| {pipeline} | {model} | {seed} | {r['wall_s']:.1f} | {r['process_s']:.1f} | {f1} | {r['dropped']} |")
    if args.seeds:
        summary = results["over_seeds"]
        diff = summary["difference"]
        for name in (k for k in summary if k not in ("seeds", "difference")):
            side = summary[name]
            print(
                f"{name}: test F1 mean {side['mean']:.4f} (sd {side['sd']:.4f}) over seeds {seeds}, "
                f"mean wall {side['wall_s_mean']:.1f} s"
            )
        line = f"test F1 medadapt - HF, paired by seed: {diff['mean']:+.4f}"
        if "ci95" in diff:
            line += f", 95% t CI [{diff['ci95'][0]:+.4f}, {diff['ci95'][1]:+.4f}], p {diff['p_paired_t']:.3f}"
        print(line + " (goal >= 0)")
        return
    h = results.get("hf-full")
    if h and "medadapt-full" in results:
        m = results["medadapt-full"]
        print(f"\nratio HF / medadapt wall time (full model): {h['wall_s'] / m['wall_s']:.2f}x")
    if "medadapt-trimmed" in results:
        t = results["medadapt-trimmed"]
        if "medadapt-full" in results:
            print(f"ratio medadapt full / trimmed wall time: {results['medadapt-full']['wall_s'] / t['wall_s']:.2f}x")
        if h:
            print(f"ratio medadapt trimmed / HF full wall time: {t['wall_s'] / h['wall_s']:.2f}x (goal <= 0.6)")
            print(f"test F1 medadapt trimmed - HF full: {t['test_f1'] - h['test_f1']:+.4f} (goal >= 0)")
        if "hf-trimmed" in results:
            ht = results["hf-trimmed"]
            print(f"test F1 medadapt trimmed - HF trimmed: {t['test_f1'] - ht['test_f1']:+.4f}")


if __name__ == "__main__":
    main()
