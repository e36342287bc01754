"""``svcforge update``: option parsing and output; the work is in ``svcforge.update``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from svcforge import help_text
from svcforge.answers import parse_data_options
from svcforge.console import emit_json, err, out
from svcforge.errors import UPDATE_AVAILABLE_EXIT_CODE, UpdateConflictsError
from svcforge.project import load_project
from svcforge.template_source import TEMPLATE_ENV

if TYPE_CHECKING:
    from svcforge.update import UpdateCheck, UpdateReport

EPILOG = help_text.epilog(
    "The project must be a git repository without uncommitted changes. The merged result "
    "is left uncommitted for review (git diff); conflicts are marked in the files.",
    help_text.examples(
        ("svcforge update --check", "exit 0: up to date, 10: a newer version exists"),
        ("svcforge update --dry-run", "files the update would change, and its conflicts"),
        ("svcforge update", "3-way update to the newest release"),
        ("svcforge update --to v0.3.0", "... or to a given tag or git ref"),
        ("svcforge update --set python_version=3.13", "change an answer while updating"),
        ("svcforge update path/to/service --json", "machine-readable result (or error)"),
    ),
    help_text.environment(TEMPLATE_ENV, "UV_PYTHON_DOWNLOADS", "NO_COLOR", "GIT_*"),
    help_text.exit_codes(0, 1, 2, 3, 4, 5, 7, 8, 10, 130, 143),
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
            "--dry-run",
            help="Report exactly what the update would change and its conflicts; change nothing.",
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
    # Imported here: Copier takes over half a second to import, which `check` and the
    # other commands that never render should not pay for.
    from svcforge.update import (  # noqa: PLC0415 - see above
        apply_update,
        check_for_update,
        interrupts_change_nothing,
        plan_update,
        refuse_downgrade,
        resolve_source,
        resolve_target,
    )

    project = load_project(path)
    # Listing a remote template's versions can take a while: Ctrl-C there is clean too.
    with interrupts_change_nothing(project.root, "stopped before updating"):
        source = resolve_source(project)
        if check:
            status = check_for_update(project, source)
        else:
            answers = parse_data_options(set_values or [], option="--set")
            target = resolve_target(source, to)
            refuse_downgrade(project, target)
    if check:
        _emit(as_json, status.as_dict(), lambda: _print_check(status))
        raise typer.Exit(UPDATE_AVAILABLE_EXIT_CODE if status.update_available else 0)
    if dry_run:
        plan = plan_update(project, source, target, answers, lock=lock)
        _emit(as_json, plan.as_dict(), lambda: _print_report(plan))
        return

    result = apply_update(project, source, target, answers, lock=lock)
    _emit(as_json, result.as_dict(), lambda: _print_report(result))
    if not result.clean:
        files = result.conflicts + result.rejects
        raise UpdateConflictsError(
            f"The update to {result.current} left {len(files)} file(s) to resolve by hand:\n"
            + "\n".join(f"  {line}" for line in result.to_resolve),
            files=files,
            hint=" ".join(f"({number}) {step}" for number, step in enumerate(result.next_steps, 1)),
        )


def _emit(as_json: bool, data: dict[str, Any], human: Callable[[], None]) -> None:
    if as_json:
        emit_json(data)
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


def _print_report(report: UpdateReport) -> None:
    current, previous = escape(str(report.current)), escape(str(report.previous))
    if not report.changed:
        out.print(f"Already up to date with template version {current}; nothing changed.")
    elif report.dry_run:
        out.print(f"Update {previous} -> {current} (dry run: nothing changed)")
        _print_list("Files the template changes", report.changed_by_template)
        _print_list("Template files you customised", report.customised)
    else:
        out.print(f"Updated {previous} -> {current}")
    if report.source_recorded:
        out.print(
            f"Template source recorded: {escape(report.source_recorded)} "
            "(_src_path in .copier-answers.yml, part of the changes)."
        )
    if report.changed:
        _print_changes(report)
    _print_warnings(report)
    if report.clean and report.next_steps:
        out.print("[bold]Next steps[/]")
        for number, step in enumerate(report.next_steps, 1):
            out.print(f"  {number}. {escape(step)}", soft_wrap=True, highlight=False)


def _print_changes(report: UpdateReport) -> None:
    legend = "A added, D deleted, M modified" + ("" if report.dry_run else "; uncommitted")
    title = "Files the update would change" if report.dry_run else "Changed files"
    out.print(f"[bold]{escape(title)}[/] ({len(report.changed)}; {legend})")
    for name in report.changed:
        kind = "A" if name in report.added else "D" if name in report.deleted else "M"
        out.print(f"  {kind} {escape(name)}", soft_wrap=True, highlight=False)
    _print_list("Conflicts" + (" it would leave" if report.dry_run else ""), report.conflicts)
    if report.rejects:
        _print_list("Rejected hunks (.rej)", report.rejects)
    if report.relocked:
        verb = "Would re-lock" if report.dry_run else "Re-locked"
        out.print(f"{verb} dependencies (uv.lock) because pyproject.toml changed.")


def _print_warnings(report: UpdateReport) -> None:
    for kept in report.kept:
        instead = f"; the new version has {kept.counterpart}" if kept.counterpart else ""
        err.print(
            f"[yellow]Kept[/] {escape(kept.path)}: you changed it and the new version no longer "
            f"has it{escape(instead)} (a conflict: git add keeps it, git rm drops it).",
            soft_wrap=True,
            highlight=False,
        )
    for warning in report.warnings:
        err.print(f"[yellow]Warning:[/] {escape(warning)}", soft_wrap=True, highlight=False)
    for missed in report.missed:
        if missed.diff:
            err.print(escape(missed.diff.rstrip("\n")), soft_wrap=True, highlight=False)
    for name in report.deferred_signals:
        err.print(f"{name} arrived while the update was being written: it was completed first.")
    if report.uncommitted:
        err.print(
            "[yellow]Uncommitted changes (the prediction is for the last commit); commit or "
            "stash them before updating:[/]"
        )
        for name in report.uncommitted:
            err.print(f"  {escape(name)}", soft_wrap=True, highlight=False)
