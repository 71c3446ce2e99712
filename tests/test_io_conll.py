"""CoNLL/IOB and CoNLL-U: entity counts on real corpora, scheme handling, repairs, bad lines, round trips."""

from __future__ import annotations

import itertools
from collections import Counter
from pathlib import Path

import pytest

from medadapt.documents import Document, Span
from medadapt.errors import InputError
from medadapt.io import BadInputReport, read_documents, write_documents


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def _ents(doc: Document) -> list[tuple[str, str]]:
    return [(doc.span_text(s), s.label) for s in doc.spans]


def test_monero_full_corpus_entity_counts(shared_data: Path) -> None:
    (doc,) = read_documents([shared_data / "ro/monero/MoNERo.txt"], "conll", label_column=2, lang="ro")
    assert doc.id == "MoNERo" and doc.lang == "ro"
    assert Counter(s.label for s in doc.spans) == {"DISO": 6_835, "CHEM": 4_225, "ANAT": 2_031, "PROC": 1_451}
    assert doc.meta["conll_sentences"] == 4_984
    assert doc.meta["conll_repairs"] == 409  # I- after O: kept as entity starts, counted
    assert doc.meta["conll_tag_fixes"] == {"": 4, "o": 1}  # data quirks read as O, not hidden
    assert len(doc.text.split("\n")) == 4_984
    assert len(doc.text.replace("\n", " ").split(" ")) == 154_829  # tokens joined by one space (NBSP kept inside)
    assert "77\u00a0%" in doc.text


def test_monero_round_trip_through_writer(shared_data: Path, tmp_path: Path) -> None:
    (doc,) = read_documents([shared_data / "ro/monero/MoNERo_endocrinology.txt"], "conll", label_column=2)
    assert len(doc.spans) == 2_238
    out = tmp_path / "endo.conll"
    assert write_documents([doc], out, "conll") == 1
    (back,) = read_documents([out])
    assert back.text == doc.text and back.spans == doc.spans
    assert back.meta["conll_repairs"] == 0  # the writer emits clean IOB2


def test_pharmaconer_congsun_counts(shared_data: Path) -> None:
    expected = {"train": 5_047, "dev": 563, "test": 1_842}
    for split, n in expected.items():
        (doc,) = read_documents([shared_data / f"es/pharmaconer/conll-congsun/{split}.txt"], "conll")
        assert len(doc.spans) == n
    per_sentence = list(
        read_documents([shared_data / "es/pharmaconer/conll-congsun/dev.txt"], "conll", sentences_as_documents=True)
    )
    assert len(per_sentence) == 1_046 and sum(len(d.spans) for d in per_sentence) == 563
    assert per_sentence[1].id == f"dev:{per_sentence[1].meta['line']}"


@pytest.mark.parametrize(
    ("rel", "sentences", "words", "docs"),
    [
        ("es/ud/es_gsd-ud-dev.conllu", 1_400, 37_154, 1),
        ("nl/ud/nl_alpino-ud-test.conllu", 596, 11_046, 1),
        ("ro/ud/ro_rrt-ud-dev.conllu", 752, 17_073, 44),
    ],
)
def test_conllu_skips_comments_and_multiword_ranges(
    shared_data: Path, rel: str, sentences: int, words: int, docs: int
) -> None:
    got = list(read_documents([shared_data / rel]))
    assert len(got) == docs  # "# newdoc" splits documents
    assert sum(d.meta["conll_sentences"] for d in got) == sentences
    assert sum(len(d.text.replace("\n", " ").split(" ")) for d in got) == words
    assert all(not d.spans for d in got)
    if "es_gsd" in rel:
        assert "en la forma clásica de el Hércules" in got[0].text  # "del" (18-19 range) not duplicated


CONLL = """-DOCSTART- -X- -X- O

Dolor NN B-DISO
torácico JJ I-DISO
y CC O
fiebre NN I-DISO

-DOCSTART- -X- -X- O

Aspirina NN B-CHEM
. . O
"""


def test_docstart_splits_documents_and_i_after_o_starts_entity(tmp_path: Path) -> None:
    docs = list(read_documents([_write(tmp_path / "a.conll", CONLL)]))
    assert [d.id for d in docs] == ["a:1", "a:8"]
    assert docs[0].text == "Dolor torácico y fiebre"
    assert _ents(docs[0]) == [("Dolor torácico", "DISO"), ("fiebre", "DISO")]
    assert docs[0].meta["conll_repairs"] == 1 and docs[0].meta["conll_scheme"] == "IOB2"
    assert _ents(docs[1]) == [("Aspirina", "CHEM")]
    assert docs[1].meta["line"] == 8


