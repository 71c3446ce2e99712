"""Rename, merge or drop entity labels before encoding — the step that gives two corpora one label set.

Cross-lingual transfer needs the same types on both sides: CT-EBM-SP (es) has 23 types, MoNERo (ro) the four
UMLS groups ANAT, CHEM, DISO, PROC. `map_labels` applies a mapping (a value of None drops that label) and counts
every rename and drop; labels the mapping does not name are kept, dropped or rejected as `unmapped` says, and
are counted too, so a typo in a mapping shows up in the report instead of silently shrinking the data.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace

from medadapt.documents import Document
from medadapt.errors import ConfigError

UMLS_GROUPS = ("ANAT", "CHEM", "DISO", "PROC")
"""The semantic groups CT-EBM-SP, MoNERo and Mantra GSC share."""

CT_EBM_SP_TYPES = (
    "ANAT", "CHEM", "CONC", "GENE", "DEVI", "DISO", "LIVB", "PHYS", "PROC", "Dose", "Form", "Route", "Age", "Date",
    "Duration", "Frequency", "Time", "Neg_cue", "Spec_cue", "Observation", "Quantifier_or_Qualifier",
    "Result_or_Value", "Food",
)  # fmt: skip
"""The 23 entity types of CT-EBM-SP's annotation.conf."""

CT_EBM_SP_TO_UMLS = {label: (label if label in UMLS_GROUPS else None) for label in CT_EBM_SP_TYPES}
"""CT-EBM-SP → the four groups shared with MoNERo; the other 19 types are dropped (and counted)."""

UNMAPPED = ("keep", "drop", "error")


@dataclass
class LabelMappingReport:
    """What `map_labels` did, per original label."""

    renamed: Counter[str] = field(default_factory=Counter)  # "OLD->NEW" (identity mappings are not counted)
    dropped: Counter[str] = field(default_factory=Counter)  # mapped to None, or unmapped with unmapped="drop"
    unmapped: Counter[str] = field(default_factory=Counter)  # labels the mapping does not name (kept or dropped)

    def update(self, other: LabelMappingReport) -> None:
        self.renamed.update(other.renamed)
        self.dropped.update(other.dropped)
        self.unmapped.update(other.unmapped)


def map_labels(
    doc: Document,
    mapping: dict[str, str | None],
    *,
    unmapped: str = "keep",
    report: LabelMappingReport | None = None,
) -> Document:
    """A copy of `doc` whose spans carry mapped labels; spans mapped to None are dropped.

    `unmapped`: what to do with a label the mapping does not name — "keep" it, "drop" it, or raise a
    `ConfigError` ("error"), the strict choice when the mapping is meant to be complete.
    """
    if unmapped not in UNMAPPED:
        raise ValueError(f"unmapped must be one of {UNMAPPED}, got {unmapped!r}")
    own = report if report is not None else LabelMappingReport()
    spans = []
    for span in doc.spans:
        if span.label not in mapping:
            own.unmapped[span.label] += 1
            if unmapped == "error":
                raise ConfigError(
                    f"document {doc.id!r}: label {span.label!r} is not in the label mapping "
                    f"(it names {sorted(mapping)}); add it (None drops it) or use unmapped='keep'/'drop'"
                )
            if unmapped == "drop":
                own.dropped[span.label] += 1
            else:
                spans.append(span)
            continue
        new = mapping[span.label]
        if new is None:
            own.dropped[span.label] += 1
            continue
        if new != span.label:
            own.renamed[f"{span.label}->{new}"] += 1
        spans.append(replace(span, label=new))
    return replace(doc, spans=spans, meta=dict(doc.meta))
