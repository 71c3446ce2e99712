"""`medadapt data split` (medadapt.tasks.ner.splits) and the NER configs for real data (MoNERo, PharmaCoNER CoNLL)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from medadapt.cli import main
from medadapt.config import load_config
from medadapt.documents import Document, Span
from medadapt.errors import ConfigError
from medadapt.io import read_documents, write_documents
from medadapt.tasks.ner.config import NerConfig
from medadapt.tasks.ner.splits import parse_fractions, split_documents, split_indices

PROJECT_ROOT = Path(__file__).resolve().parents[3]
MONERO_TYPES = {"DISO": 6835, "CHEM": 4225, "ANAT": 2031, "PROC": 1451}  # PROVENANCE.txt, measured


def test_split_indices_deterministic_disjoint_complete() -> None:
    a = split_indices(1000, (0.8, 0.1, 0.1), seed=0)
    assert a == split_indices(1000, (0.8, 0.1, 0.1), seed=0)
    assert [len(p) for p in a] == [800, 100, 100]
    assert sorted(i for part in a for i in part) == list(range(1000))
    other = split_indices(1000, (0.8, 0.1, 0.1), seed=1)
    assert other != a and [len(p) for p in other] == [800, 100, 100]
    assert split_indices(0, (0.8, 0.1, 0.1), 0) == ([], [], [])
    assert [len(p) for p in split_indices(3, (1, 0, 0), 5)] == [3, 0, 0]


def test_parse_fractions() -> None:
    assert parse_fractions("8,1,1") == pytest.approx((0.8, 0.1, 0.1))
    for bad in ("0.8,0.2", "-1,1,1", "0,0,0"):
        with pytest.raises(ConfigError):
            parse_fractions(bad)


@pytest.fixture(scope="module")
def monero(shared_data: Path) -> Path:
    return shared_data / "ro/monero"


def _sentences(docs: list[Document]) -> Counter[tuple[str, str]]:
    return Counter((d.id, d.text) for d in docs)


def test_monero_sentence_split_real_data(monero: Path, tmp_path: Path) -> None:
    result = split_documents([monero / "MoNERo.txt"], fractions=(0.8, 0.1, 0.1), seed=0, fmt="conll", label_column=2)
    again = split_documents([monero / "MoNERo.txt"], fractions=(0.8, 0.1, 0.1), seed=0, fmt="conll", label_column=2)
    parts = result.parts
    assert {p: [d.id for d in docs] for p, docs in parts.items()} == {
        p: [d.id for d in docs] for p, docs in again.parts.items()
    }
    assert [len(parts[p]) for p in ("train", "dev", "test")] == [3987, 498, 499]
    ids = [d.id for docs in parts.values() for d in docs]
    assert len(ids) == len(set(ids)) == 4984  # disjoint and complete
    counts = result.counts()
    assert sum(c["entities"] for c in counts.values()) == 14542
    by_type = Counter()
    for c in counts.values():
        by_type.update(c["by_type"])
    assert dict(by_type) == MONERO_TYPES
    # the written files read back with the same sentences and entities (default label column: the tag)
    assert main(["data", "split", str(monero / "MoNERo.txt"), "--out", str(tmp_path), "--format", "conll",
                 "--label-column", "2", "--seed", "0"]) == 0  # fmt: skip
    back = {p: list(read_documents(tmp_path / f"{p}.conll", "conll")) for p in ("train", "dev", "test")}
    assert [len(back[p]) for p in back] == [3987, 498, 499]
    for p in back:
        assert [d.text for d in back[p]] == [d.text for d in parts[p]]
        assert sum(len(d.spans) for d in back[p]) == counts[p]["entities"]
    assert (tmp_path / "split_report.json").is_file()


def test_monero_stratified_by_domain_files(monero: Path) -> None:
    files = [monero / f"MoNERo_{d}.txt" for d in ("cardiology", "diabetes", "endocrinology")]
    result = split_documents(files, seed=0, fmt="conll", label_column=2)
    assert sum(len(docs) for docs in result.parts.values()) == 4984
    assert sum(c["entities"] for c in result.counts().values()) == 14542
    dev_by_file = Counter(d.id.split(":")[0] for d in result.parts["dev"])
    assert dev_by_file == {"MoNERo_cardiology": 203, "MoNERo_diabetes": 214, "MoNERo_endocrinology": 82}


def test_document_split_brat(tmp_path: Path) -> None:
    docs = [Document(id=f"d{i}", text=f"dolor {i}", spans=[Span(0, 5, "SYMPTOM")]) for i in range(20)]
    write_documents(docs, tmp_path / "in", "brat")
    assert main(["data", "split", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--unit", "document",
                 "--fractions", "0.5,0.25,0.25"]) == 0  # fmt: skip
    names = {p: sorted(f.stem for f in (tmp_path / "out" / p).glob("*.txt")) for p in ("train", "dev", "test")}
    assert [len(v) for v in names.values()] == [10, 5, 5]
    assert sorted(n for v in names.values() for n in v) == sorted(d.id for d in docs)
    with pytest.raises(ConfigError):
        split_documents([tmp_path / "in"], unit="sentence")


@pytest.mark.parametrize("name", ["monero.yaml", "pharmaconer-conll.yaml"])
def test_real_data_configs_validate(name: str) -> None:
    config = load_config(NerConfig, PROJECT_ROOT / "configs/ner" / name)
    assert config.data.format == "conll" and config.data.dev and config.data.test


def test_pharmaconer_config_reads_real_data(shared_data: Path) -> None:
    config = load_config(NerConfig, PROJECT_ROOT / "configs/ner/pharmaconer-conll.yaml")
    expected = {"train": 5047, "dev": 563, "test": 1842}  # PROVENANCE.txt, measured
    for split, entities in expected.items():
        path = PROJECT_ROOT / getattr(config.data, split)
        assert path.resolve() == (shared_data / f"es/pharmaconer/conll-congsun/{split}.txt").resolve()
        docs = list(read_documents(path, config.data.format, label_column=config.data.label_column))
        assert sum(len(d.spans) for d in docs) == entities
