"""Clinical NER: documents with character spans ↔ token-classification windows, and the fine-tuning recipe.

Order of use: `map_labels` (label renaming: one label set across corpora, label_renaming.py) → `resolve_document`
(one label per character, contiguous: span_policy.py) → `encode_document` (windows for training/inference, with the
tag vocabulary `LabelMap` of tags.py) → model → `decode_document` (spans on the original text). Every step that
changes or cannot represent an annotation counts it in a report. The recipe (recipe.py: `run_seed`,
`finetune_ner`, `evaluate_saved`) and the task object (task.py: `NER`) import torch, so they load on first use.
"""

from typing import Any

from medadapt.tasks.ner.decoding import DecodeReport, decode_document, decode_documents, merge_windows
from medadapt.tasks.ner.encoding import IGNORE, EncodeReport, NotAligned, Window, encode_document
from medadapt.tasks.ner.label_renaming import CT_EBM_SP_TO_UMLS, UMLS_GROUPS, LabelMappingReport, map_labels
from medadapt.tasks.ner.normalize import TABLES, normalize_text
from medadapt.tasks.ner.span_policy import SpanPolicyReport, resolve_document, resolve_spans
from medadapt.tasks.ner.tags import LabelMap, chunk_tags
from medadapt.tasks.windows import plan_windows

_RECIPE = ("run_seed", "finetune_ner", "evaluate_saved", "predict_documents", "load_model", "document_rows")


def __getattr__(name: str) -> Any:
    """The recipe's entry points, imported (with torch) only when asked for."""
    if name in _RECIPE:
        from medadapt.tasks.ner import recipe

        return getattr(recipe, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CT_EBM_SP_TO_UMLS",
    "IGNORE",
    "TABLES",
    "UMLS_GROUPS",
    "DecodeReport",
    "EncodeReport",
    "LabelMap",
    "LabelMappingReport",
    "NotAligned",
    "SpanPolicyReport",
    "Window",
    "chunk_tags",
    "decode_document",
    "decode_documents",
    "encode_document",
    "map_labels",
    "merge_windows",
    "normalize_text",
    "plan_windows",
    "resolve_document",
    "resolve_spans",
    *_RECIPE,
]
