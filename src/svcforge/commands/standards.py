"""``svcforge standards``: the catalogue a service promises, and how ``check`` judges it."""

from __future__ import annotations

import textwrap
from typing import Annotated, Any

import typer
from rich.markup import escape

from svcforge import help_text
from svcforge.check.engine import how_checked
from svcforge.console import emit_json, out
from svcforge.standards import LEVELS, area_titles, catalogue_version, load_standards

EPILOG = help_text.epilog(
    "Each standard has a level (bronze, silver, gold; each includes the ones before it); "
    "`svcforge check --level` checks up to one.",
    help_text.examples(
        ("svcforge standards", "every standard: level, what it asks, why, how it is checked"),
        ("svcforge standards --json", "the same as a versioned JSON document"),
    ),
    help_text.environment("NO_COLOR"),
    help_text.exit_codes(0, 1),
)


def catalogue_dict() -> dict[str, Any]:
    """Return the catalogue as ``svcforge standards --json`` prints it (versioned)."""
    return {
        "version": catalogue_version(),
        "levels": list(LEVELS),
        "areas": [{"id": area, "title": title} for area, title in area_titles().items()],
        "standards": [
            {
                "id": standard.id,
                "area": standard.area,
                "level": standard.level,
                "title": standard.title,
                "text": standard.text,
                "rationale": standard.rationale,
                "how_checked": how_checked(standard.id),
            }
            for standard in load_standards().values()
        ],
    }


def standards(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the catalogue as JSON on stdout.")
    ] = False,
) -> None:
    """List the standards: id, title, level, what each asks, why, and how it is checked."""
    catalogue = catalogue_dict()
    if as_json:
        emit_json(catalogue)
        return
    titles = area_titles()
    area = None
    for standard in catalogue["standards"]:
        if standard["area"] != area:
            area = standard["area"]
            out.print()
            out.print(f"[bold]{escape(titles[area].capitalize())}[/] ({area})", highlight=False)
        out.print(
            f"  [bold]{standard['id']}[/] {escape(standard['title'])} ({standard['level']})",
            highlight=False,
            soft_wrap=True,
        )
        _paragraph("", standard["text"])
        if standard["rationale"]:
            _paragraph("Why: ", standard["rationale"])
        _paragraph("Checked: ", standard["how_checked"])


def _paragraph(label: str, text: str) -> None:
    # Wrapped here, not by Rich, so wrapped lines keep the indent and carry no padding.
    indent = " " * 4
    width = max(out.width - 1, 40)
    for line in textwrap.wrap(label + text, width, initial_indent=indent, subsequent_indent=indent):
        out.print(escape(line), highlight=False, soft_wrap=True)
