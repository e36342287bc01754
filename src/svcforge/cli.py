"""The ``svcforge`` command line: a thin Typer layer over the library functions."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, ParamSpec

import typer
from rich.markup import escape

from svcforge import __version__
from svcforge.commands import new as new_command
from svcforge.commands import update as update_command
from svcforge.console import err
from svcforge.errors import SvcforgeError

P = ParamSpec("P")


def report_error(error: SvcforgeError) -> None:
    """Print a user-facing error: a title, the message and an optional hint."""
    err.print(f"[bold red]{escape(error.title)}:[/] {escape(error.message)}")
    if error.hint:
        err.print(f"[yellow]Hint:[/] {escape(error.hint)}")


def handle_errors(command: Callable[P, None]) -> Callable[P, None]:
    """Wrap a command: the one place that maps ``SvcforgeError`` to message and exit code.

    A decorator rather than a custom click group: Typer >= 0.29 vendors click, so
    overriding group internals would tie svcforge to one Typer release.
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except SvcforgeError as error:
            report_error(error)
            raise typer.Exit(error.exit_code) from None

    return wrapper


app = typer.Typer(
    name="svcforge",
    help="Generate production-ready FastAPI services from the svcforge template.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
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


app.command(name="new")(handle_errors(new_command.new))
app.command(name="update")(handle_errors(update_command.update))


def main() -> None:
    """Entry point of the ``svcforge`` console script."""
    app()
