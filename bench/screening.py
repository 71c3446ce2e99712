"""Benchmark: screening on long records — medadapt (windows over the whole record, token scoring, pooled to the
patient) vs the standard Hugging Face path (a sequence classifier fine-tuned by `Trainer` on the truncated record,
served by `pipeline("text-classification", truncation=True)`), on the same patients, in one run.

1. Data: the demo's synthetic Dutch screening task, generated into the work folder (unless `--data` names a demo
   data folder): the test patients at real record length (`medadapt.demo.screening.LONG_RECORDS`: 2-4 notes of
   430-800 words, thousands of subword tokens per patient), train and dev at the demo's shorter `DEMO_RECORDS`
   (1-2 notes of 130-200 words) so that fine-tuning on 2 CPU cores is affordable; the chunk scorer does not care
   how many chunks a record has. `--patients` per split. Each patient's notes are merged newest-first into one
   record, as the real task does (../shared/TASKS.md), and the decisive sentence is often far from the start.
2. Model: `--model` (default: the offline multilingual-e5-small from shared/tools) with its vocabulary trimmed to the
   pieces of the task's text; both sides start from that folder, train on the same patients (`--downsample`
   picks them with medadapt's own down-sampling, seed 1), same epochs, learning rate and patients per step:
   - medadapt: `medadapt.tasks.screening.recipe`, windows of `--max-length` / `--stride`, every token scored and pooled
     token → chunk → patient by `--token-pooling` (lse with `--lse-sharpness`; `cls` = [CLS] head + max
     pooling), best epoch on dev AUPRC, threshold for 95% sensitivity on dev; `--head-lr` gives the fresh head
     its own rate (`training.head_learning_rate`);
   - HF: `AutoModelForSequenceClassification` + `Trainer` (linear schedule, 10% warm-up, weight decay 0.01, last
     epoch kept), records tokenized with `truncation=True, max_length=--hf-max-length` (the head of the record);
     `--hf-head-lr` the same for its classifier (an AdamW with two rates handed to the Trainer).
3. Inference on the test records, timed after loading, both from their saved folders, `--batch-size` sequences
   per forward pass, same threads: medadapt chunks every record, scores all chunks and pools (what `medadapt
   evaluate screening` does); HF runs the pipeline on the merged text (softmax score of the positive class).
   Printed: records/s of each, the ratio, and the test AUROC and AUPRC of each.

    .venv/bin/python bench/screening.py --patients 600,150,60 --epochs 4 --lr 1e-4 --head-lr 3e-3 \
        --hf-head-lr 3e-3 --downsample 1.0 --json bench/out/screening.json

(~45 min on 2 CPU cores, most of it the two trainings; each side's model is reused while its recipe holds.) It
also prints the AUROC difference with a paired bootstrap CI over the test patients.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

ROOT = Path(__file__).resolve().parents[1]
SPLITS = ("train", "dev", "test")


def long_records(out: Path, lang: str, patients: list[int]) -> Path:
    """Screening notes in the demo's layout: train/dev at `DEMO_RECORDS` length, test at `LONG_RECORDS`."""
    import random

    from medadapt.demo.lexicon import load_lexicon
    from medadapt.demo.screening import DEMO_RECORDS, LONG_RECORDS, screening_notes

    manifest = {"generator": "bench/screening.py", "lang": lang, "patients": patients}
    if (out / "manifest.json").is_file() and json.loads((out / "manifest.json").read_text()) == manifest:
        return out  # same request as last time: reuse (other sizes or languages are generated afresh)
    folder = out / "screening" / lang
    folder.mkdir(parents=True, exist_ok=True)
    lex = load_lexicon(lang)
    first = 1
    for split, n in zip(SPLITS, patients, strict=True):
        rng = random.Random(f"bench.screening|{lang}|{split}")
        with open(folder / f"{split}.jsonl", "w", encoding="utf-8") as handle:
            shape = LONG_RECORDS if split == "test" else DEMO_RECORDS
            for note in screening_notes(lex, rng, split, n, first, shape):
                handle.write(json.dumps(note.to_json(), ensure_ascii=False) + "\n")
        first += n
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def merged_records(data: Path, lang: str, out: Path) -> dict[str, str]:
    """One record per patient (notes newest-first, blank line between), written as JSONL per split."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {}
    for split in SPLITS:
        notes = [json.loads(line) for line in (data / "screening" / lang / f"{split}.jsonl").read_text().splitlines()]
        patients: dict[str, list[dict]] = {}
        for note in notes:
            patients.setdefault(note["patient_id"], []).append(note)
        target = out / f"{split}.jsonl"
        with open(target, "w", encoding="utf-8") as handle:
            for pid, items in patients.items():
                items.sort(key=lambda n: n["date"], reverse=True)
                text = "\n\n".join(n["text"] for n in items)
                handle.write(
                    json.dumps({"id": pid, "patient_id": pid, "text": text, "label": items[0]["label"]}) + "\n"
                )
        paths[split] = str(target)
    return paths


def trim(model_dir: str, paths: dict[str, str], out: Path) -> str:
    """The model with its vocabulary cut to the pieces the records use (the AdamW step over 250k rows dominates)."""
    import numpy as np

    from medadapt.pretrain.vocab import load_pair, trim_plan, trim_vocabulary

    if (out / "config.json").is_file():
        return str(out)
    model, tokenizer = load_pair(model_dir)
    counts = np.zeros(len(tokenizer), dtype=np.int64)
    for path in paths.values():
        for line in Path(path).read_text().splitlines():
            ids = tokenizer(json.loads(line)["text"], add_special_tokens=False)["input_ids"]
            np.add.at(counts, ids, 1)
    trim_vocabulary(model, tokenizer, trim_plan(tokenizer, counts), out)
    return str(out)


def token_lengths(model_dir: str, path: str) -> dict[str, int]:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    lengths = sorted(
        len(tokenizer(json.loads(line)["text"], add_special_tokens=False)["input_ids"])
        for line in Path(path).read_text().splitlines()
    )
    return {"min": lengths[0], "median": lengths[len(lengths) // 2], "max": lengths[-1], "records": len(lengths)}


SHARED_ARGS = ("patients", "epochs", "lr", "train_batch_size", "precision", "downsample")
SIDE_ARGS = {
    "medadapt": ("max_length", "stride", "token_pooling", "lse_sharpness", "head_lr"),
    "hf": ("hf_max_length", "hf_head_lr"),
}
OPTIONAL_ARGS = ("head_lr", "hf_head_lr")  # added later: absent from a recipe means None (no retraining)


def _same_recipe(out: Path, args: argparse.Namespace, side: str) -> bool:
    """A trained model is reused only when it was trained with the arguments its side uses (and no `--retrain`):
    changing medadapt's pooling must not retrain the HF side, and vice versa."""
    recipe = out / "recipe.json"
    return not args.retrain and recipe.is_file() and json.loads(recipe.read_text()) == _recipe(args, side)


