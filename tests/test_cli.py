"""The CLI shell: help everywhere, clean errors without traceback, --debug shows it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from medadapt.cli import main


def test_help_lists_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "corpus" in out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert "medadapt" in capsys.readouterr().out


def test_unknown_command_is_a_usage_error() -> None:
    assert main(["no-such-command"]) == 2


def test_console_script_prints_error_without_traceback(tmp_path) -> None:
    """A MedadaptError reaches the user as one line with exit code 2; --debug adds the traceback."""
    missing = tmp_path / "missing.yaml"
    cmd = [sys.executable, "-m", "medadapt.cli", "corpus", "build", "--config", str(missing)]
    plain = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2, plain.stderr
    assert "missing.yaml" in plain.stderr
    assert "Traceback" not in plain.stderr
    debug = subprocess.run([*cmd[:3], "--debug", *cmd[3:]], capture_output=True, text=True, timeout=120)
    assert debug.returncode == 2
    assert "Traceback" in debug.stderr
