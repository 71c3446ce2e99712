"""Language filter: keep documents whose language, as py3langid sees it, is one of the configured languages.

Why the full model and not `set_languages(configured)`: restricted to the configured languages the classifier must
answer one of them, so it could never reject anything; with all ~97 languages it can say "this is English" about
an English abstract in a Dutch corpus. A document that already carries a language (from the reader, e.g. a JSONL
`lang` field) is trusted and not re-classified. Only the first few thousand characters are classified: language
does not change mid-note, and py3langid's cost is linear in length.
"""

from __future__ import annotations

from medadapt.errors import ConfigError

_MAX_CHARS = 3000


class LanguageFilter:
    """`detect(text, given)` -> language code; `keep(lang)` -> whether it is one of the configured languages."""

    def __init__(self, languages: list[str], min_confidence: float | None = None) -> None:
        from py3langid.langid import MODEL_FILE, LanguageIdentifier

        self._identifier = LanguageIdentifier.from_model_file(
            MODEL_FILE, norm_probs=min_confidence is not None, min_confidence=min_confidence
        )
        known = set(self._identifier.labels)
        unknown = sorted(set(languages) - known)
        if unknown:
            raise ConfigError(
                f"languages: {', '.join(unknown)} not known to py3langid (ISO 639-1 codes such as "
                f"{', '.join(sorted(known)[:8])}, ...)"
            )
        self.languages = frozenset(languages)

    def detect(self, text: str, given: str | None = None) -> str:
        if given:
            return given.lower()
        return str(self._identifier.classify(text[:_MAX_CHARS])[0])

    def keep(self, lang: str) -> bool:
        return lang in self.languages
