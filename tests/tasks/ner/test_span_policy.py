"""Span policy (overlaps, nesting, discontinuous spans) and label mapping: what is kept, and every change counted."""

from __future__ import annotations

import pytest

from medadapt.documents import Document, Span
from medadapt.errors import ConfigError
from medadapt.tasks.ner import CT_EBM_SP_TO_UMLS, LabelMappingReport, SpanPolicyReport, map_labels, resolve_spans
from medadapt.tasks.ner.span_policy import resolve_document

# 0         1         2         3
# 0123456789012345678901234567890123
# cancer de mama metastásico en hueso
SPANS = [
    Span(0, 14, "DISO"),  # cancer de mama
    Span(10, 14, "ANAT"),  # mama — nested in the DISO span
    Span(0, 26, "DISO"),  # cancer de mama metastásico — contains both
    Span(30, 35, "ANAT"),  # hueso
    Span(30, 35, "ANAT"),  # exact duplicate
    Span(30, 35, "PROC"),  # same range, other label
    Span(27, 31, "CONC"),  # crossing "en h"
]


def _triples(spans: list[Span]) -> list[tuple[int, int, str]]:
    return [(s.start, s.end, s.label) for s in spans]


def test_longest_keeps_the_outermost_and_counts_each_kind_of_drop() -> None:
    kept, report = resolve_spans(SPANS, "longest")
    assert _triples(kept) == [(0, 26, "DISO"), (30, 35, "ANAT")]
    assert report.spans_in == 7 and report.spans_kept == 2
    assert report.nested_dropped == 2
    assert report.duplicates_dropped == 1
    assert report.same_range_dropped == 1
    assert report.overlaps_resolved == 1
    assert report.dropped == 5 == sum(report.dropped_by_label.values())


def test_first_prefers_the_earliest_start_then_the_longer_span() -> None:
    kept, report = resolve_spans(SPANS, "first")
    assert _triples(kept) == [(0, 26, "DISO"), (27, 31, "CONC")]
    assert report.overlaps_resolved == 3  # both hueso ANAT and hueso PROC cross the kept CONC span
    assert report.duplicates_dropped == 0  # the duplicate's twin was never kept


def test_priority_keeps_labels_in_the_given_order() -> None:
    kept, report = resolve_spans(SPANS, "priority", ["ANAT", "DISO"])
    assert _triples(kept) == [(10, 14, "ANAT"), (30, 35, "ANAT")]
    assert report.nested_dropped == 2  # both DISO spans contain the kept "mama"
    with pytest.raises(ValueError, match="priority list"):
        resolve_spans(SPANS, "priority")


def test_result_does_not_depend_on_input_order() -> None:
    for policy in ("longest", "first"):
        assert resolve_spans(SPANS, policy)[0] == resolve_spans(SPANS[::-1], policy)[0]


def test_discontinuous_cover_or_fragments() -> None:
    broken = Span(0, 20, "DISO", ((0, 6), (15, 20)), "T1")
    other = Span(8, 12, "ANAT")
    kept, report = resolve_spans([broken, other], "longest", discontinuous="cover")
    assert _triples(kept) == [(0, 20, "DISO")] and kept[0].fragments == () and kept[0].id == "T1"
    assert report.discontinuous_converted == 1 and report.nested_dropped == 1
    kept, report = resolve_spans([broken, other], "longest", discontinuous="fragments")
    assert _triples(kept) == [(0, 6, "DISO"), (8, 12, "ANAT"), (15, 20, "DISO")]
    assert report.discontinuous_converted == 1 and report.fragments_added == 1 and report.dropped == 0


def test_empty_spans_are_dropped_and_counted() -> None:
    kept, report = resolve_spans([Span(3, 3, "X"), Span(0, 5, "Y")])
    assert _triples(kept) == [(0, 5, "Y")] and report.empty_dropped == 1


def test_reports_add_up_over_documents() -> None:
    total = SpanPolicyReport()
    doc = Document("d", "x" * 40, spans=list(SPANS))
    out = resolve_document(doc, report=total)
    resolve_document(doc, report=total)
    assert total.spans_in == 14 and total.dropped == 10
    assert out.meta["span_policy"]["dropped"] == 5 and doc.spans == SPANS  # input untouched


def test_map_labels_renames_drops_and_counts() -> None:
    doc = Document("d", "x" * 40, spans=[Span(0, 3, "DISO"), Span(4, 6, "LIVB"), Span(7, 9, "Drug"), Span(9, 12, "?")])
    report = LabelMappingReport()
    out = map_labels(doc, {"DISO": "DISO", "LIVB": None, "Drug": "CHEM"}, report=report)
    assert _triples(out.spans) == [(0, 3, "DISO"), (7, 9, "CHEM"), (9, 12, "?")]
    assert report.dropped == {"LIVB": 1} and report.renamed == {"Drug->CHEM": 1} and report.unmapped == {"?": 1}
    dropped = map_labels(doc, {"DISO": "DISO"}, unmapped="drop")
    assert _triples(dropped.spans) == [(0, 3, "DISO")]
    with pytest.raises(ConfigError, match="'LIVB' is not in the label mapping"):
        map_labels(doc, {"DISO": "DISO"}, unmapped="error")


def test_ct_ebm_sp_mapping_keeps_the_four_umls_groups() -> None:
    assert len(CT_EBM_SP_TO_UMLS) == 23
    assert {v for v in CT_EBM_SP_TO_UMLS.values() if v} == {"ANAT", "CHEM", "DISO", "PROC"}


def test_data_report_counts_dropped_labels_as_json() -> None:
    """Regression: `dataclasses.asdict` turned Counter({"GENE": 16}) into {("GENE", 16): 1}, which is wrong and
    made writing data_report.json fail on CT-EBM-SP (the first real set with labels dropped by a label map)."""
    import json
    from collections import Counter

    from medadapt.tasks.ner.data import DataReport
    from medadapt.tasks.ner.label_renaming import LabelMappingReport
    from medadapt.tasks.ner.span_policy import SpanPolicyReport

    mapping = LabelMappingReport(renamed=Counter({"Anatomy->ANAT": 3}), dropped=Counter({"GENE": 16}))
    policy = SpanPolicyReport(spans_in=10, spans_kept=8, nested_dropped=2, dropped_by_label=Counter({"ANAT": 2}))
    report = DataReport()
    report.add("dev", 4, mapping, policy)
    written = json.loads(json.dumps(report.splits))["dev"]
    assert written["label_mapping"] == {"renamed": {"Anatomy->ANAT": 3}, "dropped": {"GENE": 16}, "unmapped": {}}
    assert written["span_policy"]["dropped_by_label"] == {"ANAT": 2}
    assert written["span_policy"]["nested_dropped"] == 2 and written["span_policy"]["dropped"] == 2
