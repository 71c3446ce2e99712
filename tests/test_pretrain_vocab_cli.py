"""`medadapt vocab trim|extend` from the command line on a built corpus."""

from __future__ import annotations

import json
from pathlib import Path

from transformers import AutoModelForMaskedLM, AutoTokenizer

from medadapt.cli import main
from medadapt.corpus import CorpusBuildConfig, build_corpus
from tests.tiny import CLINICAL_SENTENCES, tiny_bert, wordpiece_tokenizer


def test_vocab_trim_and_extend_commands(tmp_path: Path) -> None:
    texts = CLINICAL_SENTENCES * 20
    tokenizer = wordpiece_tokenizer(texts, vocab_size=90)
    model_dir = tmp_path / "model"
    tiny_bert(len(tokenizer)).save_pretrained(model_dir)
    tokenizer.save_pretrained(model_dir)
    corpus_file = tmp_path / "notes.jsonl"
    corpus_file.write_text(
        "".join(json.dumps({"id": str(i), "text": t}) + "\n" for i, t in enumerate(CLINICAL_SENTENCES[:3]))
    )
    build_corpus(
        CorpusBuildConfig(
            inputs=[str(corpus_file)],
            tokenizer=str(model_dir),
            out=str(tmp_path / "corpus"),
            block_size=16,
            val_fraction=0.0,
            dedup={"near": False},
        ),
        show_progress=False,
    )
    assert main(["vocab", "trim", str(model_dir), str(tmp_path / "corpus"), "--out", str(tmp_path / "trim")]) == 0
    trimmed = AutoTokenizer.from_pretrained(tmp_path / "trim")
    assert len(trimmed) < len(tokenizer)
    assert AutoModelForMaskedLM.from_pretrained(tmp_path / "trim").get_input_embeddings().weight.shape[0] == len(
        trimmed
    )
    assert (
        main(
            [
                "vocab",
                "extend",
                str(model_dir),
                str(corpus_file),
                "--out",
                str(tmp_path / "ext"),
                "--top-k",
                "2",
                "--min-pieces",
                "2",
            ]
        )
        == 0
    )
    report = json.loads((tmp_path / "ext" / "vocab_extension.json").read_text())
    assert report["added"] == 2
    assert len(AutoTokenizer.from_pretrained(tmp_path / "ext")) == len(tokenizer) + 2
    # a corpus built with another tokenizer is refused, with exit code 2
    other = tmp_path / "other"
    wordpiece_tokenizer(texts, vocab_size=150).save_pretrained(other)
    tiny_bert(150).save_pretrained(other)
    assert main(["vocab", "trim", str(other), str(tmp_path / "corpus"), "--out", str(tmp_path / "x")]) == 2
