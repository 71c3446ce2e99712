"""Diagnostic: medadapt's training loop and the Hugging Face Trainer, step by step on identical batches.

Both start from the same model folder and seed with dropout off; medadapt's batch order is fixed and the Trainer
reads the same examples in that order (SequentialSampler). The loss at every step and the largest weight difference
at the end must agree up to float noise if the two loops do the same optimisation (AdamW groups, linear warm-up
and decay, clipping, autocast); a dev evaluation and a best-model save run between medadapt's epochs. Data: the
work folder of `bench/ner.py --work bench/out/ner-bench` (CoNLL files and the trimmed model).

    .venv/bin/python bench/ner_loop_equivalence.py --examples 160 --epochs 2 [--precision bf16]

With `--dropout` the model keeps its dropout, so the two runs differ by their dropout masks only and the losses
drift apart; `--examples 0 --epochs 6 --shuffle-each-epoch --dropout --score` then trains both loops on the same
full schedule (a new uniform order each epoch, as the Trainer's RandomSampler) and scores both final models on the
work folder's dev and test sets with the same decoder: equal F1 (within seed noise) means the loops are
interchangeable and any gap in `bench/ner.py` comes from what differs there (batch order, model selection).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

import medadapt.training as training
from medadapt.config import build_config
from medadapt.metrics import evaluate_entities
from medadapt.tasks.ner import recipe as ner
from medadapt.tasks.ner.batches import make_collate
from medadapt.tasks.ner.config import NerConfig
from medadapt.tasks.ner.data import DataReport
from medadapt.tasks.ner.tags import LabelMap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", default="bench/out/ner-bench")
    parser.add_argument("--examples", type=int, default=160)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    parser.add_argument("--dropout", action="store_true", help="keep the model's dropout (default: off)")
    parser.add_argument("--shuffle-each-epoch", action="store_true", help="a new batch order every epoch")
    parser.add_argument("--score", action="store_true", help="strict micro-F1 of both final models on dev/test")
    args = parser.parse_args()
    from datasets import Dataset
    from transformers import (
        AutoModelForTokenClassification,
        DataCollatorForTokenClassification,
        Trainer,
    )

    from hf_trainer_args import cpu_training_arguments

    work = Path(args.work)
    model_dir = str(work / "model-trimmed")
    train_section = {"epochs": args.epochs, "batch_size": args.batch_size, "learning_rate": args.lr, "seed": args.seed}
    config = build_config(
        NerConfig,
        {
            "model": model_dir,
            "data": {"train": str(work / "data" / "train.conll"), "format": "conll", "lang": "es"},
            "encoding": {"max_length": 128, "stride": 32},
            "training": train_section | {"weight_decay": 0.01, "warmup_ratio": 0.1, "precision": args.precision},
            "out_dir": str(work / "loop-equivalence"),
        },
        source="bench",
    )
    tokenizer = ner.load_tokenizer(model_dir)
    report = DataReport()
    _, docs = ner.load_split(config, "train", report)
    label_map = LabelMap.from_documents(docs, "IOB2")
    windows = ner.encode_split(docs, tokenizer, label_map, config, "train", report)
    examples = [w.features() for w in windows][: args.examples or None]
    # whole batches only: the Trainer reads all epochs as one, so a short last batch would shift every later one
    examples = examples[: len(examples) - len(examples) % args.batch_size]

    def epoch_batches(epoch: int) -> list[list[int]]:
        seed = epoch if args.shuffle_each_epoch else 0
        order = torch.randperm(len(examples), generator=torch.Generator().manual_seed(seed)).tolist()
        return [order[k : k + args.batch_size] for k in range(0, len(order), args.batch_size)]

    # medadapt asks for epoch e's batches with seed = seed * 1000 + e; the Trainer reads them laid out in `rows`
    training.length_grouped_batches = lambda _lengths, _size, seed, **_: epoch_batches(seed % 1000)
    dev_docs, dev_windows = docs[:50], [w for w in windows if w.doc_id in {d.id for d in docs[:50]}]
    scores = iter(range(1, args.epochs + 1))

    def evaluate(model: torch.nn.Module) -> dict[str, float]:
        ner.predict_documents(model, dev_docs, dev_windows, label_map, tokenizer.pad_token_id, 32)
        return {"f1": float(next(scores))}  # rising: every epoch saves a best model

    off = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0, "classifier_dropout": 0.0}

    def fresh_model() -> torch.nn.Module:
        torch.manual_seed(args.seed)
        return AutoModelForTokenClassification.from_pretrained(
            model_dir,
            num_labels=label_map.num_labels,
            id2label=label_map.id2label,
            label2id=label_map.label2id,
            **({} if args.dropout else off),
        )

    def recorder(losses: list[float]):
        return lambda module, _, out: losses.append(float(out.loss)) if module.training else None

    ours, theirs = [], []
    model = fresh_model()
    model.register_forward_hook(recorder(ours))
    collate = make_collate(tokenizer.pad_token_id)
    out = work / "loop-equivalence"
    training.train(model, examples, collate, evaluate, config.training, out, tokenizer=tokenizer, show_progress=False)

    class InOrder(Trainer):
        def _get_train_sampler(self, *_, **__):
            return torch.utils.data.SequentialSampler(self.train_dataset)

    rows = [examples[i] for e in range(1, args.epochs + 1) for b in epoch_batches(e) for i in b]
    hf_model = fresh_model()
    hf_model.register_forward_hook(recorder(theirs))
    trainer_args = cpu_training_arguments(
        out / "hf",
        batch_size=args.batch_size,
        lr=args.lr,
        epochs=1,  # the epochs are laid out in `rows`
        warmup_steps=int(0.1 * len(rows) / args.batch_size),
        seed=args.seed,
        precision=args.precision,
    )
    dataset = Dataset.from_list([{k: r[k] for k in ("input_ids", "attention_mask", "labels")} for r in rows])
    trainer = InOrder(
        model=hf_model,
        args=trainer_args,
        train_dataset=dataset,
        data_collator=DataCollatorForTokenClassification(tokenizer),
    )
    trainer.train()
    for name, trained in (("medadapt-final", model), ("trainer-final", hf_model)):
        trained.save_pretrained(out / name)  # kept: score them again without retraining
    print("step | medadapt loss | Trainer loss | difference")
    for step, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        print(f"{step} | {a:.6f} | {b:.6f} | {a - b:+.2e}")
    mine, hf = model.state_dict(), hf_model.state_dict()
    diff = max(float((mine[k] - hf[k]).abs().max()) for k in mine)
    print(f"steps: medadapt {len(ours)}, Trainer {len(theirs)}; max |weight difference| at the end: {diff:.2e}")
    if args.score:
        for split in ("dev", "test"):
            path = work / "data" / f"{split}.conll"
            split_config = config.model_copy(update={"data": config.data.model_copy(update={split: str(path)})})
            gold, split_docs = ner.load_split(split_config, split, report)
            split_windows = ner.encode_split(split_docs, tokenizer, label_map, split_config, split, report)
            for name, trained in (("medadapt loop", model), ("Trainer", hf_model)):
                trained.eval()
                with torch.no_grad():
                    pred = ner.predict_documents(
                        trained, split_docs, split_windows, label_map, tokenizer.pad_token_id, 32
                    )
                print(f"{split} strict micro-F1, {name}: {evaluate_entities(gold, pred).strict.micro.f1:.4f}")


if __name__ == "__main__":
    main()
