"""Evaluation metrics. `entities`: NER scores on character spans (strict, lenient, boundary-only) and on tag
sequences, agreeing exactly with seqeval and conlleval where they overlap."""

from medadapt.metrics.counts import Averages, Counts, ModeScores
from medadapt.metrics.entities import evaluate_entities, score_spans
from medadapt.metrics.matching import lenient_matching
from medadapt.metrics.report import EntityReport
from medadapt.metrics.tags import evaluate_tag_sequences, tags_to_spans

__all__ = [
    "Averages",
    "Counts",
    "EntityReport",
    "ModeScores",
    "evaluate_entities",
    "evaluate_tag_sequences",
    "lenient_matching",
    "score_spans",
    "tags_to_spans",
]
