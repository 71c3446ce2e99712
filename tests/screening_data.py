"""A trivially learnable screening task for tests: a patient is positive when one of its notes contains the
indicator word, placed late in the note (beyond what a head-only model of the tests' chunk size sees)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import torch

from tests.tiny import tiny_bert, wordpiece_tokenizer

FILLERS = (
    "patient control visit routine blood pressure stable medication continued no complaints follow up weeks "
    "advice diet exercise normal values reviewed plan discussed"
).split()
INDICATOR = "herpeszoster"


def note_text(rng: random.Random, words: int, indicator_at: int | None) -> str:
    tokens = [rng.choice(FILLERS) for _ in range(words)]
    if indicator_at is not None:
        tokens[indicator_at] = INDICATOR
    return " ".join(tokens) + "."


def write_split(path: Path, n_patients: int, positives: int, seed: int, prefix: str, words: int = 90) -> list[dict]:
    """JSONL notes: 2 per patient, dated; positives carry the indicator after word 60 of one note."""
    rng = random.Random(seed)
    records = []
    for i in range(n_patients):
        positive = i < positives
        carrier = rng.randrange(2)
        for n in range(2):
            at = rng.randrange(60, words) if positive and n == carrier else None
            records.append(
                {
                    "id": f"{prefix}{i}-n{n}",
                    "text": note_text(rng, words, at),
                    "label": "1" if positive else "0",
                    "patient_id": f"{prefix}{i}",
                    "date": f"2022-0{n + 1}-15",
                }
            )
    rng.shuffle(records)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return records


def write_task(root: Path, n_train: int = 40) -> dict[str, str]:
    root.mkdir(parents=True, exist_ok=True)
    paths = {}
    sizes = {"train": (n_train, n_train * 7 // 20, 1), "dev": (16, 6, 2), "test": (16, 6, 3)}
    for split, (n, pos, seed) in sizes.items():
        write_split(root / f"{split}.jsonl", n, pos, seed, f"{split[:2]}-P")
        paths[split] = str(root / f"{split}.jsonl")
    return paths


def write_model(root: Path) -> str:
    texts = [note_text(random.Random(s), 60, 5) for s in range(20)]
    tokenizer = wordpiece_tokenizer(texts, vocab_size=300)
    # no dropout: a from-scratch 2-layer model learns the keyword rule in a few hundred steps only without it.
    # Seeded: the initial weights must not depend on how much of torch's global RNG earlier tests used (an
    # unseeded init made the windows run fail to learn when the test order changed; with seed 0 it learns but
    # its top evidence chunk holds the keyword for only 2 of the positives — seeds 1-3 pass everything).
    torch.manual_seed(1)
    model = tiny_bert(
        len(tokenizer),
        max_position_embeddings=128,
        hidden_size=64,
        intermediate_size=128,
        hidden_dropout_prob=0.0,
        attention_probs_dropout_prob=0.0,
    )
    model.save_pretrained(root)
    tokenizer.save_pretrained(root)
    return str(root)