def test_iob1_and_bioes_are_detected(tmp_path: Path) -> None:
    iob1 = _write(tmp_path / "iob1.bio", "Juan I-PER\nMaria B-PER\nvino O\na O\nMadrid I-LOC\n")
    (doc,) = read_documents([iob1])
    assert _ents(doc) == [("Juan", "PER"), ("Maria", "PER"), ("Madrid", "LOC")]
    assert (doc.meta["conll_scheme"], doc.meta["conll_repairs"]) == ("IOB1", 0)
    bioes = _write(tmp_path / "b.iob", "el O\nácido B-CHEM\nfólico E-CHEM\ny O\nB6 S-CHEM\nhoy I-CHEM\n")
    (doc,) = read_documents([bioes])
    assert _ents(doc) == [("ácido fólico", "CHEM"), ("B6", "CHEM"), ("hoy", "CHEM")]
    assert (doc.meta["conll_scheme"], doc.meta["conll_repairs"]) == ("BIOES", 1)


def test_sentences_joined_by_newline_and_spans_on_characters(tmp_path: Path) -> None:
    path = _write(tmp_path / "s.conll", "Tiene\tO\ndiabetes\tB-DISO\n\n\n\nSin\tO\nfiebre\tB-DISO\n")
    (doc,) = read_documents([path])
    assert doc.id == "s" and doc.text == "Tiene diabetes\nSin fiebre"
    assert [(s.start, s.end) for s in doc.spans] == [(6, 14), (19, 25)]
    assert doc.meta["conll_sentences"] == 2


@pytest.mark.parametrize(
    ("content", "kind", "label_column"),
    [
        ("uno\tO\ndos\tB-X\n\ntres\tO\nmal\tX-DISO\n\ncuatro\tB-Y\n", "unknown tag", None),
        ("uno\tu\tO\ndos\td\tB-X\n\ntres\tt\tO\nsolo\n\ncuatro\tc\tB-Y\n", "missing label column", 2),
    ],
)
def test_bad_sentence_raises_and_skip_drops_only_that_sentence(
    tmp_path: Path, content: str, kind: str, label_column: int | None
) -> None:
    path = _write(tmp_path / "x.conll", content)
    with pytest.raises(InputError) as info:
        list(read_documents([path], label_column=label_column))
    assert (info.value.path, info.value.line) == (str(path), 5) and kind in str(info.value)
    report = BadInputReport()
    (doc,) = read_documents([path], label_column=label_column, skip_bad=True, report=report)
    assert doc.text == "uno dos\ncuatro"
    assert _ents(doc) == [("dos", "X"), ("cuatro", "Y")]
    assert report.by_reason == {kind: 1}


def test_invalid_utf8_line_and_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "u.conll"
    path.write_bytes(b"ok O\n\nbad\xff O\n")
    with pytest.raises(InputError) as info:
        list(read_documents([path]))
    assert (info.value.line, info.value.offset) == (3, 9)
    empty = _write(tmp_path / "e.conll", "\n\n")
    with pytest.raises(InputError, match="empty file"):
        list(read_documents([empty]))


def test_streams_documents(tmp_path: Path) -> None:
    path = tmp_path / "big.conll"
    docs_text = "".join(f"-DOCSTART- O\n\ntok{i} O\n\n" for i in range(2000))
    _write(path, docs_text.replace("tok500 O", "tok500 ???"))
    first = list(itertools.islice(read_documents([path]), 10))
    assert [d.text for d in first] == [f"tok{i}" for i in range(10)]
    with pytest.raises(InputError, match="unknown tag"):
        list(read_documents([path]))


@pytest.mark.parametrize("scheme", ["IOB1", "IOB2", "BIOES"])
def test_writer_schemes_round_trip(tmp_path: Path, scheme: str) -> None:
    text = "Juan Pérez visitó\nMaria Madrid hoy"
    spans = [Span(0, 10, "PER"), Span(18, 23, "PER"), Span(24, 30, "LOC")]
    out = tmp_path / f"{scheme}.conll"
    write_documents([Document("d", text, spans=spans)], out, "conll", scheme=scheme)
    (back,) = read_documents([out], scheme=scheme)
    assert back.text == text and back.spans == spans


def test_writer_warns_about_spans_iob_cannot_hold(tmp_path: Path) -> None:
    doc = Document("d", "cáncer de mama", spans=[Span(0, 14, "DISO"), Span(10, 14, "ANAT"), Span(0, 3, "X")])
    with pytest.warns(UserWarning, match="2 span"):
        write_documents([doc], tmp_path / "o.conll", "conll")
    (back,) = read_documents([tmp_path / "o.conll"])
    assert _ents(back) == [("cáncer de mama", "DISO")]
