"""The `medadapt` command line: a thin Typer app that parses, loads a config and calls one function per command.

Sub-command groups live in `medadapt.commands.*` and import their heavy dependencies inside the command body,
so `medadapt --help` stays instant. A `MedadaptError` is printed as one readable message with exit code 2; with
`--debug` (or MEDADAPT_DEBUG=1) the traceback is shown as well.
"""

from __future__ import annotations

import os
import sys

# medadapt draws its own progress bars; the hub/transformers per-file bars only clutter logs.
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import typer
from rich.markup import escape

from medadapt import __version__
from medadapt.commands import corpus as corpus_commands
from medadapt.commands import data as data_commands
from medadapt.commands import demo as demo_commands
from medadapt.commands import evaluate as evaluate_commands
from medadapt.commands import finetune as finetune_commands
from medadapt.commands import predict as predict_commands
from medadapt.commands import pretrain as pretrain_commands
from medadapt.commands import study as study_commands
from medadapt.commands import vocab as vocab_commands
from medadapt.errors import MedadaptError
from medadapt.progress import console

app = typer.Typer(
    name="medadapt",
    help="Adapt multilingual BERT-style encoders to medicine: corpora, continued pre-training, clinical tasks.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(corpus_commands.app, name="corpus")
app.add_typer(corpus_commands.tokenizer_app, name="tokenizer")
app.add_typer(vocab_commands.app, name="vocab")
app.add_typer(data_commands.app, name="data")
app.add_typer(evaluate_commands.app, name="evaluate")
app.add_typer(finetune_commands.app, name="finetune")
app.add_typer(study_commands.app, name="study")
demo_commands.register(app)
pretrain_commands.register(app)
predict_commands.register(app)

_state = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"medadapt {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks for errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """medadapt — domain adaptation of multilingual encoders for clinical NLP."""
    _state["debug"] = debug or os.environ.get("MEDADAPT_DEBUG") == "1"


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the app, turning MedadaptError into a clean message.

    Click handles its own usage errors and --help in standalone mode (exiting via SystemExit); everything
    medadapt raises for people is a MedadaptError, printed here without a traceback.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="medadapt", standalone_mode=True)
    except MedadaptError as exc:
        if _state["debug"] or "--debug" in args:
            console.print_exception()
        console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
