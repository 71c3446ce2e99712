"""Packed shards: token-exact round trip, word starts, no token lost across tiny shards, manifest = disk, splits."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

import numpy as np
import pytest

from medadapt.corpus import CorpusBuildConfig, build_corpus, open_corpus
from medadapt.corpus.build import _validation_split
from medadapt.corpus.clean import clean_text
from medadapt.errors import InputError

WORDS = str.split(
    "paciente varón de años con antecedentes hipertensión arterial diabetes mellitus tipo ingresa por dolor "
    "torácico opresivo irradiado brazo izquierdo electrocardiograma muestra elevación segmento troponina "
    "ecocardiografía fracción eyección conservada tratamiento ácido acetilsalicílico clopidogrel atorvastatina "
    "evolución favorable alta domicilio seguimiento consultas externas cardiología nefrectomía colecistectomía"
)


def mbert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from transformers import BertTokenizerFast

    folder = tmp_path_factory.mktemp("mbert")
    vocab = Path(__file__).resolve().parents[2] / "shared" / "data" / "vocab" / "mbert-cased-vocab.txt"
    BertTokenizerFast(vocab=str(vocab), do_lower_case=False).save_pretrained(str(folder))
    return folder


@pytest.fixture(scope="module")
def mbert_dir(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Path:
    return mbert(tmp_path_factory)


def make_docs(n: int, seed: int = 0) -> list[dict[str, str]]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        sentences = []
        for _ in range(rng.randint(1, 6)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(4, 18))]
            words.insert(rng.randrange(len(words)), str(rng.randint(1, 999)))
            sentences.append(" ".join(words).capitalize() + rng.choice([".", ";", ".", "?"]))
        docs.append({"id": f"doc{i:04d}", "text": " ".join(sentences)})
    return docs


def write_jsonl(path: Path, docs: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs), encoding="utf-8")
    return path


def expected_streams(tokenizer_dir: Path, docs: list[dict[str, str]], seed: int, fraction: float) -> dict:
    """Per split: the kept documents' tokens (no specials) and word starts, in input order."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(tokenizer_dir))
    split_of = _validation_split(seed, fraction)
    out: dict[str, list[tuple[list[int], list[int]]]] = {"train": [], "validation": []}
    for d in docs:
        enc = tok(clean_text(d["text"]), add_special_tokens=False)
        wids = enc.word_ids()
        starts = [int(i == 0 or wids[i] != wids[i - 1]) for i in range(len(wids))]
        out[split_of(d["id"])].append((enc["input_ids"], starts))
    return out


def content_of(corpus, split: str) -> tuple[list[int], list[int]]:
    ids: list[int] = []
    starts: list[int] = []
    for block in corpus.split(split):
        assert block.input_ids[0] == corpus.manifest["tokenizer"]["special_ids"]["cls"]
        assert block.input_ids[block.length - 1] == corpus.manifest["tokenizer"]["special_ids"]["sep"]
        assert block.word_starts[0] == 0 and block.word_starts[block.length - 1] == 0
        ids += block.input_ids[1 : block.length - 1].tolist()
        starts += block.word_starts[1 : block.length - 1].tolist()
    return ids, starts


def build(tmp_path: Path, tokenizer: Path, docs: list[dict[str, str]], **kwargs) -> tuple[dict, Path]:
    out = tmp_path / kwargs.pop("name", "out")
    src = write_jsonl(tmp_path / "docs.jsonl", docs)
    cfg = CorpusBuildConfig(inputs=[str(src)], tokenizer=str(tokenizer), out=str(out), **kwargs)
    return build_corpus(cfg, show_progress=False), out


