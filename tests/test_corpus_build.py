"""build_corpus and the CLI end to end: filters, de-id hook, config layering, bad input, tokenizer training."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from medadapt.cli import main
from medadapt.corpus import CorpusBuildConfig, build_corpus, open_corpus, train_tokenizer
from medadapt.errors import ConfigError, ModelLoadError

HOOK_MODULE = """
CALLS = []


def deid(text, lang):
    CALLS.append(lang)
    return text.replace("hospital", "[HOSPITAL]")
"""

SPANISH = (
    "El paciente ingresó en el hospital por un dolor abdominal intenso que no cedía con analgésicos. "
    "La exploración física mostró defensa en la fosa ilíaca derecha y se decidió realizar una ecografía."
)
ENGLISH = (
    "The patient was admitted to the hospital because of severe abdominal pain that did not respond to "
    "painkillers. Physical examination showed guarding in the right lower quadrant and an ultrasound was ordered."
)
DUTCH = (
    "De patiënt werd opgenomen in het ziekenhuis wegens hevige buikpijn die niet reageerde op pijnstillers. "
    "Bij lichamelijk onderzoek was er défense in de rechteronderbuik en er werd een echografie aangevraagd."
)


@pytest.fixture(scope="module")
def corpus_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    docs = [{"id": f"es{i}", "text": f"Caso {i}. {SPANISH}"} for i in range(6)]
    docs += [{"id": "en1", "text": ENGLISH}, {"id": "nl1", "text": DUTCH}]
    good = root / "notes.jsonl"
    good.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    bad = root / "bad.jsonl"
    bad.write_text(good.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    text_dir = root / "text"
    text_dir.mkdir()
    for i in range(30):
        (text_dir / f"t{i}.txt").write_text(f"Nota {i}. {SPANISH} {ENGLISH} {DUTCH}", encoding="utf-8")
    tokenizer = train_tokenizer([str(text_dir)], root / "tok", vocab_size=400, show_progress=False)
    return {"good": good, "bad": bad, "text": text_dir, "tokenizer": tokenizer}


def config(files: dict[str, Path], out: Path, **kwargs) -> CorpusBuildConfig:
    base = {"inputs": [str(files["good"])], "tokenizer": str(files["tokenizer"]), "out": str(out), "block_size": 32}
    base["dedup"] = {"near": False}  # the Spanish test notes differ only in their first words
    return CorpusBuildConfig(**(base | kwargs))


def test_language_filter_keeps_only_configured_languages(corpus_files: dict[str, Path], tmp_path: Path) -> None:
    stats = build_corpus(config(corpus_files, tmp_path / "o", languages=["es"], val_fraction=0.0), show_progress=False)
    assert stats["documents"]["removed"]["language"] == 2
    assert stats["documents"]["kept"] == 6
    assert list(stats["fertility"]) == ["es"]


def test_deid_hook_is_called_for_every_kept_document(
    corpus_files: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib

    (tmp_path / "site_deid_hook.py").write_text(HOOK_MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = config(corpus_files, tmp_path / "o", deid="site_deid_hook:deid", languages=["es", "en", "nl"])
    stats = build_corpus(cfg, show_progress=False)
    calls = importlib.import_module("site_deid_hook").CALLS
    assert len(calls) == stats["documents"]["kept"] == 8
    assert set(calls) == {"es", "en", "nl"}


@pytest.mark.parametrize(
    ("hook", "message"),
    [
        ("no_such_package.deid:run", "cannot import module 'no_such_package.deid'"),
        ("json:no_such_function", "has no attribute 'no_such_function'"),
        ("json:__doc__", "is not callable"),
    ],
)
def test_bad_deid_hook_is_a_clear_config_error(
    corpus_files: dict[str, Path], tmp_path: Path, hook: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        build_corpus(config(corpus_files, tmp_path / "o", deid=hook), show_progress=False)


def test_missing_hub_tokenizer_is_a_model_load_error(corpus_files: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="offline"):
        build_corpus(config(corpus_files, tmp_path / "o", tokenizer="no-such-org/no-such-model"), show_progress=False)


def test_cli_build_end_to_end_with_config_layering(
    corpus_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg_file = tmp_path / "corpus.yaml"
    cfg_file.write_text(yaml.safe_dump({"block_size": 16, "dedup": {"threshold": 0.7}, "val_fraction": 0.0}))
    out = tmp_path / "out"
    argv = ["corpus", "build", str(corpus_files["good"]), "--tokenizer", str(corpus_files["tokenizer"])]
    argv += ["--out", str(out), "--config", str(cfg_file), "--set", "dedup.threshold=0.9", "--block-size", "32"]
    assert main(argv) == 0
    for name in ("manifest.json", "stats.json", "stats.md", "resolved_config.yaml"):
        assert (out / name).is_file(), name
    resolved = yaml.safe_load((out / "resolved_config.yaml").read_text())
    assert resolved["config"]["block_size"] == 32  # flag beats file
    assert resolved["config"]["dedup"]["threshold"] == 0.9  # --set beats file
    assert resolved["provenance"]["inputs"]
    assert open_corpus(out).block_size == 32
    captured = capsys.readouterr()
    assert "documents per step" in captured.err + captured.out


def test_cli_bad_input_fails_with_file_and_line(
    corpus_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["corpus", "build", str(corpus_files["bad"]), "--tokenizer", str(corpus_files["tokenizer"])]
    assert main([*argv, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bad.jsonl" in err and "line 9" in err
    assert not (tmp_path / "o" / "manifest.json").exists()


def test_cli_skip_bad_continues_and_reports(
    corpus_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["corpus", "build", str(corpus_files["bad"]), "--tokenizer", str(corpus_files["tokenizer"])]
    assert main([*argv, "--out", str(tmp_path / "o"), "--skip-bad", "--quiet"]) == 0
    stats = json.loads((tmp_path / "o" / "stats.json").read_text())
    assert stats["documents"]["bad_input_skipped"] == 1
    assert stats["documents"]["read"] == 8
    assert "1 bad input skipped" in capsys.readouterr().err


def test_cli_tokenizer_train(corpus_files: dict[str, Path], tmp_path: Path) -> None:
    from transformers import AutoTokenizer

    out = tmp_path / "tok"
    argv = ["tokenizer", "train", str(corpus_files["text"]), "--out", str(out), "--vocab-size", "300"]
    assert main([*argv, "--type", "unigram", "--lowercase", "--quiet"]) == 0
    tok = AutoTokenizer.from_pretrained(str(out))
    assert tok.is_fast and tok.model_max_length == 512
    assert [tok.pad_token, tok.unk_token, tok.cls_token, tok.sep_token, tok.mask_token] == [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
    ]
    ids = tok("Dolor Abdominal")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id
    assert tok.decode(ids, skip_special_tokens=True).strip() == "dolor abdominal"
