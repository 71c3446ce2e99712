"""The `medadapt` command line: a thin Typer app that parses, loads a config and calls one function per command.

Sub-command groups live in `medadapt.commands.*` and import their heavy dependencies inside the command body,
so `medadapt --help` stays instant. A `MedadaptError` is printed as one readable message with exit code 2; with
`--debug` (or MEDADAPT_DEBUG=1) the traceback is shown as well.
"""

from __future__ import annotations

import os
import sys

import typer

from medadapt import __version__
from medadapt.commands import corpus as corpus_commands
from medadapt.commands import demo as demo_commands
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
demo_commands.register(app)

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
    """Console-script entry point: run the app, turning MedadaptError into a clean message."""
    try:
        app(args=argv, standalone_mode=False)
    except MedadaptError as exc:
        if _state["debug"] or "--debug" in (argv if argv is not None else sys.argv):
            console.print_exception()
        console.print(f"[bold red]error:[/] {exc}", highlight=False, markup=True)
        return exc.exit_code
    except typer.Abort:
        console.print("[yellow]aborted[/]")
        return 130
    except KeyboardInterrupt:
        console.print("[yellow]interrupted[/]")
        return 130
    except SystemExit as exc:  # typer.Exit and --help
        return int(exc.code or 0)
    except Exception as exc:  # click usage errors come through here in non-standalone mode
        import click

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return exc.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
