"""The report for people: grouped by area, one line per standard, the fixes under failures."""

from __future__ import annotations

import io

from rich.console import Console
from rich.markup import escape

from svcforge.check.formats import (
    Report,
    drift_sentence,
    evidence_location,
    summary_sentence,
)
from svcforge.check.model import Status, Verdict
from svcforge.console import printable
from svcforge.standards import area_titles, load_standards

#: Lines of a command's output shown under a verdict (the JSON report has all of it).
OUTPUT_LINES = 10

#: Width of a report written to a file (a terminal uses its own width).
FILE_WIDTH = 100

# Marks differ in shape, not only in colour, so they read without colour (NO_COLOR, files).
_MARKS = {
    Status.PASS: ("green", "✓ pass"),
    Status.FAIL: ("bold red", "✗ FAIL"),
    Status.NOT_APPLICABLE: ("dim", "- n/a"),
    Status.UNKNOWN: ("yellow", "? unknown"),
}
_BASELINED = ("yellow", "✗ baselined")
_MARK_WIDTH = max(len(label) for _, label in [*_MARKS.values(), _BASELINED])


def render(report: Report) -> str:
    """Return the text report as a string without colours (for ``--output FILE``)."""
    stream = io.StringIO()
    console = Console(
        file=stream,
        width=FILE_WIDTH,
        color_system=None,
        force_terminal=False,
        soft_wrap=True,
        highlight=False,
        emoji=False,
    )
    print_report(report, console)
    return stream.getvalue()


def print_report(report: Report, console: Console) -> None:
    """Print the report on ``console``: areas, problems, drift and the summary line."""
    result = report.result
    mode = "static checks and --run" if result.ran else "static checks only"
    where = _safe(str(result.root))
    _line(console, f"[bold]svcforge check[/] {where} (up to {result.level}, {mode})")
    if report.baseline:
        _line(console, f"Baseline: {_safe(report.baseline)}")
    catalogue = load_standards()
    by_area: dict[str, list[Verdict]] = {}
    for verdict in result.verdicts:
        by_area.setdefault(catalogue[verdict.standard_id].area, []).append(verdict)
    for area, title in area_titles().items():
        if area not in by_area:
            continue
        console.print()
        _line(console, f"[bold]{_safe(title.capitalize())}[/] ({area})")
        for verdict in by_area[area]:
            _print_verdict(console, verdict, catalogue[verdict.standard_id].title)
    if result.problems:
        console.print()
        _line(console, "[bold]Files that could not be read[/] (standards they affect are unknown)")
        for path, why in sorted(result.problems.items()):
            _line(console, f"  {_safe(path)}: {_safe(why)}")
    if report.drift is not None:
        console.print()
        _line(console, "[bold]Drift from the template[/]")
        _line(console, f"  {_safe(drift_sentence(report.drift))}")
        for item in report.drift.files:
            _line(console, f"  {item.state:<10}  {_safe(item.path)}")
    console.print()
    _line(console, f"[bold]{_safe(summary_sentence(result))}[/]")


def _print_verdict(console: Console, verdict: Verdict, title: str) -> None:
    style, label = (
        _BASELINED
        if verdict.status is Status.FAIL and verdict.baselined
        else _MARKS[verdict.status]
    )
    _line(
        console,
        f"  [{style}]{label:<{_MARK_WIDTH}}[/]  [bold]{verdict.standard_id}[/] "
        f"{_safe(title)}: {_safe(verdict.summary)}",
    )
    if verdict.status not in {Status.FAIL, Status.UNKNOWN}:
        return
    for evidence in verdict.evidence:
        where = evidence_location(evidence)
        prefix = f"{where}  " if where else ""
        _line(console, f"      {_safe(prefix)}{_safe(evidence.note)}")
        if evidence.output:
            lines = evidence.output.rstrip().splitlines()
            for text in lines[:OUTPUT_LINES]:
                _line(console, f"        | {_safe(text)}")
            if len(lines) > OUTPUT_LINES:
                _line(console, f"        | ... {len(lines) - OUTPUT_LINES} more line(s)")
    if verdict.remediation:
        _line(console, f"      [cyan]Fix:[/] {_safe(verdict.remediation)}")


def _line(console: Console, markup: str) -> None:
    # A terminal wraps to its width; a pipe or a CI log keeps each line whole for grep.
    console.print(markup, highlight=False, emoji=False, soft_wrap=not console.is_terminal)


def _safe(text: str) -> str:
    """Text from the repository, printable and never read as Rich markup."""
    return escape(printable(text, keep=""))