def test_cross_doc_blocks_reproduce_the_token_stream_across_tiny_shards(tmp_path: Path, mbert_dir: Path) -> None:
    docs = make_docs(300)
    stats, out = build(tmp_path, mbert_dir, docs, block_size=32, val_fraction=0.2, shard_max_mb=0.001, batch_chars=2000)
    assert stats["documents"]["kept"] == 300
    corpus = open_corpus(out, verify=True)
    assert corpus.manifest["dtype"] == "int32"  # mBERT's 119,547 ids do not fit uint16
    sep = corpus.manifest["tokenizer"]["special_ids"]["sep"]
    expected = expected_streams(mbert_dir, docs, seed=0, fraction=0.2)
    for split in ("train", "validation"):
        assert len(corpus.manifest["splits"][split]["shards"]) > 1, "tiny shards were forced"
        want_ids: list[int] = []
        want_starts: list[int] = []
        for i, (ids, starts) in enumerate(expected[split]):
            if i:
                want_ids.append(sep)
                want_starts.append(0)
            want_ids += ids
            want_starts += starts
        got_ids, got_starts = content_of(corpus, split)
        assert got_ids == want_ids, f"{split}: tokens lost, duplicated or reordered"
        assert got_starts == want_starts, f"{split}: word starts differ from word_ids()"
        assert sum(1 for b in corpus.split(split) if b.length < 32) <= 1  # only the last block is padded
    assert len(expected["validation"]) == stats["splits"]["validation"]["documents"] > 0


def test_no_cross_doc_keeps_documents_apart(tmp_path: Path, mbert_dir: Path) -> None:
    docs = make_docs(60, seed=1)
    _, out = build(tmp_path, mbert_dir, docs, block_size=24, val_fraction=0.0, cross_doc_boundaries=False)
    corpus = open_corpus(out)
    pad = corpus.manifest["tokenizer"]["special_ids"]["pad"]
    expected = expected_streams(mbert_dir, docs, seed=0, fraction=0.0)["train"]
    blocks = list(corpus.split("train"))
    position = 0
    for ids, _ in expected:
        got: list[int] = []
        while len(got) < len(ids):
            block = blocks[position]
            got += block.input_ids[1 : block.length - 1].tolist()
            assert (block.input_ids[block.length :] == pad).all()
            position += 1
        assert got == ids, "a block mixes documents or loses tokens"
    assert position == len(blocks)
    assert any(
        name.endswith(".lengths.npy") for name in corpus.manifest["splits"]["train"]["shards"][0]["files"].values()
    )


def test_manifest_counts_equal_files_on_disk(tmp_path: Path, mbert_dir: Path) -> None:
    _, out = build(tmp_path, mbert_dir, make_docs(120, seed=2), block_size=32, val_fraction=0.1, shard_max_mb=0.002)
    manifest = json.loads((out / "manifest.json").read_text())
    total_blocks = total_tokens = 0
    for split in ("train", "validation"):
        info = manifest["splits"][split]
        blocks = tokens = 0
        for shard in info["shards"]:
            arr = np.load(out / shard["files"]["tokens"])
            assert arr.shape == (shard["n_blocks"], 32) and arr.dtype == np.int32
            lengths = np.load(out / shard["files"]["lengths"]) if "lengths" in shard["files"] else None
            n_tokens = int(lengths.sum()) if lengths is not None else arr.size
            assert n_tokens == shard["n_tokens"]
            for name, digest in shard["sha256"].items():
                assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest
            blocks += shard["n_blocks"]
            tokens += n_tokens
        assert (blocks, tokens) == (info["n_blocks"], info["n_tokens"])
        total_blocks += blocks
        total_tokens += tokens
    assert (manifest["totals"]["n_blocks"], manifest["totals"]["n_tokens"]) == (total_blocks, total_tokens)
    on_disk = {p.name for p in out.glob("*.npy")}
    listed = {n for s in ("train", "validation") for sh in manifest["splits"][s]["shards"] for n in sh["sha256"]}
    assert on_disk == listed
    assert manifest["tokenizer"]["vocab_size"] == 119547 and len(manifest["tokenizer"]["vocab_hash"]) == 64
    assert manifest["inputs"] and (out / "resolved_config.yaml").is_file()


def test_open_corpus_rejects_missing_or_changed_files(tmp_path: Path, mbert_dir: Path) -> None:
    _, out = build(tmp_path, mbert_dir, make_docs(40, seed=3), block_size=32, val_fraction=0.0)
    shard = json.loads((out / "manifest.json").read_text())["splits"]["train"]["shards"][0]
    tokens = out / shard["files"]["tokens"]
    arr = np.load(tokens)
    arr[0, 1] += 1
    np.save(tokens, arr)
    open_corpus(out)  # shapes still agree
    with pytest.raises(InputError, match="sha256"):
        open_corpus(out, verify=True)
    np.save(tokens, arr[:-1])
    with pytest.raises(InputError, match="manifest says"):
        open_corpus(out)
    tokens.unlink()
    with pytest.raises(InputError, match="missing"):
        open_corpus(out)
    with pytest.raises(InputError, match=r"manifest\.json missing"):
        open_corpus(tmp_path / "nowhere")


