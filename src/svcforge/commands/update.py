"""``svcforge update``: option parsing and output; the work is in ``svcforge.update``."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from svcforge.answers import parse_data_options
from svcforge.console import err, out
from svcforge.errors import UpdateConflictsError
from svcforge.project import load_project
from svcforge.update import (
    UPDATE_AVAILABLE_EXIT_CODE,
    UpdateCheck,
    UpdatePlan,
    UpdateResult,
    apply_update,
    check_for_update,
    plan_update,
    refuse_downgrade,
    resolve_source,
    resolve_target,
)


def update(
    path: Annotated[
        Path, typer.Argument(metavar="PATH", help="The generated project to update.")
    ] = Path(),
    to: Annotated[
        str | None,
        typer.Option(
            "--to", metavar="REF", help="Target version (tag) or git ref; default: newest release."
        ),
    ] = None,
    set_values: Annotated[
        list[str] | None,
        typer.Option(
            "--set", metavar="KEY=VALUE", help="Change an answer during the update (repeatable)."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run", help="Report what would change and the likely conflicts; change nothing."
        ),
    ] = False,
    check: Annotated[
        bool,
        typer.Option(
            "--check",
            help="Only say whether a newer version exists "
            f"(exit 0: up to date, {UPDATE_AVAILABLE_EXIT_CODE}: update available).",
        ),
    ] = False,
    lock: Annotated[
        bool,
        typer.Option(
            "--lock/--no-lock", help="Run `uv lock` when the update changes pyproject.toml."
        ),
    ] = True,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a machine-readable result on stdout.")
    ] = False,
) -> None:
    """Update a generated service to a newer template version (3-way merge of your changes)."""
    project = load_project(path)
    source = resolve_source(project)
    if check:
        status = check_for_update(project, source)
        _emit(as_json, status.as_dict(), lambda: _print_check(status))
        raise typer.Exit(UPDATE_AVAILABLE_EXIT_CODE if status.update_available else 0)

    answers = parse_data_options(set_values or [], option="--set")
    target = resolve_target(source, to)
    refuse_downgrade(project, target)
    if dry_run:
        plan = plan_update(project, source, target, answers)
        _emit(as_json, plan.as_dict(), lambda: _print_plan(plan))
        return

    result = apply_update(project, source, target, answers, lock=lock)
    _emit(as_json, result.as_dict(), lambda: _print_result(result))
    if not result.clean:
        files = result.conflicts + result.rejects
        raise UpdateConflictsError(
            f"The update to {result.current} left {len(files)} file(s) to resolve by hand:\n"
            + "\n".join(f"  {name}" for name in files),
            files=files,
            hint="Resolve the conflict markers (and apply or delete any .rej hunks), then "
            "`git add` the files and commit. `git diff` shows everything the update changed.",
        )


def _emit(as_json: bool, data: dict[str, Any], human: Callable[[], None]) -> None:
    if as_json:
        typer.echo(json.dumps(data, indent=2))
    else:
        human()


def _print_check(status: UpdateCheck) -> None:
    if status.update_available:
        out.print(
            f"Update available: {escape(str(status.current))} -> {escape(str(status.latest))}"
        )
        out.print("Run `svcforge update --dry-run` to see what would change.")
    elif status.latest is None:
        out.print(f"The template at {escape(status.source)} has no releases yet.")
    else:
        out.print(f"Up to date with template version {escape(str(status.current))}.")


def _print_list(title: str, paths: list[str]) -> None:
    out.print(f"[bold]{escape(title)}[/] ({len(paths)})")
    for name in paths:
        out.print(f"  {escape(name)}", soft_wrap=True, highlight=False)


def _print_plan(plan: UpdatePlan) -> None:
    out.print(
        f"Update {escape(str(plan.current))} -> {escape(plan.target)} (dry run: nothing changed)"
    )
    _print_list("Files the template changes", plan.changed_by_template)
    _print_list("Template files you customised", plan.customised)
    _print_list("Likely conflicts (both)", plan.likely_conflicts)
    if plan.uncommitted:
        err.print("[yellow]Uncommitted changes must be committed or stashed before updating:[/]")
        for name in plan.uncommitted:
            err.print(f"  {escape(name)}", soft_wrap=True, highlight=False)


def _print_result(result: UpdateResult) -> None:
    if result.source_recorded:
        out.print(f"Recorded template source {escape(result.source_recorded)} (committed).")
    if not result.changed and result.clean:
        out.print(f"Already up to date with template version {escape(str(result.current))}.")
        return
    out.print(f"Updated {escape(str(result.previous))} -> {escape(str(result.current))}")
    _print_list("Changed files (uncommitted, review with git diff)", result.changed)
    if result.relocked:
        out.print("Re-locked dependencies (uv.lock) because pyproject.toml changed.")
    for warning in result.warnings:
        err.print(f"[yellow]Warning:[/] {escape(warning)}")
