"""Task layer: documents ↔ model tensors. NER: span policy, label mapping, normalisation, encoding, decoding.

Order of use for NER: `map_labels` (shared label set) → `resolve_document` (one label per character, contiguous)
→ `encode_document` (windows for training/inference) → model → `decode_document` (spans on the original text).
Every step that changes or cannot represent an annotation counts it in a report.
"""

from medadapt.tasks.labels import CT_EBM_SP_TO_UMLS, UMLS_GROUPS, LabelMappingReport, map_labels
from medadapt.tasks.ner_decoding import DecodeReport, decode_document, decode_documents, merge_windows
from medadapt.tasks.ner_encoding import IGNORE, EncodeReport, NotAligned, Window, encode_document
from medadapt.tasks.ner_labels import LabelMap, chunk_tags
from medadapt.tasks.ner_windows import plan_windows
from medadapt.tasks.normalize import TABLES, normalize_text
from medadapt.tasks.span_policy import SpanPolicyReport, resolve_document, resolve_spans

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
]
