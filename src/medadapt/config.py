"""Typed run configs: YAML in, `--set a.b=c` overrides, and a resolved copy written beside every output.

A run is fully described by one YAML file plus overrides. Configs are pydantic models with `extra="forbid"` so a
typo in a key is an error naming the key, not a silently ignored setting. The resolved config written next to an
output carries the package version, the git commit and a hash of every input file, so anyone can rerun a result
from its folder and tell whether the inputs changed since.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import logging
import platform
import subprocess
import types
import typing
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from medadapt import __version__
from medadapt.errors import ConfigError

RESOLVED_CONFIG_NAME = "resolved_config.yaml"
logger = logging.getLogger("medadapt.config")
_SAID: set[tuple[str, str]] = set()  # renamed keys already reported in this process (a study builds many configs)


class StrictModel(BaseModel):
    """Base for every config section: unknown keys are errors, values are validated on assignment too.

    `renamed` maps a key's old name to its new one. Why: a setting renamed for clarity must not break the configs
    (and `--set` overrides, and recorded runs) that say the old name. The old name loads as the new one; giving
    both is an error (which one would win is a guess); `build_config` says once per key where an old name was
    read. One mechanism for every section: a section declares its renames, nothing else.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    renamed: ClassVar[Mapping[str, str]] = {}

    @model_validator(mode="before")
    @classmethod
    def _read_old_names(cls, data: Any) -> Any:
        if not cls.renamed or not isinstance(data, dict):
            return data
        for old, new in cls.renamed.items():
            if old in data and new in data:
                raise ValueError(f"`{old}` is the old name of `{new}` and both are given; keep only `{new}`")
        return {cls.renamed.get(key, key): value for key, value in data.items()}


C = TypeVar("C", bound=BaseModel)


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split `a.b=c` into (["a", "b"], value), the value parsed as YAML so `3`, `true`, `[x, y]` get types."""
    if "=" not in item:
        raise ConfigError(f"override {item!r} is not of the form key.path=value")
    key, raw = item.split("=", 1)
    key = key.strip()
    if not key or any(not part for part in key.split(".")):
        raise ConfigError(f"override {item!r} has an empty key")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {item!r}: value is not valid YAML ({exc})") from exc
    return key.split("."), value


def apply_overrides(data: dict[str, Any], overrides: Iterable[str]) -> dict[str, Any]:
    """Return a copy of `data` with each `a.b=c` override applied (intermediate mappings are created)."""
    result = _deep_copy(data)
    for item in overrides:
        path, value = parse_override(item)
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {item!r}: {part!r} is a value, not a section")
            node = child
        node[path[-1]] = value
    return result


def _deep_copy(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _deep_copy(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_deep_copy(v) for v in data]
    return data


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Load a YAML mapping, with errors that name the file and line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: config file not found") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: config file is not valid UTF-8 (byte offset {exc.start})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f", line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{path}{where}: invalid YAML ({getattr(exc, 'problem', exc)})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys to values")
    return data


def _values(annotation: Any, value: Any, path: str) -> list[tuple[type[StrictModel], Any, str]]:
    """The config sections inside one field's value, with their key paths: the field's type says where they are
    (`X`, `X | None`, `list[X]`, `dict[str, X]`)."""
    if isinstance(annotation, type) and issubclass(annotation, StrictModel):
        return [(annotation, value, path)] if isinstance(value, dict) else []
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is list and args and isinstance(value, list):
        return [found for i, item in enumerate(value) for found in _values(args[0], item, f"{path}.{i}")]
    if origin is dict and len(args) == 2 and isinstance(value, dict):
        return [found for key, item in value.items() for found in _values(args[1], item, f"{path}.{key}")]
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        return [found for arg in args for found in _values(arg, value, path)]
    return []


def old_names(cls: type[BaseModel], data: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(old key path, new key path) for every renamed key (`StrictModel.renamed`) that `data` uses."""
    if not isinstance(data, dict):
        return []
    renamed = cls.renamed if issubclass(cls, StrictModel) else {}
    found = [(f"{prefix}{old}", f"{prefix}{new}") for old, new in renamed.items() if old in data]
    for name, info in cls.model_fields.items():
        for section, value, path in _values(info.annotation, data.get(name), f"{prefix}{name}"):
            found += old_names(section, value, f"{path}.")
    return found


def _say_old_names(cls: type[BaseModel], data: dict[str, Any], source: str) -> None:
    for old, new in old_names(cls, data):
        if (old, new) not in _SAID:
            _SAID.add((old, new))
            logger.warning("%s: `%s` is the old name of `%s`; read as `%s` (rename it)", source, old, new, new)


def build_config(cls: type[C], data: dict[str, Any], *, source: str = "config") -> C:
    """Validate `data` into `cls`, turning pydantic's report into one readable ConfigError; old key names are
    read as their new ones, with a one-line note each (see `StrictModel.renamed`)."""
    _say_old_names(cls, data, source)
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            lines.append(f"  {loc}: {err['msg']}")
        raise ConfigError(f"{source}: invalid configuration\n" + "\n".join(lines)) from exc


def load_config(cls: type[C], path: str | Path | None, overrides: Sequence[str] = ()) -> C:
    """YAML file (optional) + overrides → validated config."""
    data = read_yaml(path) if path is not None else {}
    data = apply_overrides(data, overrides)
    return build_config(cls, data, source=str(path) if path is not None else "--set overrides")


def file_sha256(path: str | Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def git_commit() -> str | None:
    """The commit of the medadapt source tree, when it runs from a git checkout (None for a wheel install)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    commit = out.stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=here, capture_output=True, text=True
    )
    return commit + ("-dirty" if dirty.stdout.strip() else "")


def provenance(input_files: Iterable[str | Path] = ()) -> dict[str, Any]:
    """What a reader of a result needs to reproduce it: versions, commit, time and input hashes."""
    return {
        "medadapt_version": __version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "inputs": {str(p): file_sha256(p) for p in sorted({str(p) for p in input_files})},
    }


def write_resolved_config(
    out_dir: str | Path,
    config: BaseModel | dict[str, Any],
    input_files: Iterable[str | Path] = (),
    name: str = RESOLVED_CONFIG_NAME,
) -> Path:
    """Write the config as run, plus provenance, next to the outputs it produced."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    data = config.model_dump(mode="json") if isinstance(config, BaseModel) else _deep_copy(config)
    document = {"config": data, "provenance": provenance(input_files)}
    target = out_dir / name
    target.write_text(yaml.safe_dump(document, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return target


def deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` with `extra` laid over it, nested mappings merged key by key (neither input is changed)."""
    out = dict(base)
    for key, value in extra.items():
        out[key] = deep_merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out