def _recipe(args: argparse.Namespace, side: str) -> dict:
    recipe = {name: getattr(args, name) for name in (*SHARED_ARGS, *SIDE_ARGS[side])}
    return {k: v for k, v in recipe.items() if v is not None or k not in OPTIONAL_ARGS}


def train(model_dir: str, paths: dict[str, str], out: Path, args: argparse.Namespace) -> Path:
    from medadapt.config import build_config
    from medadapt.tasks.screening.config import ScreeningConfig
    from medadapt.tasks.screening.recipe import finetune_screening

    best = out / "best-model"
    if (best / "screening.json").is_file() and _same_recipe(out, args, "medadapt"):
        return best
    config = build_config(
        ScreeningConfig,
        {
            "model": model_dir,
            "data": {"train": paths["train"], "dev": paths["dev"]},  # test: scored below, timed
            "chunking": {"strategy": "windows", "max_length": args.max_length, "stride": args.stride},
            "pooling": _pooling(args),
            "training": {
                "epochs": args.epochs,
                "learning_rate": args.lr,
                "head_learning_rate": args.head_lr,
                "batch_size": args.train_batch_size,
                "seed": 1,
                "precision": args.precision,
            },
            "evaluation": {"bootstrap_resamples": 0},
            "imbalance": {"downsample_ratio": args.downsample},
            "out_dir": str(out),
        },
    )
    start = time.perf_counter()
    finetune_screening(config, show_progress=sys.stderr.isatty())
    (out / "train_s").write_text(f"{time.perf_counter() - start:.1f}")
    (out / "recipe.json").write_text(json.dumps(_recipe(args, "medadapt")))
    return best


