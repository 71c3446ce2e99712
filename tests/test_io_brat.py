"""BRAT standoff: offsets checked, discontinuous spans, non-T lines kept, BOM offsets, real round trips."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from medadapt.documents import Document, Span
from medadapt.errors import InputError
from medadapt.io import (
    BadInputReport,
    iter_brat,
    read_brat_document,
    read_documents,
    write_brat,
    write_documents,
)
from medadapt.io.brat import UMLS_GROUPS

TEXT = "El paciente presenta dolor\ntorácico y fiebre alta.\n"
ANN = (
    "T1\tDISO 21 26;27 35\tdolor torácico\n"  # BRAT splits a mention at the line break
    "T2\tDISO 38 44;45 49\tfiebre alta\n"
    "#1\tAnnotatorNotes T1\tC0008031\n"
    "A1\tNegation T2\n"
    "R1\tRel Arg1:T1 Arg2:T2\n"
)


def _pair(folder: Path, name: str, text: str, ann: str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.txt").write_bytes(text.encode("utf-8"))
    if ann is not None:
        (folder / f"{name}.ann").write_bytes(ann.encode("utf-8"))
    return folder / f"{name}.txt"


def _comparable(doc: Document) -> tuple:
    return (doc.id, doc.text, [(s, s.id) for s in doc.spans], doc.meta.get("brat_other"))


def test_reads_spans_fragments_and_keeps_other_lines(tmp_path: Path) -> None:
    txt = _pair(tmp_path, "doc", TEXT, ANN)
    doc = read_brat_document(txt, tmp_path / "doc.ann", lang="es")
    assert [(s.start, s.end, s.label, s.fragments, s.id) for s in doc.spans] == [
        (21, 35, "DISO", ((21, 26), (27, 35)), "T1"),
        (38, 49, "DISO", ((38, 44), (45, 49)), "T2"),
    ]
    assert doc.meta["brat_other"] == [
        "#1\tAnnotatorNotes T1\tC0008031",
        "A1\tNegation T2",
        "R1\tRel Arg1:T1 Arg2:T2",
    ]
    assert doc.text == TEXT and doc.lang == "es"


def test_write_then_read_is_identical_and_splits_spans_at_line_breaks(tmp_path: Path) -> None:
    doc = Document(
        "d",
        TEXT,
        spans=[Span(21, 35, "DISO"), Span(38, 49, "DISO", ((38, 44), (45, 49)), "T7")],
        meta={"brat_other": ["R1\tRel Arg1:T1 Arg2:T7"]},
    )
    write_brat(doc, tmp_path / "out")
    ann = (tmp_path / "out/d.ann").read_text("utf-8")
    assert ann.splitlines()[0] == "T1\tDISO 21 26;27 35\tdolor torácico"  # BRAT cannot hold a newline in a span
    assert "R1\tRel Arg1:T1 Arg2:T7" in ann
    (back,) = read_documents([tmp_path / "out"])
    assert [s.id for s in back.spans] == ["T1", "T7"]
    assert back.spans[1] == doc.spans[1] and back.meta["brat_other"] == doc.meta["brat_other"]


@pytest.mark.parametrize(
    ("ann_line", "kind"),
    [
        ("T1\tDISO 21 26\tdolorX", "BRAT text mismatch"),
        ("T1\tDISO 21 26;27 30\tdolor torácico", "BRAT text mismatch"),
        ("T1\tDISO 40 99\tx", "BRAT offsets out of range"),
        ("T1\tDISO 21 x\tdolor", "malformed BRAT line"),
        ("T1 DISO 21 26 dolor", "malformed BRAT line"),
        ("X1\tsomething", "malformed BRAT line"),
    ],
)
def test_bad_annotation_names_ann_file_and_line(tmp_path: Path, ann_line: str, kind: str) -> None:
    _pair(tmp_path, "a", TEXT, "T9\tDISO 38 44\tfiebre\n" + ann_line + "\n")
    _pair(tmp_path, "b", TEXT, "")
    with pytest.raises(InputError) as info:
        list(read_documents([tmp_path]))
    err = info.value
    assert (err.path, err.line) == (str(tmp_path / "a.ann"), 2) and kind in str(err)
    if kind == "BRAT text mismatch":
        assert "'dolor" in str(err)  # both strings are shown
    report = BadInputReport()
    assert [d.id for d in read_documents([tmp_path], skip_bad=True, report=report)] == ["b"]
    assert report.by_reason == {kind: 1}


def test_missing_and_orphan_annotation_files(tmp_path: Path) -> None:
    _pair(tmp_path, "annotated", TEXT, "T1\tDISO 38 44\tfiebre\n")
    _pair(tmp_path, "lonely", "Texto sin anotaciones.\n", None)
    (tmp_path / "orphan.ann").write_text("T1\tDISO 0 2\tEl\n", "utf-8")
    with pytest.raises(InputError, match=r"orphan\.ann: BRAT annotations without text"):
        list(read_documents([tmp_path]))
    report = BadInputReport()
    docs = {d.id: d for d in read_documents([tmp_path], "brat", skip_bad=True, report=report)}
    assert docs["lonely"].spans == [] and docs["lonely"].meta["brat_ann"] is None
    assert docs["annotated"].meta["brat_ann"] == str(tmp_path / "annotated.ann")
    assert report.by_reason == {"BRAT annotations without text": 1}


def test_empty_text_with_annotations_is_bad(tmp_path: Path) -> None:
    _pair(tmp_path, "e", "", "")
    with pytest.raises(InputError, match="empty file"):
        list(iter_brat(tmp_path))


def test_ct_ebm_sp_full_pass_and_round_trip(shared_data: Path, tmp_path: Path) -> None:
    """Every T line parses and validates; discontinuous spans and A/R/# lines survive write + read."""
    expected = {
        "train": (720, 51_736, 317, {"#": 42_291, "R": 40_604, "A": 9_893}),
        "dev": (240, 17_683, 122, {"#": 14_475, "R": 13_769, "A": 3_440}),
    }
    for split, (n_docs, n_spans, n_disc, other) in expected.items():
        docs = list(read_documents([shared_data / "es/ct-ebm-sp/brat" / split], lang="es"))
        assert len(docs) == n_docs
        assert sum(len(d.spans) for d in docs) == n_spans
        assert sum(1 for d in docs for s in d.spans if s.fragments) == n_disc
        assert Counter(line[0] for d in docs for line in d.meta.get("brat_other", ())) == other
        if split == "dev":
            out = tmp_path / split
            assert write_documents(docs, out, "brat") == n_docs
            back = list(read_documents([out], lang="es"))
            assert [_comparable(d) for d in back] == [_comparable(d) for d in docs]


