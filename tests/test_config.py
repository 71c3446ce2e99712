"""Config loading: YAML + overrides, strict keys, readable errors, provenance beside outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import Field

from medadapt.config import (
    StrictModel,
    apply_overrides,
    file_sha256,
    load_config,
    parse_override,
    write_resolved_config,
)
from medadapt.errors import ConfigError


class Inner(StrictModel):
    rate: float = 0.15
    names: list[str] = Field(default_factory=list)


class Outer(StrictModel):
    block_size: int = 512
    inner: Inner = Inner()


def test_parse_override_types_values_as_yaml() -> None:
    assert parse_override("a.b=3") == (["a", "b"], 3)
    assert parse_override("x=true") == (["x"], True)
    assert parse_override("x=[nl, ro]") == (["x"], ["nl", "ro"])
    assert parse_override("x=hello=world") == (["x"], "hello=world")


@pytest.mark.parametrize("bad", ["novalue", "=3", "a..b=1"])
def test_parse_override_rejects_malformed(bad: str) -> None:
    with pytest.raises(ConfigError):
        parse_override(bad)


def test_apply_overrides_creates_sections_and_does_not_mutate_input() -> None:
    data = {"inner": {"rate": 0.1}}
    out = apply_overrides(data, ["inner.names=[a]", "block_size=128"])
    assert out == {"inner": {"rate": 0.1, "names": ["a"]}, "block_size": 128}
    assert data == {"inner": {"rate": 0.1}}


def test_override_into_a_value_is_an_error() -> None:
    with pytest.raises(ConfigError, match="is a value"):
        apply_overrides({"block_size": 3}, ["block_size.x=1"])


def test_load_config_from_yaml_with_overrides(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("block_size: 256\ninner:\n  rate: 0.2\n")
    cfg = load_config(Outer, path, ["inner.rate=0.3"])
    assert cfg.block_size == 256
    assert cfg.inner.rate == pytest.approx(0.3)


def test_unknown_key_is_named_in_the_error(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("blok_size: 256\n")
    with pytest.raises(ConfigError, match="blok_size"):
        load_config(Outer, path)


def test_invalid_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("a: 1\nb: [unclosed\n")
    with pytest.raises(ConfigError, match=r"c\.yaml, line \d"):
        load_config(Outer, path)


def test_missing_config_file_is_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(Outer, tmp_path / "nope.yaml")


def test_resolved_config_has_provenance_and_input_hashes(tmp_path: Path) -> None:
    data_file = tmp_path / "in.txt"
    data_file.write_text("some text\n")
    target = write_resolved_config(tmp_path / "out", Outer(block_size=64), [data_file])
    doc = yaml.safe_load(target.read_text())
    assert doc["config"]["block_size"] == 64
    prov = doc["provenance"]
    assert prov["medadapt_version"]
    assert prov["inputs"] == {str(data_file): file_sha256(data_file)}
    assert "git_commit" in prov and "created" in prov