def test_validation_split_is_deterministic_disjoint_and_stable_under_growth() -> None:
    ids = [f"note-{i}" for i in range(20000)]
    split = _validation_split(7, 0.1)
    first = {i for i in ids if split(i) == "validation"}
    assert 1700 < len(first) < 2300
    assert first == {i for i in ids if _validation_split(7, 0.1)(i) == "validation"}
    assert first != {i for i in ids if _validation_split(8, 0.1)(i) == "validation"}
    grown = ids + [f"new-{i}" for i in range(5000)]
    assert first == {i for i in grown[:20000] if split(i) == "validation"}


def test_split_and_shards_are_reproducible(tmp_path: Path, mbert_dir: Path) -> None:
    docs = make_docs(80, seed=4)
    _, a = build(tmp_path, mbert_dir, docs, block_size=32, val_fraction=0.25, name="a", workers=0)
    _, b = build(tmp_path, mbert_dir, docs, block_size=32, val_fraction=0.25, name="b", workers=2)
    ma, mb = (json.loads((p / "manifest.json").read_text()) for p in (a, b))
    assert ma["splits"] == mb["splits"], "worker processes change nothing but speed"


def test_word_starts_follow_word_ids_for_a_unigram_tokenizer(tmp_path: Path) -> None:
    """Non-WordPiece tokenizers take the generic path: flags derived from word_ids()."""
    from transformers import AutoTokenizer

    from medadapt.corpus import train_tokenizer
    from medadapt.corpus.tokenize import BatchEncoder

    docs = make_docs(40, seed=6)
    src = write_jsonl(tmp_path / "train.jsonl", docs)
    folder = train_tokenizer([str(src)], tmp_path / "uni", vocab_size=150, model_type="unigram", show_progress=False)
    tok = AutoTokenizer.from_pretrained(str(folder))
    texts = [d["text"] for d in docs]
    batch = BatchEncoder(tok.backend_tokenizer.to_str())(texts)
    want: list[bool] = []
    for text in texts:
        wids = tok(text, add_special_tokens=False).word_ids()
        want += [i == 0 or wids[i] != wids[i - 1] for i in range(len(wids))]
    assert batch.word_starts.tolist() == want
    assert batch.doc_words.sum() == sum(want)


def test_small_vocab_uses_uint16(tmp_path: Path) -> None:
    from medadapt.corpus import train_tokenizer

    docs = make_docs(50, seed=5)
    src = write_jsonl(tmp_path / "train.jsonl", docs)
    tok = train_tokenizer([str(src)], tmp_path / "tok", vocab_size=200, show_progress=False)
    _, out = build(tmp_path, tok, docs, block_size=16, val_fraction=0.0)
    corpus = open_corpus(out)
    assert corpus.manifest["dtype"] == "uint16"
    assert corpus.split("train")[0].input_ids.dtype == np.uint16


def test_most_split_words_match_a_brute_force_count(tmp_path: Path, mbert_dir: Path) -> None:
    from collections import Counter

    from transformers import AutoTokenizer

    docs = make_docs(150, seed=7)
    stats, _ = build(tmp_path, mbert_dir, docs, block_size=64, top_split_words=10)
    tok = AutoTokenizer.from_pretrained(str(mbert_dir))
    counts: Counter[tuple[int, ...]] = Counter()
    for d in docs:
        enc = tok(clean_text(d["text"]), add_special_tokens=False)
        pieces: dict[int, list[int]] = {}
        for token, word in zip(enc["input_ids"], enc.word_ids(), strict=True):
            pieces.setdefault(word, []).append(token)
        counts.update(tuple(p) for p in pieces.values() if len(p) >= 2)
    want = [(tok.decode(list(ids)), n, len(ids)) for ids, n in counts.most_common(10)]
    got = [(w["word"], w["count"], w["pieces"]) for w in stats["split_words"]["top"]]
    assert sorted(got, key=lambda x: (-x[1], x[0])) == sorted(want, key=lambda x: (-x[1], x[0]))
    assert stats["split_words"]["exact"]
