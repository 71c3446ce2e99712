"""Pluggable de-identification hook: `"package.module:function"` taking `(text, lang)` and returning text.

Why a dotted path and not a built-in: de-identification is language- and site-specific (deduce for Dutch notes,
a MEDDOCAN-trained model for Spanish, a hospital's own rules), so the corpus builder only promises to call
whatever the config names, once per kept document, before tokenization. It is imported when the build starts so a
typo fails before hours of reading, not after.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

from medadapt.errors import ConfigError, InputError

DeidHook = Callable[[str, str | None], str]


def load_hook(spec: str) -> DeidHook:
    """Import `package.module:function`, with a ConfigError that says which part failed."""
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ConfigError(f'deid: {spec!r} must look like "package.module:function"')
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"deid: cannot import module {module_name!r} for hook {spec!r} ({exc})") from exc
    target: object = module
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ConfigError(f"deid: module {module_name!r} has no attribute {attr!r} (hook {spec!r})")
        target = getattr(target, part)
    if not callable(target):
        raise ConfigError(f"deid: {spec!r} is not callable")
    return target  # type: ignore[return-value]


def apply_hook(hook: DeidHook, text: str, lang: str | None, *, doc_id: str, source: str) -> str:
    """Call the hook, insisting on a str back (a hook returning None would otherwise drop text silently)."""
    result = hook(text, lang)
    if not isinstance(result, str):
        raise InputError(source, f"deid hook returned {type(result).__name__}, not str, for document {doc_id!r}")
    return result
