"""Binary git plumbing for updates: blobs, NUL-separated listings and index entries.

`svcforge.project.git` returns text, which is right for messages but not for file
contents or for paths git would quote; these helpers keep bytes and real names.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from svcforge.errors import ToolError
from svcforge.project import GIT_TIMEOUT_SECONDS

#: No hooks and no prompts: updates run git only on their own copies and the index.
_QUIET_GIT = ("-c", f"core.hooksPath={os.devnull}", "-c", "core.quotePath=false")


def git_bytes(
    root: Path,
    *args: str,
    stdin: bytes | None = None,
    env: Mapping[str, str] | None = None,
    isolated: bool = False,
) -> bytes:
    """Run git in ``root`` and return its raw stdout; raise `ToolError` when it fails.

    ``isolated`` starts git in its own session, so that a Ctrl-C typed in the terminal
    (sent to the whole foreground process group) cannot kill it halfway through a step
    that svcforge itself finishes before acting on the interrupt.
    """
    command = ["git", *_QUIET_GIT, *args]
    try:
        proc = subprocess.run(
            command,
            cwd=root,
            input=stdin,
            capture_output=True,
            env=None if env is None else {**os.environ, **env},
            timeout=GIT_TIMEOUT_SECONDS,
            start_new_session=isolated,
            check=False,
        )
    except FileNotFoundError as error:
        if error.filename is not None and Path(error.filename) == root:
            raise ToolError(f"`git {' '.join(args)}`: the folder {root} does not exist.") from None
        raise ToolError("git is not installed.") from None
    except (OSError, subprocess.TimeoutExpired) as error:
        raise ToolError(f"`git {' '.join(args)}` failed in {root}: {error}") from None
    if proc.returncode != 0:
        output = (proc.stderr or proc.stdout).decode(errors="replace").strip()
        raise ToolError(f"`git {' '.join(args)}` failed in {root}:\n{output}")
    return proc.stdout


def nul_separated(output: bytes) -> list[str]:
    """Split ``-z`` output into names (undecodable bytes kept as surrogates, like os)."""
    return [os.fsdecode(item) for item in output.split(b"\0") if item]


@dataclass(frozen=True, order=True)
class IndexEntry:
    """One line of ``git ls-files --stage``: a path at a merge stage."""

    path: str
    stage: int
    mode: str
    sha: str

    def info_line(self) -> bytes:
        """Return the line ``git update-index --index-info`` reads to store this entry."""
        return f"{self.mode} {self.sha} {self.stage}\t".encode() + os.fsencode(self.path)


def index_entries(root: Path) -> dict[str, frozenset[IndexEntry]]:
    """Every index entry of the repository at ``root``, grouped by path."""
    grouped: dict[str, set[IndexEntry]] = {}
    for line in git_bytes(root, "ls-files", "--stage", "-z").split(b"\0"):
        if not line:
            continue
        meta, _, raw_path = line.partition(b"\t")
        mode, sha, stage = meta.decode().split()
        path = os.fsdecode(raw_path)
        grouped.setdefault(path, set()).add(IndexEntry(path, int(stage), mode, sha))
    return {path: frozenset(entries) for path, entries in grouped.items()}


def removal_line(path: str) -> bytes:
    """Return the ``--index-info`` line that drops every entry of ``path``."""
    return b"0 " + b"0" * 40 + b"\t" + os.fsencode(path)


def write_blob(root: Path, data: bytes) -> str:
    """Store ``data`` in the object database at ``root``; return its id."""
    return git_bytes(root, "hash-object", "-w", "--stdin", stdin=data).decode().strip()


def unmerged_paths(entries: dict[str, frozenset[IndexEntry]]) -> list[str]:
    """Paths with conflict stages (1-3) in the index: what `git status` calls unmerged."""
    return sorted(path for path, found in entries.items() if any(e.stage for e in found))


def uncommitted_paths(root: Path) -> list[str]:
    """Paths with staged, unstaged or untracked changes (not ignored), by their real names."""
    # --no-optional-locks: a read-only look must not rewrite the project's index.
    listing = git_bytes(
        root, "--no-optional-locks", "status", "--porcelain", "-z", "--untracked-files=all"
    )
    tokens = iter(nul_separated(listing))
    found: set[str] = set()
    for token in tokens:
        code, path = token[:2], token[3:]
        found.add(path)
        if code[0] in "RC":
            # A rename or copy is followed by its source path.
            found.add(next(tokens, ""))
    return sorted(found - {""})
