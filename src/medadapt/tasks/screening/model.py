"""The screening model: a plain sequence-classification encoder scores chunks; pooling makes notes and patients.

Saved as a normal `save_pretrained` folder (safetensors) that `transformers` loads without medadapt: it is a
chunk classifier (binary tasks: one logit, `problem_type` multi-label so a plain pipeline applies a sigmoid).
With `pooling.token_to_chunk: max | lse` it is a token classifier instead (`AutoModelForTokenClassification`):
every token gets the logit(s) and the chunk's score is their maximum (or smooth maximum) over the chunk.

Why token pooling exists: screening evidence is one phrase among hundreds of routine tokens, and the label is
per patient. A [CLS] head can only see that phrase once attention has learnt to route it to [CLS] — a signal
that has to travel through every layer from a patient-level loss, and which MLM pre-training never trained
([CLS] gets no MLM loss). Scoring each token puts the phrase's own contextual vector (which MLM did train) one
linear layer from the loss. Measured on the demo data in `medadapt.demo.study`.
Beside it, `screening.json` records what turns chunk scores into a patient decision — chunking, pooling, labels,
the operating threshold chosen on dev — and `screening_pooling.safetensors` the attention scorers, if any.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSequenceClassification, AutoModelForTokenClassification

from medadapt.errors import ModelLoadError
from medadapt.tasks.screening.data import LabelSpace
from medadapt.tasks.screening.pooling import segment_pool

SCREENING_FILE = "screening.json"
POOLING_WEIGHTS = "screening_pooling.safetensors"
FORMAT_VERSION = 1


@dataclass
class ScreeningOutput:
    logits: torch.Tensor  # [patients, k]
    note_logits: torch.Tensor  # [notes, k]
    chunk_logits: torch.Tensor  # [chunks, k]
    chunk_weights: torch.Tensor  # [chunks] weight of each chunk within its note
    note_weights: torch.Tensor  # [notes] weight of each note within its patient


def hf_label_config(space: LabelSpace) -> dict[str, Any]:
    """num_labels / id2label / problem_type for the chunk classifier's config.json."""
    if space.kind == "binary":
        return {
            "num_labels": 1,
            "id2label": {0: space.positive},
            "label2id": {space.positive: 0},
            "problem_type": "multi_label_classification",
        }
    problem = "multi_label_classification" if space.kind == "multilabel" else "single_label_classification"
    return {
        "num_labels": len(space.labels),
        "id2label": dict(enumerate(space.labels)),
        "label2id": {label: i for i, label in enumerate(space.labels)},
        "problem_type": problem,
    }


def encoder_class(settings: dict[str, Any]) -> type:
    """The plain transformers class the saved chunk classifier loads with (files written before token pooling
    existed have no `token_to_chunk`: they are [CLS] sequence classifiers)."""
    if settings["pooling"].get("token_to_chunk", "cls") == "cls":
        return AutoModelForSequenceClassification
    return AutoModelForTokenClassification


def pool_tokens(token_logits: torch.Tensor, attention_mask: torch.Tensor, how: str, sharpness: float) -> torch.Tensor:
    """[chunks, tokens, k] token logits → [chunks, k] chunk logits over the attended tokens (padding never counts):
    max, or lse = (1/r)·log(mean over tokens of exp(r·x))."""
    attended = attention_mask.bool().unsqueeze(-1)
    masked = token_logits.masked_fill(~attended, -torch.inf)
    if how == "max":
        return masked.amax(dim=1)
    if how == "lse":
        n_tokens = attended.sum(dim=1).to(token_logits.dtype)
        return (torch.logsumexp(masked * sharpness, dim=1) - torch.log(n_tokens)) / sharpness
    raise ValueError(f"unknown token pooling {how!r}; use cls, max or lse")


