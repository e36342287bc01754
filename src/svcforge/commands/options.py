"""``svcforge options``: the template's questions, their choices and constraints."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from svcforge import help_text
from svcforge.console import emit_json, out
from svcforge.options import Catalogue, Question, describe, load_catalogue
from svcforge.template_source import TEMPLATE_ENV, catalogue_root

EPILOG = help_text.epilog(
    "The catalogue comes from the template's copier.yml, the one place options are "
    "declared: a web form or an IDE can build on the --json output.",
    help_text.examples(
        ("svcforge options", "every question, its choices, default and constraints"),
        ("svcforge options --json", "the same as a versioned JSON document"),
    ),
    help_text.environment(TEMPLATE_ENV),
    help_text.exit_codes(0, 4),
)


def options(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the catalogue as JSON on stdout.")
    ] = False,
) -> None:
    """List the template's questions: choices, defaults, help and constraints."""
    catalogue = load_catalogue(catalogue_root())
    if as_json:
        emit_json(catalogue.as_dict())
        return
    _print_catalogue(catalogue)


def _print_question(question: Question) -> None:
    out.print(f"[bold]{escape(question.name)}[/] ({question.type})", highlight=False)
    if question.help:
        out.print(f"  {escape(question.help)}", highlight=False)
    if question.choices:
        for choice in question.choices:
            label = "" if choice.label == str(choice.value) else f"  {escape(choice.label)}"
            out.print(f"  - {escape(str(choice.value))}{label}", highlight=False)
    elif question.type == "bool":
        out.print("  - yes / no", highlight=False)
    default = question.default
    if isinstance(default, str) and "{" in default:
        out.print("  default: derived from earlier answers", highlight=False)
    else:
        out.print(f"  default: {escape(describe([default]))}", highlight=False)
    if question.when is not None:
        out.print(f"  asked only when: {escape(question.when)}", highlight=False)
    if question.validator is not None:
        out.print("  answers are checked by a validator (see copier.yml)", highlight=False)


def _print_catalogue(catalogue: Catalogue) -> None:
    out.print(f"Template: {escape(str(catalogue.root))}", highlight=False)
    for question in catalogue.questions:
        out.print()
        _print_question(question)