def _pooling(args: argparse.Namespace) -> dict:
    if args.token_pooling == "cls":
        return {"token_to_chunk": "cls", "chunk_to_note": "max", "note_to_patient": "max"}
    return {
        "token_to_chunk": args.token_pooling,
        "chunk_to_note": "lse",
        "note_to_patient": "lse",
        "lse_sharpness": args.lse_sharpness,
    }


def training_patients(model_dir: str, paths: dict[str, str], ratio: float | None) -> set[str]:
    """The patient ids medadapt trains on (its own down-sampling, seed 1), so that both sides see the same ones."""
    from medadapt.config import build_config
    from medadapt.tasks.screening.config import ScreeningConfig
    from medadapt.tasks.screening.data import downsample, load_splits

    config = build_config(ScreeningConfig, {"model": model_dir, "data": {"train": paths["train"]}})
    splits, space, _ = load_splits(config)
    patients = splits["train"] if ratio is None else downsample(splits["train"], space, ratio, 1)
    return {p.id for p in patients}


def train_hf(model_dir: str, paths: dict[str, str], out: Path, args: argparse.Namespace) -> Path:
    """The run_classification.py recipe: a sequence classifier on the truncated record, `Trainer`, last epoch kept."""
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        set_seed,
    )

    from hf_trainer_args import cpu_training_arguments

    final = out / "model"
    if (final / "config.json").is_file() and _same_recipe(out, args, "hf"):
        return final
    keep = training_patients(model_dir, paths, args.downsample)
    records = [json.loads(line) for line in Path(paths["train"]).read_text().splitlines()]
    records = [r for r in records if r["patient_id"] in keep]
    start = time.perf_counter()
    set_seed(1)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    features = [
        {**tokenizer(r["text"], truncation=True, max_length=args.hf_max_length), "labels": int(r["label"] == "1")}
        for r in records
    ]
    model = AutoModelForSequenceClassification.from_pretrained(
        model_dir, num_labels=2, id2label={0: "0", 1: "1"}, label2id={"0": 0, "1": 1}
    )
    steps = -(-len(features) // args.train_batch_size) * args.epochs
    training_args = cpu_training_arguments(
        out / "trainer",
        batch_size=args.train_batch_size,
        lr=args.lr,
        epochs=args.epochs,
        warmup_steps=int(0.1 * steps),
        seed=1,
        precision=args.precision,
        logging_strategy="epoch",
    )
    trainer = Trainer(
        model=model, args=training_args, train_dataset=features, data_collator=DataCollatorWithPadding(tokenizer)
    )
    if args.hf_head_lr:  # the Trainer's own decay rule, the classifier (outside the base model) at its own rate
        import torch

        decay = set(trainer.get_decay_parameter_names(model))
        body = f"{model.base_model_prefix}."
        groups: dict[tuple[bool, bool], list] = {}
        for name, param in model.named_parameters():
            groups.setdefault((not name.startswith(body), name in decay), []).append(param)
        trainer.optimizer = torch.optim.AdamW(
            [
                {
                    "params": ps,
                    "lr": args.hf_head_lr if head else args.lr,
                    "weight_decay": training_args.weight_decay if dec else 0.0,
                }
                for (head, dec), ps in groups.items()
            ],
            lr=args.lr,
        )  # the Trainer builds its linear schedule on this optimizer
    trainer.train()
    losses = [round(r["loss"], 4) for r in trainer.state.log_history if "loss" in r]
    trainer.save_model(str(final))
    tokenizer.save_pretrained(str(final))
    (out / "train_s").write_text(f"{time.perf_counter() - start:.1f}")
    (out / "train_loss_per_epoch.json").write_text(json.dumps(losses))
    (out / "recipe.json").write_text(json.dumps(_recipe(args, "hf")))
    return final


def run_medadapt(best: Path, test: str, batch_size: int) -> tuple[float, list[float], list[int], list[str]]:
    from medadapt.config import build_config
    from medadapt.loading import load_tokenizer
    from medadapt.tasks.screening.chunks import encode_patients
    from medadapt.tasks.screening.config import ScreeningConfig
    from medadapt.tasks.screening.data import group_patients, read_notes
    from medadapt.tasks.screening.evaluation import patient_probabilities
    from medadapt.tasks.screening.model import ChunkPoolingClassifier
    from medadapt.tasks.screening.scoring import score_split

    model = ChunkPoolingClassifier.from_pretrained(best)
    tokenizer = load_tokenizer(str(best))
    space = model.label_space()
    config = build_config(
        ScreeningConfig, {"model": str(best), "data": {"train": test}, "chunking": model.settings["chunking"]}
    )
    start = time.perf_counter()
    patients, _ = group_patients(read_notes(test, config.data), config)
    encoded, _ = encode_patients(patients, tokenizer, config.chunking, space)
    scores = score_split(model, encoded, tokenizer.pad_token_id or 0, batch_size)
    seconds = time.perf_counter() - start
    probabilities = patient_probabilities(scores, space)[:, 0].tolist()
    return seconds, probabilities, [int(e.target) for e in encoded], [e.patient.id for e in encoded]


def run_hf(model: Path, test: str, batch_size: int, max_length: int) -> tuple[float, list[float], list[int], list[str]]:
    from transformers import pipeline

    records = [json.loads(line) for line in Path(test).read_text().splitlines()]
    classifier = pipeline("text-classification", model=str(model), device="cpu")
    start = time.perf_counter()
    outputs = classifier(
        [r["text"] for r in records],
        batch_size=batch_size,
        truncation=True,
        max_length=max_length,
        function_to_apply="softmax",
        top_k=None,
    )
    seconds = time.perf_counter() - start
    scores = [next(o["score"] for o in out if o["label"] == "1") for out in outputs]
    return seconds, scores, [int(r["label"] == "1") for r in records], [r["patient_id"] for r in records]


def auroc_difference(a: dict[str, tuple[int, float]], b: dict[str, tuple[int, float]]) -> dict[str, float]:
    """AUROC(b) - AUROC(a) on the same test patients: a paired bootstrap over patients (medadapt's statistics, the
    ones its study reports use), 2,000 resamples."""
    import numpy as np

    from medadapt.metrics.stats import auroc_from_rows, paired_bootstrap

    if set(a) != set(b) or any(a[pid][0] != b[pid][0] for pid in a):
        raise ValueError("the two sides scored different test patients or labels")
    ids = sorted(a)
    rows_a, rows_b = (np.array([[[s[pid][0], s[pid][1]] for pid in ids]]) for s in (a, b))
    result = paired_bootstrap(rows_a, rows_b, auroc_from_rows, n_resamples=2000, seed=0)
    return {k: round(float(v), 4) for k, v in result.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(ROOT / "bench" / "out" / "e5-small"))
    parser.add_argument("--data", help="a demo data folder (default: generate one in the work folder)")
    parser.add_argument("--lang", default="nl")
    parser.add_argument("--work", default=str(ROOT / "bench" / "out" / "screening"))
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--stride", type=int, default=32)
    parser.add_argument("--hf-max-length", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--train-batch-size", type=int, default=2, help="patients per training step")
    parser.add_argument("--batch-size", type=int, default=16, help="sequences per inference forward pass")
    parser.add_argument("--patients", default="300,100,60", help="train,dev,test patients of the generated data")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"], help="training precision")
    parser.add_argument(
        "--downsample", type=float, help="negatives kept per positive training patient (the study's 1:1 is 1.0)"
    )
    parser.add_argument(
        "--token-pooling", default="lse", choices=["lse", "max", "cls"], help="medadapt's chunk scoring"
    )
    parser.add_argument("--lse-sharpness", type=float, default=4.0)
    parser.add_argument("--head-lr", type=float, help="medadapt's training.head_learning_rate (default: --lr)")
    parser.add_argument("--hf-head-lr", type=float, help="the HF classifier's own rate (default: --lr, plain Trainer)")
    parser.add_argument("--retrain", action="store_true")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()

    import torch
    from sklearn.metrics import average_precision_score, roc_auc_score

    work = Path(args.work)
    patients = [int(n) for n in args.patients.split(",")]
    data = Path(args.data) if args.data else long_records(work / "long-records", args.lang, patients)
    paths = merged_records(data, args.lang, work / "records")
    model = trim(args.model, paths, work / "model-trimmed")
    lengths = token_lengths(model, paths["test"])
    best = train(model, paths, work / "run", args)
    hf_model = train_hf(model, paths, work / "hf-run", args)
    results = {"threads": torch.get_num_threads(), "test_tokens_per_record": lengths, "args": vars(args)}
    rows: dict[str, dict[str, tuple[int, float]]] = {}
    for name, run in (
        ("medadapt", lambda: run_medadapt(best, paths["test"], args.batch_size)),
        ("hf_pipeline", lambda: run_hf(hf_model, paths["test"], args.batch_size, args.hf_max_length)),
    ):
        seconds, scores, labels, ids = run()
        rows[name] = {pid: (label, score) for pid, label, score in zip(ids, labels, scores, strict=True)}
        results[name] = {
            "seconds": round(seconds, 2),
            "records_per_s": round(len(scores) / seconds, 3),
            "auroc": round(float(roc_auc_score(labels, scores)), 4),
            "auprc": round(float(average_precision_score(labels, scores)), 4),
        }
    for name, run_dir in (("medadapt", work / "run"), ("hf_pipeline", work / "hf-run")):
        train_s = run_dir / "train_s"
        results[name]["train_s"] = float(train_s.read_text()) if train_s.is_file() else None
    log = work / "run" / "log.jsonl"
    if log.is_file():
        epochs = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
        results["medadapt"]["dev_auroc_per_epoch"] = [round(e["dev"]["auroc"], 4) for e in epochs if "dev" in e]
        results["medadapt"]["train_loss_per_epoch"] = [round(e["loss"], 4) for e in epochs if "loss" in e]
    hf_losses = work / "hf-run" / "train_loss_per_epoch.json"
    if hf_losses.is_file():
        results["hf_pipeline"]["train_loss_per_epoch"] = json.loads(hf_losses.read_text())
    results["auroc_medadapt_minus_hf"] = auroc_difference(rows["hf_pipeline"], rows["medadapt"])
    ratio = results["medadapt"]["records_per_s"] / results["hf_pipeline"]["records_per_s"]
    results["speed_ratio_medadapt_over_hf"] = round(ratio, 3)
    print(json.dumps(results, indent=1))
    print(
        f"\nrecords/s medadapt {results['medadapt']['records_per_s']} vs HF pipeline "
        f"{results['hf_pipeline']['records_per_s']} (ratio {ratio:.2f}); AUROC {results['medadapt']['auroc']} vs "
        f"{results['hf_pipeline']['auroc']} on {lengths['records']} test records of median {lengths['median']} tokens"
    )
    d = results["auroc_medadapt_minus_hf"]
    print(
        f"AUROC medadapt - HF: {d['difference']:+.3f}, 95% CI [{d['low']:+.3f}, {d['high']:+.3f}], p {d['p_value']:.4f}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