def test_meddocan_bom_offsets_validate_and_round_trip(shared_data: Path, tmp_path: Path) -> None:
    counts = {"train": 11_333, "dev": 5_801, "test": 5_661}
    boms = []
    for split, n_spans in counts.items():
        docs = list(read_documents([shared_data / "es/meddocan" / split]))
        assert sum(len(d.spans) for d in docs) == n_spans  # all validated, BOM counted as character 0
        boms += [d for d in docs if d.text.startswith("\ufeff")]
    assert len(boms) == 32
    assert all(s.start >= 1 for d in boms for s in d.spans)
    for doc in boms:
        write_brat(doc, tmp_path)
    back = list(read_documents([tmp_path]))
    assert [_comparable(d) for d in back] == [_comparable(d) for d in sorted(boms, key=lambda d: d.id)]
    assert (tmp_path / f"{boms[0].id}.txt").read_bytes() == Path(boms[0].meta["source"]).read_bytes()


def test_pharmaconer_empty_ann_files_are_documents_without_spans(shared_data: Path) -> None:
    docs = list(read_documents([shared_data / "es/pharmaconer/brat-dev/dev/subtrack1"], "brat"))
    assert len(docs) == 250
    assert sum(len(d.spans) for d in docs) == 1_926
    assert sum(1 for d in docs if not d.spans) == 27


