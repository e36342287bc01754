"""Shared output: Rich consoles for people, one JSON document on stdout for machines."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from typing import Any

import typer
from rich.console import Console

out = Console()
# soft_wrap: never hard-break messages; terminals wrap, and log/grep keep whole lines.
err = Console(stderr=True, soft_wrap=True)

_json_state = {"written": False}


def printable(text: str, *, keep: str = "\n\t") -> str:
    """Return ``text`` safe to print: control characters and undecodable bytes escaped.

    The characters in ``keep`` stay (messages span lines); non-ASCII letters print as
    themselves.
    """
    text = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return "".join(
        char.encode("unicode_escape").decode("ascii")
        if unicodedata.category(char) == "Cc" and char not in keep
        else char
        for char in text
    )


def emit_json(data: Mapping[str, Any]) -> None:
    """Print the command's one JSON document on stdout (names unescaped: UTF-8)."""
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))
    _json_state["written"] = True


def json_written() -> bool:
    """Whether this invocation already printed its JSON document."""
    return _json_state["written"]


def reset_json() -> None:
    """Start a new invocation (the CLI runs several in one process under test)."""
    _json_state["written"] = False
