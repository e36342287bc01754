"""The ``svcforge`` command line: a thin Typer layer over the library functions."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Annotated, ParamSpec

import typer
from rich.markup import escape

from svcforge import __version__, help_text
from svcforge.commands import check as check_command
from svcforge.commands import diff as diff_command
from svcforge.commands import new as new_command
from svcforge.commands import options as options_command
from svcforge.commands import standards as standards_command
from svcforge.commands import update as update_command
from svcforge.console import emit_json, err, json_written, printable, reset_json
from svcforge.errors import AbortedError, SvcforgeError, ToolError, UsageError

P = ParamSpec("P")

#: Programs svcforge runs; a ``FileNotFoundError`` naming one means it is not installed.
_TOOLS = {"git": "--no-git", "uv": "--no-lock"}


def report_error(error: SvcforgeError) -> None:
    """Print a user-facing error: a title, the message and an optional hint."""
    err.print(
        f"[bold red]{escape(error.title)}:[/] {escape(printable(error.message))}", highlight=False
    )
    if error.hint:
        err.print(f"[yellow]Hint:[/] {escape(printable(error.hint))}", highlight=False)


def _missing_tool(error: BaseException) -> ToolError | None:
    """Recognise a missing git or uv, however deep it was noticed (subprocess, plumbum)."""
    program = getattr(error, "filename", None) or getattr(error, "program", None)
    name = str(program) if program is not None else ""
    if isinstance(error, OSError) and not isinstance(error, FileNotFoundError):
        return None
    if name not in _TOOLS:
        return None
    return ToolError(
        f"{name} is not installed (or not on PATH).",
        hint=f"Install {name} and run the command again "
        f"(`svcforge new` can do without it: {_TOOLS[name]}).",
    )


def handle_errors(command: Callable[P, None]) -> Callable[P, None]:
    """Wrap a command: the one place that maps ``SvcforgeError`` to message and exit code.

    The message goes to stderr; with ``--json`` the error is also printed on stdout
    as a JSON document (``{"error": {...}}``), unless the command already printed
    its result there. A decorator rather than a custom click group: Typer >= 0.29
    vendors click, so overriding group internals would tie svcforge to one release.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        reset_json()
        failure: SvcforgeError
        try:
            try:
                command(*args, **kwargs)
            except Exception as error:
                tool = _missing_tool(error)
                if tool is None:
                    raise
                raise tool from None
        except KeyboardInterrupt:
            # Ctrl-C outside the parts that clean up after themselves: still one line.
            failure = AbortedError("Interrupted by SIGINT.")
        except SvcforgeError as error:
            failure = error
        else:
            return
        report_error(failure)
        if kwargs.get("as_json") and not json_written():
            emit_json(failure.as_dict())
        raise typer.Exit(failure.exit_code)

    return wrapper


app = typer.Typer(
    name="svcforge",
    help="Generate production-ready FastAPI services from the svcforge template, keep "
    "them up to date with it, and check any service against the standards.",
    epilog=help_text.epilog(
        help_text.examples(
            ("svcforge new billing-api", "ask the questions, generate, uv lock, git commit"),
            (
                "svcforge new billing-api --defaults -d project_name='Billing API'",
                "no questions: defaults plus the answers given",
            ),
            ("svcforge update --check", "is a newer template version out? (exit 10 if so)"),
            ("svcforge update --dry-run", "what an update would change, and its conflicts"),
            ("svcforge options", "the template's questions, choices and constraints"),
            ("svcforge check", "judge a service against the standards (exit 9 if one fails)"),
            ("svcforge diff", "your changes to the template's files, as a patch"),
            ("svcforge new -h", "every option of a command"),
        ),
        help_text.environment(),
        help_text.exit_codes(),
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    # Plain help: Rich panels print `<bool>` after every flag (Typer >= 0.29).
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"svcforge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the svcforge version and exit.",
        ),
    ] = False,
) -> None:
    """Generate production-ready FastAPI services from the svcforge template."""


app.command(name="new", epilog=new_command.EPILOG)(handle_errors(new_command.new))
app.command(name="update", epilog=update_command.EPILOG)(handle_errors(update_command.update))
app.command(name="options", epilog=options_command.EPILOG)(handle_errors(options_command.options))
app.command(name="check", epilog=check_command.EPILOG)(handle_errors(check_command.check))
app.command(name="standards", epilog=standards_command.EPILOG)(
    handle_errors(standards_command.standards)
)
app.command(name="diff", epilog=diff_command.EPILOG)(handle_errors(diff_command.diff))


def _json_requested(argv: list[str]) -> bool:
    options = argv[: argv.index("--")] if "--" in argv else argv
    return "--json" in options


def main() -> None:
    """Entry point of the ``svcforge`` console script.

    Runs Typer in non-standalone mode only to see usage errors (unknown option,
    missing value) first: with ``--json`` they are JSON on stdout too.
    """
    try:
        code = app(standalone_mode=False)
    except typer.Abort:
        err.print("Aborted.")
        code = 1
    except Exception as error:
        # Click's usage errors (Typer vendors click, so match the interface, not the class).
        show = getattr(error, "show", None)
        exit_code = getattr(error, "exit_code", None)
        if not callable(show) or not isinstance(exit_code, int):
            raise
        show()
        if _json_requested(sys.argv[1:]):
            format_message = getattr(error, "format_message", None)
            message = format_message() if callable(format_message) else str(error)
            emit_json(UsageError(str(message)).as_dict())
        code = exit_code
    sys.exit(code if isinstance(code, int) else 0)