class ChunkPoolingClassifier(torch.nn.Module):
    """Encoder + classification head per chunk, then chunk → note → patient pooling (see screening_pooling)."""

    def __init__(self, encoder: torch.nn.Module, settings: dict[str, Any]):
        super().__init__()
        self.encoder = encoder
        self.settings = settings  # the screening.json contents: pooling, labels, chunking, threshold, ...
        hidden = encoder.config.hidden_size
        pooling = settings["pooling"]
        self.chunk_scorer = torch.nn.Linear(hidden, 1) if pooling["chunk_to_note"] == "attention" else None
        self.note_scorer = torch.nn.Linear(hidden, 1) if pooling["note_to_patient"] == "attention" else None

    @property
    def config(self) -> Any:  # what Accelerate and logging look for on a model
        return self.encoder.config

    def activation_checkpointing_enable(self) -> None:
        """Long records send many chunks through the encoder in one step; checkpointing trades time for memory."""
        from medadapt.training import enable_checkpointing

        enable_checkpointing(self.encoder)

    def score_chunks(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(chunk logits [c, k], chunk [CLS] vectors [c, hidden]) for a padded batch of chunks."""
        out = self.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
        pooling = self.settings["pooling"]
        how = pooling.get("token_to_chunk", "cls")
        if how == "cls":
            return out.logits, out.hidden_states[-1][:, 0]
        sharpness = float(pooling.get("lse_sharpness", 1.0))
        return pool_tokens(out.logits.float(), attention_mask, how, sharpness), out.hidden_states[-1][:, 0]

    def pool(
        self,
        chunk_logits: torch.Tensor,
        chunk_vectors: torch.Tensor,
        chunk_note: torch.Tensor,
        note_patient: torch.Tensor,
    ) -> ScreeningOutput:
        n_notes = len(note_patient)
        n_patients = int(note_patient.max()) + 1 if n_notes else 0
        pooling = self.settings["pooling"]
        sharpness = float(pooling.get("lse_sharpness", 1.0))  # absent in screening.json files written before lse
        chunk_scores = self.chunk_scorer(chunk_vectors).squeeze(-1) if self.chunk_scorer is not None else None
        note_logits, chunk_weights = segment_pool(
            chunk_logits, chunk_note, n_notes, pooling["chunk_to_note"], chunk_scores, sharpness
        )
        note_scores = None
        if self.note_scorer is not None:  # a note's vector: its chunks' vectors pooled like its logits
            how = pooling["chunk_to_note"] if pooling["chunk_to_note"] in ("mean", "attention") else "mean"
            note_vectors, _ = segment_pool(chunk_vectors, chunk_note, n_notes, how, chunk_scores)
            note_scores = self.note_scorer(note_vectors).squeeze(-1)
        logits, note_weights = segment_pool(
            note_logits, note_patient, n_patients, pooling["note_to_patient"], note_scores, sharpness
        )
        return ScreeningOutput(logits, note_logits, chunk_logits, chunk_weights, note_weights)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        chunk_note: torch.Tensor,
        note_patient: torch.Tensor,
    ) -> ScreeningOutput:
        chunk_logits, vectors = self.score_chunks(input_ids, attention_mask)
        return self.pool(chunk_logits.float(), vectors.float(), chunk_note, note_patient)

    def save_pretrained(self, target: str | Path, safe_serialization: bool = True, **kwargs: Any) -> None:
        target = Path(target)
        self.encoder.save_pretrained(target, safe_serialization=True, **kwargs)
        scorers = {
            f"{name}.{k}": v.detach().cpu().contiguous()
            for name in ("chunk_scorer", "note_scorer")
            if getattr(self, name) is not None
            for k, v in getattr(self, name).state_dict().items()
        }
        if scorers:
            save_file(scorers, str(target / POOLING_WEIGHTS))
        (target / SCREENING_FILE).write_text(json.dumps(self.settings, indent=1, ensure_ascii=False))

    @classmethod
    def from_pretrained(cls, folder: str | Path) -> ChunkPoolingClassifier:
        folder = Path(folder)
        spec = folder / SCREENING_FILE
        if not spec.is_file():
            raise ModelLoadError(f"{folder} is not a medadapt screening model: no {SCREENING_FILE}")
        settings = json.loads(spec.read_text())
        if settings.get("format_version") != FORMAT_VERSION:
            raise ModelLoadError(f"{spec}: format_version {settings.get('format_version')} is not {FORMAT_VERSION}")
        try:
            encoder = encoder_class(settings).from_pretrained(folder)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"cannot load the chunk classifier in {folder}: {exc}") from exc
        model = cls(encoder, settings)
        weights = folder / POOLING_WEIGHTS
        if model.chunk_scorer is not None or model.note_scorer is not None:
            if not weights.is_file():
                raise ModelLoadError(f"{folder}: attention pooling is configured but {POOLING_WEIGHTS} is missing")
            state = load_file(str(weights))
            for name in ("chunk_scorer", "note_scorer"):
                module = getattr(model, name)
                if module is not None:
                    module.load_state_dict({k.split(".", 1)[1]: v for k, v in state.items() if k.startswith(name)})
        return model

    def label_space(self) -> LabelSpace:
        labels = self.settings["labels"]
        return LabelSpace(labels["kind"], tuple(labels["labels"]))
