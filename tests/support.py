"""Helpers shared by the CLI tests: running svcforge, and exact snapshots of a tree."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from typer.testing import CliRunner, Result

from svcforge.cli import app

PROCESS_TIMEOUT_SECONDS = 300


def svcforge(*args: str) -> Result:
    """Run the CLI in this process (Typer's runner)."""
    return CliRunner().invoke(app, list(args))


def run_svcforge(
    args: Sequence[str | bytes],
    cwd: Path,
    env: Mapping[str, str] | None = None,
    *,
    python: Path | str = sys.executable,
    preexec_fn: Callable[[], object] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a real `svcforge` process (argv may hold bytes that are not UTF-8)."""
    return subprocess.run(
        [str(python), "-m", "svcforge", *args],
        cwd=cwd,
        env=None if env is None else dict(env),
        capture_output=True,
        text=True,
        errors="backslashreplace",
        timeout=PROCESS_TIMEOUT_SECONDS,
        check=False,
        preexec_fn=preexec_fn,
    )


def snapshot(root: Path) -> dict[str, tuple[str, bytes | None, int]]:
    """Every path below root (root included): kind, bytes or link target, mode."""
    if not os.path.lexists(root):
        return {}
    found = {}
    for path in [root, *sorted(root.rglob("*"))]:
        info = path.lstat()
        name = str(path.relative_to(root))
        if stat.S_ISLNK(info.st_mode):
            found[name] = ("link", os.fsencode(path.readlink()), 0)
        elif stat.S_ISDIR(info.st_mode):
            found[name] = ("dir", None, stat.S_IMODE(info.st_mode))
        else:
            found[name] = ("file", path.read_bytes(), stat.S_IMODE(info.st_mode))
    return found
