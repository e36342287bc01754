"""Shared Rich consoles: results on stdout, errors and warnings on stderr."""

from __future__ import annotations

from rich.console import Console

out = Console()
# soft_wrap: never hard-break messages; terminals wrap, and log/grep keep whole lines.
err = Console(stderr=True, soft_wrap=True)
