"""Screening data: patients, labels, the checks that refuse bad files, patient-grouped splits, chunking."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from medadapt.config import build_config
from medadapt.documents import Document
from medadapt.errors import ConfigError, InputError
from medadapt.tasks.screening.chunks import encode_patients
from medadapt.tasks.screening.config import ChunkingSection, ScreeningConfig
from medadapt.tasks.screening.data import (
    LabelSpace,
    Patient,
    check_no_leak,
    downsample,
    grouped_split,
    load_splits,
    read_notes,
)
from tests.screening_data import write_model, write_split


def _config(train: Path, top: dict | None = None, **data) -> ScreeningConfig:
    return build_config(ScreeningConfig, {"model": "unused", "data": {"train": str(train), **data}, **(top or {})})


def _write(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _note(i: int, patient: str, label: str, **extra) -> dict:
    return {"id": f"n{i}", "text": f"note {i} text", "label": label, "patient_id": patient, **extra}


def test_notes_group_into_patients_newest_first(tmp_path):
    train = _write(
        tmp_path / "train.jsonl",
        [
            _note(1, "A", "1", date="2020-01-01"),
            _note(2, "B", "0", date="2021-05-01"),
            _note(3, "A", "1", date="2022-03-04"),
            _note(4, "A", "1"),
        ],
    )
    splits, space, report = load_splits(_config(train, split=(0.5, 0.5, 0.0)))
    patients = {p.id: p for ps in splits.values() for p in ps}
    assert [n.id for n in patients["A"].notes] == ["n3", "n1", "n4"]  # newest first, undated last
    assert space == LabelSpace("binary", ("0", "1"))
    assert report["train"]["notes_without_date"] == 1


def test_inconsistent_patient_labels_are_refused_with_location(tmp_path):
    train = _write(tmp_path / "train.jsonl", [_note(1, "A", "1"), _note(2, "A", "0"), _note(3, "B", "0")])
    with pytest.raises(InputError, match=r"patient 'A' has notes with different labels") as err:
        load_splits(_config(train))
    assert err.value.path.endswith("train.jsonl") and err.value.line == 1


def test_unit_note_keeps_note_labels(tmp_path):
    train = _write(tmp_path / "train.jsonl", [_note(1, "A", "1"), _note(2, "A", "0"), _note(3, "B", "0")])
    config = _config(train, {"unit": "note"})
    splits, _, _ = load_splits(config)
    assert len(splits["train"]) == 3


@pytest.mark.parametrize(
    ("record", "message"),
    [
        ({"id": "x", "text": "some note", "patient_id": "A"}, "has no label"),
        ({"id": "x", "text": "   ", "label": "1", "patient_id": "A"}, "empty"),
        ({"id": "x", "body": "some note", "label": "1", "patient_id": "A"}, "missing text field|no 'text' field"),
    ],
)
def test_bad_notes_name_file_and_line(tmp_path, record, message):
    train = _write(tmp_path / "train.jsonl", [_note(1, "B", "0"), record])
    with pytest.raises(InputError, match=message) as err:
        load_splits(_config(train))
    assert "train.jsonl" in str(err.value) and "line 2" in str(err.value)


def test_unknown_label_in_dev_is_refused(tmp_path):
    train = _write(tmp_path / "train.jsonl", [_note(1, "A", "1"), _note(2, "B", "0")])
    dev = _write(tmp_path / "dev.jsonl", [_note(3, "C", "maybe")])
    with pytest.raises(InputError, match=r"unknown label 'maybe'.*known labels: \['0', '1'\]"):
        load_splits(_config(train, dev=str(dev)))


def test_leaking_split_is_refused(tmp_path):
    train = _write(tmp_path / "train.jsonl", [_note(1, "A", "1"), _note(2, "B", "0")])
    dev = _write(tmp_path / "dev.jsonl", [_note(3, "A", "1")])
    with pytest.raises(InputError, match=r"patient 'A' is in both train and dev") as err:
        load_splits(_config(train, dev=str(dev)))
    assert err.value.path.endswith("dev.jsonl")


def test_binary_needs_a_known_positive_label(tmp_path):
    train = _write(tmp_path / "train.jsonl", [_note(1, "A", "sick"), _note(2, "B", "well")])
    with pytest.raises(ConfigError, match=r"labels\.positive"):
        load_splits(_config(train))
    _, space, _ = load_splits(_config(train, {"labels": {"positive": "sick"}}))
    assert space.positive == "sick" and space.labels == ("well", "sick")


def test_multiclass_and_multilabel_are_inferred(tmp_path):
    mc = _write(tmp_path / "mc.jsonl", [_note(i, f"P{i}", lab) for i, lab in enumerate("abcab")])
    assert load_splits(_config(mc))[1] == LabelSpace("multiclass", ("a", "b", "c"))
    ml = _write(tmp_path / "ml.jsonl", [_note(1, "A", "x|y"), _note(2, "B", "y"), _note(3, "C", "")])
    with pytest.raises(InputError, match="no label"):
        load_splits(_config(ml))
    ml = _write(tmp_path / "ml.jsonl", [_note(1, "A", "x|y"), _note(2, "B", "y")])
    splits, space, _ = load_splits(_config(ml))
    assert space == LabelSpace("multilabel", ("x", "y"))
    assert space.target(splits["train"][0].label) == [1.0, 1.0]


def test_folder_per_label_format(tmp_path):
    for label, name, text in [("pos", "P1__a", "one"), ("pos", "P1__b", "two"), ("neg", "P2", "three")]:
        (tmp_path / "notes" / label).mkdir(parents=True, exist_ok=True)
        (tmp_path / "notes" / label / f"{name}.txt").write_text(text)
    config = _config(tmp_path / "notes", format="folders")
    docs = read_notes(tmp_path / "notes", config.data)
    assert sorted((d.group, d.label) for d in docs) == [("P1", "pos"), ("P1", "pos"), ("P2", "neg")]


def _patients(n: int, seed: int) -> list[Patient]:
    rng = random.Random(seed)
    return [Patient(f"p{i}", [Document(f"p{i}-n", "t")], "1" if rng.random() < 0.15 else "0") for i in range(n)]


@pytest.mark.parametrize("seed", range(5))
def test_grouped_split_never_leaks_and_is_stratified(seed):
    patients = _patients(300, seed)
    space = LabelSpace("binary", ("0", "1"))
    parts = grouped_split(patients, (0.8, 0.1, 0.1), seed, space)
    ids = [p.id for ps in parts.values() for p in ps]
    assert sorted(ids) == sorted(p.id for p in patients) and len(set(ids)) == len(ids)
    check_no_leak(parts)
    share = sum(p.label == "1" for p in patients) / len(patients)
    for part in parts.values():
        assert abs(sum(p.label == "1" for p in part) / len(part) - share) < 0.05
    assert parts == grouped_split(patients, (0.8, 0.1, 0.1), seed, space)  # rebuildable from the seed


def test_downsample_keeps_positives_and_ratio():
    patients = _patients(200, 1)
    space = LabelSpace("binary", ("0", "1"))
    kept = downsample(patients, space, 1.0, seed=3)
    positives = sum(p.label == "1" for p in patients)
    assert sum(p.label == "1" for p in kept) == positives
    assert sum(p.label == "0" for p in kept) == positives


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from medadapt.loading import load_tokenizer

    return load_tokenizer(write_model(tmp_path_factory.mktemp("model")))


@pytest.mark.parametrize("strategy", ["windows", "head", "head_tail"])
def test_chunks_cover_what_the_strategy_promises(tmp_path, tokenizer, strategy):
    records = write_split(tmp_path / "notes.jsonl", 6, 3, seed=0, prefix="P", words=90)
    config = _config(tmp_path / "notes.jsonl")
    settings = ChunkingSection(strategy=strategy, max_length=32, stride=4)
    splits, space, _ = load_splits(config)
    encoded, report = encode_patients(splits["train"], tokenizer, settings, space)
    assert report.notes == len(records)
    for item in encoded:
        for chunk in item.chunks:
            assert len(chunk.input_ids) <= 32
            assert chunk.input_ids[0] == tokenizer.cls_token_id and chunk.input_ids[-1] == tokenizer.sep_token_id
            text = item.patient.notes[chunk.note].text
            pieces = " ".join(text[a:b] for a, b in chunk.char_ranges)
            assert tokenizer(pieces, add_special_tokens=False)["input_ids"] == chunk.input_ids[1:-1]
        covered = {n: set() for n in range(len(item.patient.notes))}
        for chunk in item.chunks:
            for a, b in chunk.char_ranges:
                covered[chunk.note] |= set(range(a, b))
        for n, note in enumerate(item.patient.notes):
            visible = {i for i, ch in enumerate(note.text) if not ch.isspace()}
            if strategy == "windows":
                assert visible <= covered[n]  # every character of every note reaches the model
            else:
                assert len(visible - covered[n]) > 0 and len([c for c in item.chunks if c.note == n]) == 1
    if strategy == "windows":
        assert report.tokens_seen == report.tokens and report.notes_truncated == 0
    else:
        assert report.notes_truncated == report.notes and report.to_dict()["coverage"] < 0.5


def test_chunk_cap_keeps_newest_notes_and_counts(tmp_path, tokenizer):
    write_split(tmp_path / "notes.jsonl", 4, 2, seed=0, prefix="P", words=90)
    splits, space, _ = load_splits(_config(tmp_path / "notes.jsonl"))
    full, _ = encode_patients(splits["train"], tokenizer, ChunkingSection(max_length=32, stride=4), space)
    capped, report = encode_patients(
        splits["train"], tokenizer, ChunkingSection(max_length=32, stride=4, max_chunks_per_patient=3), space
    )
    assert all(len(c.chunks) == 3 and all(ch.note == 0 for ch in c.chunks) for c in capped)
    assert report.chunks_dropped == sum(len(f.chunks) - 3 for f in full)
    assert report.notes_dropped == len(full)  # each patient's older note lost all its chunks
    assert all(c.features()["n_notes"] == 1 for c in capped)


def test_shipped_screening_configs_validate():
    from medadapt.config import load_config

    for path in sorted((Path(__file__).parents[3] / "configs" / "screening").glob("*.yaml")):
        config = load_config(ScreeningConfig, path)
        assert config.threshold.target_sensitivity == 0.95, path


def test_csv_input_with_configured_columns_and_a_missing_label_column(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("note,body,outcome,pid,when\nn1,first note,1,A,2021-01-01\nn2,second note,0,B,2021-02-01\n")
    config = _config(
        path,
        id_field="note",
        text_field="body",
        label_field="outcome",
        patient_field="pid",
        date_field="when",
        split=(0.5, 0.5, 0.0),
    )
    splits, space, _ = load_splits(config)
    assert sorted(p.id for ps in splits.values() for p in ps) == ["A", "B"] and space.positive == "1"
    wrong = _config(path, id_field="note", text_field="body", label_field="label", patient_field="pid")
    with pytest.raises(InputError, match=r"note 'n1' has no label") as err:
        load_splits(wrong)
    assert err.value.line == 2
