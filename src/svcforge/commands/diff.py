"""``svcforge diff``: option parsing and output; the work is in `svcforge.diff`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from svcforge import help_text
from svcforge.console import emit_json
from svcforge.diff import project_diff
from svcforge.template_source import TEMPLATE_ENV

#: Exit code of ``--exit-code`` when the project differs from the pristine render (as git).
DIFFERENCES_EXIT_CODE = 1

EPILOG = help_text.epilog(
    "The diff goes from the pristine render of the project's recorded answers at its "
    "recorded template version (a/) to the project (b/): `git apply -R` of it in the "
    "project restores the template's files. Only template-managed files are compared; "
    "uv.lock and files the template does not render are the team's own. Nothing in the "
    "project is written. Like `git diff`, it exits 0 whether or not there are differences; "
    f"with --exit-code, {DIFFERENCES_EXIT_CODE} when there are.",
    help_text.examples(
        ("svcforge diff", "every change of this project to the template's files"),
        ("svcforge diff path/to/service Dockerfile", "only the Dockerfile"),
        ("svcforge diff | git apply -R", "restore the pristine files (review first!)"),
        ("svcforge diff --exit-code --stat", "exit 1 if anything differs; list the files"),
    ),
    help_text.environment(TEMPLATE_ENV, "NO_COLOR", "GIT_*"),
    help_text.exit_codes(0, 1, 2, 3, 4, 5, 130),
)


def diff(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="The generated project to compare.")
    ] = Path(),
    files: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="[FILE]...",
            help="Only these template-managed files or folders (relative to PATH).",
            show_default=False,
        ),
    ] = None,
    exit_code: Annotated[
        bool,
        typer.Option(
            "--exit-code",
            help=f"Exit {DIFFERENCES_EXIT_CODE} when there are differences, 0 when there are none.",
        ),
    ] = False,
    binary: Annotated[
        bool,
        typer.Option("--binary", help="Write binary files as git binary patches, not a note."),
    ] = False,
    stat: Annotated[
        bool,
        typer.Option("--stat", help="Only list the files that differ, and how."),
    ] = False,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the files and the patch as one JSON document."),
    ] = False,
) -> None:
    """Show your changes to template-managed files against the pristine template render."""
    result = project_diff(path, files or (), binary=binary)
    if as_json:
        emit_json(
            {
                "template_version": result.version,
                "files": [{"path": name, "state": state} for name, state in result.files],
                "patch": result.text,
            }
        )
    elif stat:
        for name, state in result.files:
            typer.echo(f"{state:<10} {name}")
    else:
        # The patch's own bytes: file contents need not be UTF-8, and `git apply` reads bytes.
        sys.stdout.buffer.write(result.patch)
        sys.stdout.buffer.flush()
    if exit_code and result.files:
        raise typer.Exit(DIFFERENCES_EXIT_CODE)