def test_mismatched_offsets_are_repaired_nearby_when_asked(tmp_path: Path) -> None:
    """CRLF text annotated with LF offsets: each later span is off by the number of earlier line breaks."""
    text = "Dolor torácico.\r\nInicia metformina 850 mg.\r\nSin fiebre.\r\n"
    (tmp_path / "d.txt").write_bytes(text.encode())
    lf = text.replace("\r\n", "\n")
    spans = [("DRUG", "metformina"), ("SYMPTOM", "fiebre")]
    ann = "".join(f"T{i}\t{label} {lf.index(s)} {lf.index(s) + len(s)}\t{s}\n" for i, (label, s) in enumerate(spans, 1))
    (tmp_path / "d.ann").write_text(ann)
    with pytest.raises(InputError, match=r"d\.ann, line 1.*metformina"):
        list(read_documents([tmp_path], "brat"))
    (doc,) = read_documents([tmp_path], "brat", brat_repair=5)
    assert [doc.span_text(s) for s in doc.spans] == ["metformina", "fiebre"]
    assert [r["id"] for r in doc.meta["brat_repairs"]] == ["T1", "T2"]
    assert doc.meta["brat_repairs"][1]["to"][0] - doc.meta["brat_repairs"][1]["from"][0] == 2
    # a window too small to reach the text still fails, naming the line
    with pytest.raises(InputError, match=r"line 2"):
        list(read_documents([tmp_path], "brat", brat_repair=1))


MANTRA_LIKE = (
    "T1\tC0011849 3 11\tdiabetes\n"
    '#1\tAnnotatorNotes T1\t"C0011849", "Diabetes Mellitus", "Disease or Syndrome" ,"DISO"\n'
    "T2\tC0021641 16 23\tinsulin\n"
    '#2\tAnnotatorNotes T2\t"C0021641", "Insulin", "Hormone" ,"CHEM"\n'
)


def test_labels_from_annotator_notes_keep_the_original_types(tmp_path: Path) -> None:
    (tmp_path / "d.txt").write_text("De diabetes met insulin.\n")
    (tmp_path / "d.ann").write_text(MANTRA_LIKE)
    (doc,) = read_documents([tmp_path], "brat", brat_label_from_note="umls_group")
    assert [(s.start, s.end, s.label) for s in doc.spans] == [(3, 11, "DISO"), (16, 23, "CHEM")]
    assert doc.meta["brat_types"] == {"T1": "C0011849", "T2": "C0021641"}
    (plain,) = read_documents([tmp_path], "brat")  # without the option the CUIs stay the labels
    assert [s.label for s in plain.spans] == ["C0011849", "C0021641"]
    write_brat(doc, tmp_path / "out")  # notes are kept: the CUI survives the relabelling on disk
    assert '"C0011849"' in (tmp_path / "out" / "d.ann").read_text()
    # Mantra GSC swaps the last two fields on some lines
    swapped = MANTRA_LIKE.replace('"Hormone" ,"CHEM"', '"CHEM" ,"Amino Acid or Hormone"')
    (tmp_path / "d.ann").write_text(swapped)
    (doc,) = read_documents([tmp_path / "d.txt"], "brat", brat_label_from_note="umls_group")
    assert [s.label for s in doc.spans] == ["DISO", "CHEM"]
    with pytest.raises(InputError, match="line 4"):
        list(read_documents([tmp_path / "d.txt"], "brat", brat_label_from_note="last_field"))


@pytest.mark.parametrize(
    ("ann", "line", "says"),
    [
        (MANTRA_LIKE.split("#2")[0], 3, "T2 has no AnnotatorNotes"),
        ("T1\tC0011849 3 11\tdiabetes\n#1\tAnnotatorNotes T1\tDiabetes Mellitus, disease\n", 2, "no label field"),
    ],
)
def test_missing_note_label_names_the_line(tmp_path: Path, ann: str, line: int, says: str) -> None:
    (tmp_path / "d.txt").write_text("De diabetes met insulin.\n")
    (tmp_path / "d.ann").write_text(ann)
    with pytest.raises(InputError) as caught:
        list(read_documents([tmp_path], "brat", brat_label_from_note="umls_group"))
    message = str(caught.value)
    assert f"d.ann, line {line}" in message and says in message


def test_mantra_gsc_reads_every_entity_with_a_umls_group(shared_data: Path) -> None:
    root = shared_data / "multi" / "mantra-gsc" / "Mantra-GSC"
    for lang, folder in (("nl", "Dutch"), ("es", "Spanish")):
        docs = list(read_documents([root / folder], "brat", lang=lang, brat_label_from_note="umls_group"))
        t_lines = sum(
            line.startswith("T") for ann in (root / folder).rglob("*.ann") for line in ann.read_text().splitlines()
        )
        spans = [s for d in docs for s in d.spans]
        assert len(spans) == t_lines > 400  # no entity lost
        groups = Counter(s.label for s in spans)
        assert {"DISO", "CHEM", "PROC", "ANAT"} <= set(groups), groups
        assert all(set(label.split("|")) <= UMLS_GROUPS for label in groups)
