"""Issue 18, items 4, 12 and 13, as a new user meets them on the command line.

4: `finetune ner|screening` into a folder that holds a run refuses (one line naming the folder and what it holds)
   unless `--overwrite` (start over) or `--resume` (keep the finished seeds, rerun the rest) is given.
12: every command line in the README and in the config comments names commands and options the CLI has, and the
   `--set` keys of those lines are valid config keys.
13: a model path that does not exist says "no such model folder: PATH", not hub advice.
"""

from __future__ import annotations

import json
import random
import re
import shlex
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
import typer

from medadapt.cli import app, main
from medadapt.config import load_config
from medadapt.errors import ModelLoadError
from tests.screening_data import write_model, write_task
from tests.tasks.ner.test_finetune import _doc, _write_data
from tests.tiny import tiny_bert, wordpiece_tokenizer

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def ner_setup(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A tiny model, a small JSONL NER task and its config (1 epoch): a CLI run takes about a second."""
    root = tmp_path_factory.mktemp("reliability-ner")
    rng = random.Random(9)
    tokenizer = wordpiece_tokenizer([_doc(str(i), rng).text for i in range(80)], vocab_size=120)
    torch.manual_seed(0)
    tiny_bert(len(tokenizer)).save_pretrained(root / "model")
    tokenizer.save_pretrained(root / "model")
    data = _write_data(root / "data", {"train": 12, "dev": 4, "test": 4}, fmt="jsonl")
    config = root / "ner.yaml"
    config.write_text(
        f"model: {root / 'model'}\n"
        f"data: {{train: {data['train']}, dev: {data['dev']}, test: {data['test']}}}\n"
        "training: {epochs: 1, batch_size: 8}\n"
        f"out_dir: {root / 'default-out'}\n"
    )
    return config, root


@pytest.fixture(scope="module")
def ner_run(ner_setup: tuple[Path, Path]) -> Path:
    """A finished two-seed NER run (seed-1/, seed-2/, summary.json); tests work on copies of it."""
    config, root = ner_setup
    out = root / "finished"
    assert main(_ner(config, out, "--seeds", "1,2")) == 0
    return out


def _ner(config: Path, out: Path, *extra: str) -> list[str]:
    return ["finetune", "ner", str(config), "--out", str(out), "--no-progress", *extra]


def _copy(run: Path, target: Path) -> Path:
    shutil.copytree(run, target)  # copy2: contents and modification times, so "untouched" can be checked
    return target


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `folder` with its bytes and mtime: equal snapshots mean nothing was rewritten."""
    return {
        str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()
    }


def _one_error_line(err: str) -> str:
    lines = [line for line in err.strip().splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    return lines[0]


# ------------------------------------------------------------------------------- item 4: a run is kept
def test_finetune_ner_refuses_a_folder_that_holds_a_run(
    ner_run: Path, ner_setup: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _copy(ner_run, tmp_path / "run")
    before = _snapshot(out)
    capsys.readouterr()
    assert main(_ner(ner_setup[0], out, "--seeds", "1,2")) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {out} already holds a run (")
    assert "seed-1/" in line and "summary.json" in line
    assert "--overwrite" in line and "--resume" in line
    assert _snapshot(out) == before


def test_finetune_screening_refuses_a_folder_that_holds_a_run(tmp_path: Path, capsys) -> None:
    paths = write_task(tmp_path / "data")
    config = tmp_path / "screening.yaml"
    config.write_text(f"model: {write_model(tmp_path / 'model')}\ndata: {json.dumps(paths)}\n")
    out = tmp_path / "run"
    (out / "best-model").mkdir(parents=True)
    (out / "metrics.json").write_text('{"seed": 42}')
    (out / "log.jsonl").write_text("")
    before = _snapshot(out)
    capsys.readouterr()  # what building the tiny model printed (transformers' save progress bar) is not the command's
    assert main(["finetune", "screening", str(config), "--out", str(out), "--no-progress"]) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line == (
        f"error: {out} already holds a run (best-model/, log.jsonl, metrics.json); pass --overwrite "
        "to replace it, --resume to keep its finished seeds and run the rest, or choose another --out"
    )
    assert _snapshot(out) == before


def test_overwrite_replaces_the_old_run_entirely(
    ner_run: Path, ner_setup: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    out = _copy(ner_run, tmp_path / "run")
    assert main(_ner(ner_setup[0], out, "--seeds", "5", "--overwrite")) == 0
    assert f"replacing the run in {out}" in capsys.readouterr().err
    # the two-seed layout is gone: no stale summary.json or seed folder beside the new one-seed run
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["best-model", "data_report.json", "log.jsonl", "metrics.json", "predictions", "resolved_config.yaml"]
    )
    assert json.loads((out / "metrics.json").read_text())["seed"] == 5


def test_resume_keeps_finished_seeds_and_reruns_the_rest(
    ner_run: Path, ner_setup: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    out = _copy(ner_run, tmp_path / "run")
    (out / "seed-2" / "metrics.json").unlink()  # seed 2 was killed before it finished
    # seed 1 was run by a medadapt without `training.group_by_length`: a setting added since is its default
    resolved = out / "seed-1" / "resolved_config.yaml"
    resolved.write_text(resolved.read_text().replace("    group_by_length: true\n", ""))
    kept = _snapshot(out / "seed-1")
    capsys.readouterr()
    assert main(_ner(ner_setup[0], out, "--seeds", "1,2", "--resume")) == 0
    printed = capsys.readouterr().err
    assert "seed 1: finished run kept" in printed
    assert "seed 2" in printed and (out / "seed-2" / "metrics.json").is_file()
    assert _snapshot(out / "seed-1") == kept
    assert json.loads((out / "summary.json").read_text())["seeds"] == [1, 2]


def test_resume_refuses_finished_seeds_run_with_other_settings(
    ner_run: Path, ner_setup: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    out = _copy(ner_run, tmp_path / "run")
    before = _snapshot(out)
    capsys.readouterr()
    assert main(_ner(ner_setup[0], out, "--seeds", "1,2", "--resume", "--set", "training.lr=0.01")) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert f"{out / 'seed-1'} was run with other settings (training.learning_rate: 5e-05 -> 0.01)" in line
    assert "--overwrite" in line
    assert _snapshot(out) == before


def test_overwrite_and_resume_together_is_refused(ner_setup: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    assert main(_ner(ner_setup[0], tmp_path / "o", "--overwrite", "--resume")) == 2
    assert "--overwrite or --resume, not both" in _one_error_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_ctrl_c_in_one_seed_of_several_stops_the_command_without_a_summary(
    ner_setup: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Ctrl-C made the loop keep seed 1's best model and return; then seed 2 started, and summary.json averaged
    the cut-short seed as if finished. (The stop itself is the training loop's; here run_seed reports it.)"""
    import medadapt.tasks.ner.recipe as ner_task

    started = []

    def stopped_by_ctrl_c(config: Any, seed: int, folder: Path, **_: Any) -> dict[str, Any]:
        started.append(seed)
        folder.mkdir(parents=True, exist_ok=True)
        metrics = {"seed": seed, "interrupted": seed == 1}
        (folder / "metrics.json").write_text(json.dumps(metrics))
        return metrics

    monkeypatch.setattr(ner_task, "run_seed", stopped_by_ctrl_c)
    out = tmp_path / "run"
    assert main(_ner(ner_setup[0], out, "--seeds", "1,2,3")) == 130
    line = capsys.readouterr().err.strip().splitlines()[-1]  # after the "seed 1 (1/3)" progress line
    assert line == (
        f"error: stopped in seed 1: its best model so far and metrics.json (marked interrupted) are in "
        f"{out / 'seed-1'}; seeds 2, 3 not started, no summary.json written; rerun with --resume to finish"
    )
    assert started == [1] and not (out / "summary.json").exists()
    assert main(_ner(ner_setup[0], out, "--seeds", "1,2,3", "--resume")) == 130  # seed 1 is run again
    assert started == [1, 1]


def test_an_output_folder_that_is_a_file_is_refused(ner_setup: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    (tmp_path / "o").write_text("notes")
    assert main(_ner(ner_setup[0], tmp_path / "o")) == 2
    assert (
        _one_error_line(capsys.readouterr().err) == f"error: {tmp_path / 'o'} is a file, not an output folder; "
        "choose another --out"
    )


# ------------------------------------------------------------------- item 13: a missing model folder
def test_missing_relative_model_folder_is_named_without_hub_advice(
    ner_setup: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    monkeypatch.chdir(tmp_path)
    args = _ner(ner_setup[0], tmp_path / "o", "--set", "model=./models/mbert-clinical")
    assert main(args) == 2
    assert _one_error_line(capsys.readouterr().err) == "error: no such model folder: ./models/mbert-clinical"
    assert not (tmp_path / "o").exists()  # refused before anything was written


def test_missing_absolute_model_folder_in_screening(tmp_path: Path, capsys) -> None:
    config = tmp_path / "screening.yaml"
    config.write_text(f"model: {tmp_path / 'nowhere'}\ndata: {json.dumps(write_task(tmp_path / 'data'))}\n")
    assert main(["finetune", "screening", str(config), "--out", str(tmp_path / "o")]) == 2
    assert _one_error_line(capsys.readouterr().err) == f"error: no such model folder: {tmp_path / 'nowhere'}"


def test_offline_hub_id_not_cached_is_no_such_folder_with_the_offline_cause(
    ner_setup: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    assert main(_ner(ner_setup[0], tmp_path / "o", "--set", "model=no-such-org/no-such-model")) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith("error: no such model folder: no-such-org/no-such-model (")
    assert "HF_HUB_OFFLINE" in line and "Traceback" not in line
    assert not (tmp_path / "o").exists()


def test_hub_advice_stays_for_a_hub_id_when_online(monkeypatch: pytest.MonkeyPatch) -> None:
    import transformers

    from medadapt import loading

    def unreachable(name: str, **_: Any) -> None:
        raise OSError("We couldn't connect to 'https://huggingface.co' to load the files.")

    monkeypatch.setattr(loading, "hub_offline", lambda: False)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", unreachable)
    with pytest.raises(ModelLoadError, match="could not be fetched from the Hugging Face hub") as caught:
        loading.load_tokenizer("some-org/some-model")
    assert "no such model folder" not in str(caught.value)


def test_a_folder_without_a_model_says_so_in_one_line(ner_setup: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    data = ner_setup[1] / "data"
    assert main(_ner(ner_setup[0], tmp_path / "o", "--set", f"model={data}")) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {data} is not a model folder: no config.json, tokenizer.json")


def test_a_file_given_as_model_folder(ner_setup: tuple[Path, Path], tmp_path: Path, capsys) -> None:
    assert main(_ner(ner_setup[0], tmp_path / "o", "--set", f"model={ner_setup[0]}")) == 2
    assert _one_error_line(capsys.readouterr().err) == f"error: {ner_setup[0]} is a file, not a model folder"


def test_a_tokenizer_that_does_not_fit_the_model_is_said_before_training(
    ner_setup: tuple[Path, Path], tmp_path: Path, capsys
) -> None:
    """Another model's larger tokenizer beside the weights used to stop in the first step: IndexError."""
    mixed = tmp_path / "mixed"
    shutil.copytree(ner_setup[1] / "model", mixed)
    wordpiece_tokenizer([_doc(str(i), random.Random(i)).text for i in range(80)], vocab_size=400).save_pretrained(mixed)
    assert main(_ner(ner_setup[0], tmp_path / "o", "--set", f"model={mixed}")) == 2
    line = _one_error_line(capsys.readouterr().err)
    assert line.startswith(f"error: {mixed}: the tokenizer has ") and "embedding rows" in line
    assert not (tmp_path / "o").exists()


def test_load_pretrained_names_a_missing_folder(tmp_path: Path) -> None:
    from transformers import AutoModelForMaskedLM

    from medadapt.loading import load_pretrained

    with pytest.raises(ModelLoadError, match=r"^no such model folder: .*gone$"):
        load_pretrained(AutoModelForMaskedLM.from_pretrained, str(tmp_path / "gone"))


def test_evaluate_screening_names_a_missing_model_folder(tmp_path: Path, capsys) -> None:
    data = write_task(tmp_path / "data")["test"]
    argv = ["evaluate", "screening", "--model", str(tmp_path / "m"), "--data", data, "--out", str(tmp_path / "o")]
    assert main(argv) == 2
    assert _one_error_line(capsys.readouterr().err) == f"error: no such model folder: {tmp_path / 'm'}"


# ------------------------------------------------------------------- item 12: the docs match the CLI
ACCELERATE = re.compile(r"^(?:\S*/)?accelerate launch -m medadapt\.cli ")


def _continued(lines: list[str]) -> Iterator[str]:
    """Lines with backslash continuations joined."""
    pending = ""
    for line in lines:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        yield pending + line
        pending = ""
    if pending:
        yield pending


def _as_medadapt(text: str) -> str | None:
    """`medadapt ARGS...` from a shell line (also `accelerate launch -m medadapt.cli ARGS`), else None."""
    text = text.strip().strip("`").strip()
    if ACCELERATE.match(text):
        return "medadapt " + ACCELERATE.sub("", text)
    return text if text.startswith("medadapt ") else None


def readme_commands() -> list[str]:
    """Command lines of README.md: in ```bash blocks, and in `backticks` in the prose."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```bash\n(.*?)```", text, flags=re.S):
        found += [c for line in _continued(block.splitlines()) if (c := _as_medadapt(line))]
    prose = re.sub(r"```.*?```", "", text, flags=re.S)
    found += [c for span in re.findall(r"`([^`\n]+)`", prose) if (c := _as_medadapt(span))]
    return found


def config_comment_commands() -> list[tuple[str, str]]:
    """(file, command) for every `medadapt ...` in the comments of configs/**.yaml."""
    found = []
    for path in sorted((ROOT / "configs").rglob("*.yaml")):
        comments = [line.split("#", 1)[1] for line in path.read_text(encoding="utf-8").splitlines() if "#" in line]
        for line in _continued(comments):
            spans = re.findall(r"`([^`]+)`", line) or [line]
            for span in spans:
                start = re.search(r"(?:\S*accelerate launch -m medadapt\.cli |\bmedadapt )", span)
                if start and (c := _as_medadapt(span[start.start() :])):
                    found.append((str(path.relative_to(ROOT)), c))
    return found


def _tokens(command: str) -> list[str]:
    """shlex tokens after `medadapt`, without comments and the [optional] brackets of a usage line."""
    return [t.strip("[]") for t in shlex.split(command.replace("[", " [").replace("]", "] "), comments=True)][1:]


def _walk(tokens: list[str]) -> tuple[list[str], Any, list[str]]:
    """(command path, the click command, the remaining tokens); an unknown sub-command fails the test."""
    command: Any = typer.main.get_command(app)
    path: list[str] = []
    rest = list(tokens)
    while hasattr(command, "commands"):
        while rest and rest[0] in _options(command):
            rest.pop(0)
        assert rest, f"medadapt {' '.join(path)}: no sub-command given"
        assert rest[0] in command.commands, f"medadapt {' '.join(path)} has no sub-command {rest[0]!r}"
        path.append(rest.pop(0))
        command = command.commands[path[-1]]
    return path, command, rest


def _options(command: Any) -> set[str]:
    return {o for p in command.params if p.param_type_name == "option" for o in (*p.opts, *p.secondary_opts)}


def _problems(command_line: str) -> list[str]:
    """Options the command does not have, and a count of positional arguments it does not take."""
    _, command, rest = _walk(_tokens(command_line))
    options = {o: p for p in command.params if p.param_type_name == "option" for o in (*p.opts, *p.secondary_opts)}
    problems, positional, tokens = [], 0, iter(rest)
    for token in tokens:
        name = token.split("=")[0]
        if token.startswith("-") and len(token) > 1:
            if name == "--help":
                continue
            if name not in options:
                problems.append(f"no option {name}")
            elif not options[name].is_flag and "=" not in token:
                next(tokens, None)  # the option's value
        else:
            positional += 1
    arguments = [p for p in command.params if p.param_type_name == "argument"]
    least = sum(1 for a in arguments if a.required)
    most = None if any(a.nargs == -1 for a in arguments) else len(arguments)
    mentioned_only = not rest  # "as with `medadapt pretrain`" names the command, it is no command line
    if not mentioned_only and (positional < least or (most is not None and positional > most)):
        problems.append(f"{positional} positional arguments, the command takes {least}..{most or 'any'}")
    return problems


def test_readme_command_lines_are_commands_the_cli_takes() -> None:
    commands = readme_commands()
    assert len(commands) >= 15  # the parser found the tour, not nothing
    wrong = {c: bad for c in commands if (bad := _problems(c))}
    assert not wrong, f"README command lines the CLI does not take: {wrong}"


def test_config_comment_command_lines_are_commands_the_cli_takes() -> None:
    commands = config_comment_commands()
    assert len(commands) >= 10
    wrong = {f"{f}: {c}": bad for f, c in commands if (bad := _problems(c))}
    assert not wrong, f"config comments with command lines the CLI does not take: {wrong}"


def _all_options() -> set[str]:
    options = {"--help"}
    stack: list[Any] = [typer.main.get_command(app)]
    while stack:
        command = stack.pop()
        options |= _options(command)
        stack += list(getattr(command, "commands", {}).values())
    return options


def test_options_named_in_readme_prose_exist() -> None:
    """`--one-per-line` and the like, mentioned alone in the text, are options of some command."""
    prose = re.sub(r"```.*?```", "", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)
    named = set(re.findall(r"`(--[a-z][a-z-]*)`", prose)) | set(re.findall(r"with `(--[a-z][a-z-]*)`", prose))
    assert "--skip-bad" in named
    assert not named - _all_options(), f"README names options no command has: {sorted(named - _all_options())}"


def _config_classes() -> dict[tuple[str, ...], Any]:
    from medadapt.corpus import CorpusBuildConfig
    from medadapt.pretrain.config import PretrainConfig
    from medadapt.tasks.ner.config import NerConfig
    from medadapt.tasks.screening.config import ScreeningConfig

    return {
        ("finetune", "ner"): NerConfig,
        ("finetune", "screening"): ScreeningConfig,
        ("pretrain",): PretrainConfig,
        ("corpus", "build"): CorpusBuildConfig,
    }


def test_set_overrides_in_the_docs_are_valid_config_keys() -> None:
    """`--set dedup.threshold=0.85` on a shipped config must load: a wrong key would fail for the reader."""
    checked = 0
    for command_line in [*readme_commands(), *(c for _, c in config_comment_commands())]:
        path, _, rest = _walk(_tokens(command_line))
        cls = _config_classes().get(tuple(path))
        if cls is None:
            continue
        sets = [rest[i + 1] for i, t in enumerate(rest[:-1]) if t == "--set" and rest[i + 1] != "key=value"]
        given = [rest[i + 1] for i, t in enumerate(rest[:-1]) if t == "--config"]
        positional = [t for t in rest if t.endswith(".yaml")]
        config = ROOT / (given or positional or [""])[0]
        if config.is_file():
            load_config(cls, config, sets)
            checked += 1
    assert checked >= 8


def test_corpus_build_one_per_line_flag_reads_each_line_as_a_document(tmp_path: Path, capsys) -> None:
    """The README's `--one-per-line` exists and does what it says."""
    from medadapt.corpus import train_tokenizer

    lines = [f"Nota {i}: el paciente refiere dolor abdominal desde hace {i} dias y fiebre." for i in range(12)]
    (tmp_path / "notes.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    tokenizer = train_tokenizer([str(tmp_path / "notes.txt")], tmp_path / "tok", vocab_size=120, show_progress=False)
    argv = ["corpus", "build", str(tmp_path / "notes.txt"), "--tokenizer", str(tokenizer), "--block-size", "16"]
    argv += ["--val-fraction", "0", "--quiet", "--set", "dedup.near=false"]
    assert main([*argv, "--out", str(tmp_path / "lines"), "--one-per-line"]) == 0
    assert json.loads((tmp_path / "lines" / "stats.json").read_text())["documents"]["read"] == 12
    assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    assert json.loads((tmp_path / "whole" / "stats.json").read_text())["documents"]["read"] == 1
