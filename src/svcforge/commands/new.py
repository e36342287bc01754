"""``svcforge new``: option parsing and output; the work is in ``svcforge.new``."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from svcforge import help_text
from svcforge.answers import load_data_file, parse_data_options, replay_command
from svcforge.console import emit_json, err, out, printable
from svcforge.options import check_answers, load_catalogue
from svcforge.template_source import (
    TEMPLATE_ENV,
    TEMPLATE_REF_ENV,
    local_path,
    resolve_template_source,
)

if TYPE_CHECKING:
    from svcforge.new import GenerationResult

EPILOG = help_text.epilog(
    "A run is all or nothing: if it fails or is interrupted (Ctrl-C, SIGTERM, a closed "
    "terminal), everything it wrote is removed and files it overwrote are restored. The "
    "rendered project is checked (Python, TOML, JSON, YAML must parse) before anything "
    "is written. Inside an existing git repository no nested repository is created; only "
    "generated files are ever committed.",
    help_text.examples(
        ("svcforge new billing-api", "ask the questions in the terminal"),
        (
            (
                "svcforge new billing-api --defaults -d project_name='Billing API' "
                "-d python_version=3.12"
            ),
            "no questions: defaults plus the answers given",
        ),
        ("svcforge new svc --defaults --data-file answers.yml", "answers from a YAML file"),
        (
            "svcforge new . --force --defaults",
            "generate into the current, non-empty directory (lists what it overwrites)",
        ),
        (
            "svcforge new services/billing --defaults --commit-in-enclosing-repo",
            "in a monorepo: commit the new service into the enclosing repository",
        ),
        ("svcforge new svc --defaults --json", "machine-readable result (or error) on stdout"),
    ),
    help_text.environment(
        TEMPLATE_ENV, TEMPLATE_REF_ENV, "UV_PYTHON_DOWNLOADS", "NO_COLOR", "GIT_*"
    ),
    help_text.exit_codes(0, 1, 2, 3, 4, 5, 6, 129, 130, 143),
)


def new(
    dest: Annotated[
        str,
        typer.Argument(
            metavar="DEST", help="Directory to generate the service into (created if missing)."
        ),
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
        typer.Option(
            "--force",
            help="Generate into a non-empty directory: files the template writes are "
            "overwritten (listed first), other files are left alone and not committed.",
        ),
    ] = False,
    git: Annotated[
        bool,
        typer.Option(
            "--git/--no-git",
            help="Commit the generated files: in a new repository, or (see the next "
            "option) in the enclosing one.",
        ),
    ] = True,
    commit_in_enclosing_repo: Annotated[
        bool,
        typer.Option(
            "--commit-in-enclosing-repo",
            help="When DEST is inside a git repository (a monorepo), commit the generated "
            "files there. Without it nothing is committed in that case.",
        ),
    ] = False,
    lock: Annotated[
        bool, typer.Option("--lock/--no-lock", help="Run `uv lock` in the new project.")
    ] = True,
    as_json: Annotated[
        bool,
        typer.Option("--json", help="Print the result (or the error) as JSON on stdout."),
    ] = False,
) -> None:
    """Generate a new FastAPI service; asks the template's questions."""
    # Imported here: Copier takes over half a second to import, which `check` and the
    # other commands that never render should not pay for.
    from svcforge.new import generate  # noqa: PLC0415 - see above

    answers: dict[str, Any] = {}
    if data_file is not None:
        answers.update(load_data_file(data_file))
    answers.update(parse_data_options(data or []))
    source = resolve_template_source()
    template_root = local_path(source.location)
    if template_root is not None and (template_root / "copier.yml").is_file():
        # Refuse a wrong choice with the choices spelled out, before any question is asked.
        answers = check_answers(load_catalogue(template_root), answers)
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
        commit_in_enclosing_repo=commit_in_enclosing_repo,
        on_overwrite=_announce_overwrites,
    )
    command = replay_command(dest, result.answers, git=git, lock=lock)
    # The replay must act like the original: refusing a non-empty directory would not.
    if force:
        command += " --force"
    if commit_in_enclosing_repo:
        command += " --commit-in-enclosing-repo"
    for note in result.warnings:
        err.print(f"[yellow]Warning:[/] {escape(printable(note))}", highlight=False)
    if as_json:
        emit_json(_as_json(result, command))
    else:
        _print_summary(result, dest, command)


def _print_names(names: list[str]) -> None:
    for name in names:
        # Real names (non-ASCII as itself); only control characters are escaped.
        err.print(f"  {printable(name, keep='')}", markup=False, highlight=False)


def _announce_overwrites(names: list[str]) -> None:
    """Say which existing files are replaced, before any is written."""
    err.print(
        f"[yellow]Overwriting {len(names)} existing file(s)[/] (restored if the run fails):",
        highlight=False,
    )
    _print_names(names)


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
        "repository": None if result.repository is None else str(result.repository),
        "locked": result.locked,
        "files": result.files,
        "overwritten": result.overwritten,
        "kept": result.kept,
        "command": command,
        "warnings": ([result.source.warning] if result.source.warning else []) + result.warnings,
    }


def _print_summary(result: GenerationResult, dest: str, command: str) -> None:
    name = result.public_answers.get("project_name", result.dest.name)
    out.print(
        f"[bold green]Generated[/] {escape(printable(str(name)))} in "
        f"{escape(printable(str(result.dest), keep=''))}",
        highlight=False,
    )
    if result.kept:
        out.print("Kept your existing (not regenerated):", highlight=False)
        for kept in result.kept:
            out.print(f"  {printable(kept, keep='')}", markup=False, highlight=False)
    out.print("\n[bold]Next steps:[/]")
    if Path(dest).absolute() != Path.cwd():
        # Quoted for the shell: spaces, quotes and `$` in the path survive copy-and-paste.
        out.print(f"  cd {shlex.quote(dest)}", soft_wrap=True, markup=False, highlight=False)
    out.print("  make install\n  make test")
    out.print("\n[bold]Repeat this generation non-interactively:[/]")
    # soft_wrap: a wrapped command would break copy-and-paste.
    out.print(f"  {command}", soft_wrap=True, markup=False, highlight=False)
