"""``svcforge new``: option parsing and output; the work is in ``svcforge.new``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from svcforge.answers import load_data_file, parse_data_options, replay_command
from svcforge.console import err, out
from svcforge.new import GenerationResult, generate
from svcforge.template_source import resolve_template_source


def new(
    dest: Annotated[
        str, typer.Argument(metavar="DEST", help="Directory to generate the service into.")
    ] = ".",
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Use default answers instead of asking.")
    ] = False,
    data: Annotated[
        list[str] | None,
        typer.Option(
            "--data",
            "-d",
            metavar="KEY=VALUE",
            help="Answer a question (repeatable); overrides --data-file.",
        ),
    ] = None,
    data_file: Annotated[
        Path | None,
        typer.Option("--data-file", metavar="PATH", help="YAML mapping of answers."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option("--force", help="Generate into a non-empty directory (overwrites files)."),
    ] = False,
    git: Annotated[
        bool, typer.Option("--git/--no-git", help="Create a git repository and first commit.")
    ] = True,
    lock: Annotated[
        bool, typer.Option("--lock/--no-lock", help="Run `uv lock` in the new project.")
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable result on stdout.")
    ] = False,
) -> None:
    """Generate a new FastAPI service; asks the template's questions."""
    answers: dict[str, Any] = {}
    if data_file is not None:
        answers.update(load_data_file(data_file))
    answers.update(parse_data_options(data or []))
    source = resolve_template_source()
    if source.warning:
        # Before the questions, so nobody answers them only to learn this afterwards.
        err.print(f"[yellow]Warning:[/] {escape(source.warning)}")
    result = generate(
        Path(dest),
        data=answers,
        defaults=defaults,
        force=force,
        git=git,
        lock=lock,
        source=source,
    )
    command = replay_command(dest, result.answers, git=git, lock=lock)
    for note in result.warnings:
        err.print(f"[yellow]Warning:[/] {escape(note)}")
    if as_json:
        typer.echo(json.dumps(_as_json(result, command), indent=2))
    else:
        _print_summary(result, dest, command)


def _as_json(result: GenerationResult, command: str) -> dict[str, Any]:
    return {
        "dest": str(result.dest),
        "answers": result.public_answers,
        "template": {
            "source": result.source.location,
            "vcs_ref": result.source.vcs_ref,
            "kind": result.source.kind.value,
            "commit": result.answers.get("_commit"),
        },
        "commit": result.commit,
        "locked": result.locked,
        "command": command,
        "warnings": ([result.source.warning] if result.source.warning else []) + result.warnings,
    }


def _print_summary(result: GenerationResult, dest: str, command: str) -> None:
    name = result.public_answers.get("project_name", result.dest.name)
    out.print(f"[bold green]Generated[/] {escape(str(name))} in {escape(str(result.dest))}")
    out.print("\n[bold]Next steps:[/]")
    if Path(dest).absolute() != Path.cwd():
        out.print(f"  cd {escape(dest)}", soft_wrap=True)
    out.print("  make install\n  make test")
    out.print("\n[bold]Repeat this generation non-interactively:[/]")
    # soft_wrap: a wrapped command would break copy-and-paste.
    out.print(f"  {command}", soft_wrap=True, markup=False, highlight=False)
