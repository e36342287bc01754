"""Building blocks of ``--help``: examples, environment variables, exit codes.

Click re-wraps help paragraphs; a paragraph that starts with a backspace character
is printed as written, which keeps the tables aligned (so they are wrapped here).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from svcforge.errors import EXIT_CODES
from svcforge.template_source import TEMPLATE_ENV, TEMPLATE_REF_ENV

#: Every environment variable svcforge reads or sets for the tools it runs
#: (a test checks that the code reads no other).
ENVIRONMENT: dict[str, str] = {
    TEMPLATE_ENV: "template to render / update from: a path or git URL of a clone of "
    "svcforge (default: the checkout svcforge runs from, else the copy in the wheel)",
    TEMPLATE_REF_ENV: "git ref (tag, branch, commit) of $SVCFORGE_TEMPLATE that `new` renders",
    "UV_PYTHON_DOWNLOADS": "passed on to `uv lock`; svcforge sets `never` when unset, so no "
    "interpreter is downloaded behind your back",
    "NO_COLOR": "set to any value for output without colours",
    "GIT_*": "git's own variables (GIT_AUTHOR_NAME, GIT_CONFIG_COUNT...) apply to every "
    "git command svcforge runs, e.g. the identity of its commits",
}


#: Help lines stay within this width (click indents the epilog by two more).
_WIDTH = 78


def _block(title: str, rows: Iterable[tuple[str, str]]) -> str:
    rows = list(rows)
    width = max(len(key) for key, _ in rows)
    indent = " " * (width + 4)
    lines = []
    for key, text in rows:
        wrapped = textwrap.wrap(text, _WIDTH - len(indent)) or [""]
        lines.append(f"  {key.ljust(width)}  {wrapped[0]}")
        lines += [indent + line for line in wrapped[1:]]
    return "\b\n" + f"{title}:\n" + "\n".join(lines)


def examples(*rows: tuple[str, str]) -> str:
    """Return an ``Examples:`` paragraph: ``(command, what it does)`` rows."""
    lines = [f"  {command}\n      {text}" for command, text in rows]
    return "\b\nExamples:\n" + "\n".join(lines)


def environment(*names: str) -> str:
    """Return the ``Environment variables:`` paragraph for ``names`` (default: all)."""
    chosen = names or tuple(ENVIRONMENT)
    return _block("Environment variables", ((name, ENVIRONMENT[name]) for name in chosen))


def exit_codes(*codes: int) -> str:
    """Return the ``Exit codes:`` paragraph for ``codes`` (default: all)."""
    chosen = codes or tuple(EXIT_CODES)
    return _block("Exit codes", ((str(code), EXIT_CODES[code]) for code in chosen))


def epilog(*paragraphs: str) -> str:
    """Join help paragraphs."""
    return "\n\n".join(paragraphs)
