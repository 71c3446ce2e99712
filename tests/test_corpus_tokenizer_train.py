"""Tokenizer training is reproducible: the same text gives the same vocabulary, ids included, on every run.

The plain `tokenizers` WordPiece trainer does not (huggingface/tokenizers#1794): the first test shows the upstream
behaviour this module works around, so that it fails loudly — and the workaround can go — once upstream is fixed.
"""

from __future__ import annotations

import random
from pathlib import Path

from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
from transformers import AutoTokenizer

from medadapt.corpus import train_tokenizer
from medadapt.corpus.tokenizer_train import SPECIAL_TOKENS, train_wordpiece

WORDS = "pacient diabet zaharat hipertensiune arteriala metformina insulina dolor toracic disnea".split()


def _texts(n: int = 60) -> list[str]:
    rng = random.Random(0)
    return [" ".join(rng.choice(WORDS)[: rng.randint(3, 9)] for _ in range(12)) + "." for _ in range(n)]


def _vocab(tok: Tokenizer) -> tuple:
    return tuple(sorted(tok.get_vocab().items()))


def test_upstream_wordpiece_trainer_is_not_reproducible() -> None:
    texts = _texts()
    vocabularies = set()
    for _ in range(8):
        tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
        tok.normalizer = normalizers.BertNormalizer(lowercase=False)
        tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
        tok.train_from_iterator(texts, trainers.WordPieceTrainer(vocab_size=120, special_tokens=SPECIAL_TOKENS))
        vocabularies.add(_vocab(tok))
    assert len(vocabularies) > 1  # if this fails, upstream fixed #1794: train_wordpiece's workaround can go


def test_train_wordpiece_gives_one_vocabulary_and_decodes_continuations() -> None:
    texts = _texts()
    runs = [
        train_wordpiece(lambda: texts, normalizers.BertNormalizer(lowercase=False), vocab_size=120, min_frequency=0)
        for _ in range(8)
    ]
    assert len({_vocab(tok) for tok in runs}) == 1
    tok = runs[0]
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == list(range(len(SPECIAL_TOKENS)))
    encoding = tok.encode("hipertensiunezaharat metformina")
    assert any(piece.startswith("##") for piece in encoding.tokens)
    assert tok.decode(encoding.ids) == "hipertensiunezaharat metformina"  # "##" pieces are not special tokens


def test_train_tokenizer_folders_are_identical_across_runs(tmp_path: Path) -> None:
    source = tmp_path / "notes.txt"
    source.write_text("\n".join(_texts(200)) + "\n", encoding="utf-8")
    folders = [
        train_tokenizer([str(source)], tmp_path / f"tok{i}", vocab_size=150, show_progress=False) for i in range(3)
    ]
    contents = {(folder / "tokenizer.json").read_bytes() for folder in folders}
    assert len(contents) == 1
    loaded = AutoTokenizer.from_pretrained(str(folders[0]))
    text = "pacient cu diabet zaharat"
    assert loaded.decode(loaded(text)["input_ids"], skip_special_tokens=True) == text
