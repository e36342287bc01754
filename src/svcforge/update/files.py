"""Snapshots of a working tree (file bytes, executable bit, symlinks) and atomic writes."""

from __future__ import annotations

import os
import secrets
import stat
from dataclasses import dataclass
from pathlib import Path

_EXECUTABLE = stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH


@dataclass(frozen=True)
class FileState:
    """What git sees of one path: its bytes (or link target) and executable bit."""

    data: bytes
    executable: bool = False
    symlink: bool = False


#: One working tree: relative POSIX path -> state.
Snapshot = dict[str, FileState]


def read_state(path: Path) -> FileState | None:
    """Return the state of ``path``, or None when nothing (or a directory) is there."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return FileState(os.fsencode(str(path.readlink())), symlink=True)
    if not stat.S_ISREG(info.st_mode):
        return None
    return FileState(path.read_bytes(), executable=bool(info.st_mode & stat.S_IXUSR))


def snapshot(root: Path, *, skip: frozenset[str] = frozenset({".git"})) -> Snapshot:
    """Every file and symlink under ``root`` by relative path, top-level ``skip`` excluded."""
    found: Snapshot = {}
    for folder, dirnames, filenames in os.walk(root):
        here = Path(folder)
        relative = here.relative_to(root).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        if not prefix:
            dirnames[:] = [name for name in dirnames if name not in skip]
        # os.walk lists symlinks to folders as folders; git stores them as links.
        for name in [name for name in dirnames if (here / name).is_symlink()]:
            dirnames.remove(name)
            filenames.append(name)
        for name in filenames:
            state = read_state(here / name)
            if state is not None:
                found[prefix + name] = state
    return found


def _mode_for(path: Path, state: FileState) -> int:
    """Keep the existing permission bits; set or clear the executable bits as ``state`` says."""
    try:
        mode = stat.S_IMODE(path.lstat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    if state.executable:
        # Executable for whoever may read it, as git does on checkout.
        return mode | ((mode & 0o444) >> 2)
    return mode & ~_EXECUTABLE


def write_state(path: Path, state: FileState) -> None:
    """Make ``path`` hold ``state``: written beside it, then renamed over it in one step."""
    temporary = path.with_name(f".{path.name}.svcforge-{secrets.token_hex(4)}")
    try:
        if state.symlink:
            temporary.symlink_to(os.fsdecode(state.data))
        else:
            temporary.write_bytes(state.data)
            temporary.chmod(_mode_for(path, state))
        temporary.replace(path)
    finally:
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
