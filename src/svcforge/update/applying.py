"""Write a finished `Merge` into the project: all of it, or nothing.

The step is short (only the files the update changes, then one rename of the index) and
guarded three ways:

- git's own lock (``.git/index.lock``, created exclusively) keeps other git commands out,
  and the new index is written into it and renamed over the old one as the last action,
  exactly as git does; until then the project's index is untouched;
- every file is first checked against the state the update was computed from, then
  written beside its destination and renamed over it, and a journal records the originals
  so that any failure restores them, removes created files and folders and drops the lock;
- the caller holds SIGINT, SIGTERM and SIGHUP back during the step (`InterruptGuard.shielded`),
  and git runs in its own session, so a Ctrl-C in the terminal cannot kill it halfway.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from svcforge.errors import DirtyTreeError, SvcforgeError
from svcforge.update.files import FileState, read_state, write_state
from svcforge.update.gitio import git_bytes, nul_separated, removal_line, write_blob
from svcforge.update.merging import Merge


class _IndexLock:
    """``.git/index.lock``: taken exclusively, then renamed over the index or removed."""

    def __init__(self, index: Path) -> None:
        self.index = index
        self.path = index.with_name(f"{index.name}.lock")
        self.held = False

    def acquire(self, root: Path) -> None:
        try:
            descriptor = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise DirtyTreeError(
                f"Another git command is using {root} ({self.path} exists); nothing was changed.",
                hint=f"Wait for it to finish. If no git command is running, delete {self.path}.",
            ) from None
        os.close(descriptor)
        self.held = True

    def write(self, content: bytes) -> None:
        self.path.write_bytes(content)

    def commit(self) -> None:
        self.path.replace(self.index)
        self.held = False

    def release(self) -> None:
        if self.held:
            self.path.unlink(missing_ok=True)
            self.held = False


@dataclass
class _Journal:
    """What the step changed so far, in order, so that it can be undone."""

    #: (path, state before, permission bits before)
    originals: list[tuple[str, FileState | None, int | None]] = field(default_factory=list)
    created_folders: list[Path] = field(default_factory=list)
    removed_folders: list[Path] = field(default_factory=list)

    def remember(self, root: Path, path: str) -> None:
        target = root / path
        state = read_state(target)
        mode = stat.S_IMODE(target.lstat().st_mode) if state and not state.symlink else None
        self.originals.append((path, state, mode))

    def undo(self, root: Path) -> list[str]:
        """Put everything back; return the paths that could not be restored."""
        failed: list[str] = []
        for folder in reversed(self.removed_folders):
            with contextlib.suppress(OSError):
                folder.mkdir(exist_ok=True)
        for path, state, mode in reversed(self.originals):
            target = root / path
            try:
                if state is None:
                    if target.is_symlink() or target.exists():
                        target.unlink()
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                write_state(target, state)
                if mode is not None:
                    target.chmod(mode)
            except OSError:
                failed.append(path)
        for folder in reversed(self.created_folders):
            with contextlib.suppress(OSError):
                folder.rmdir()
        return failed


def _index_path(root: Path) -> Path:
    relative = git_bytes(root, "rev-parse", "--git-path", "index").decode().strip()
    return root / relative


def _copy_objects(root: Path, merge: Merge) -> None:
    """Store the blobs of the new index entries (conflict stages) in the project's repo.

    Done before the critical step; unreferenced objects are harmless and git prunes them.
    """
    wanted = sorted({entry.sha for entries in merge.index_updates.values() for entry in entries})
    if not wanted:
        return
    listing = git_bytes(root, "cat-file", "--batch-check", stdin="\n".join(wanted).encode() + b"\n")
    for line in listing.decode().splitlines():
        sha, _, status = line.partition(" ")
        if status == "missing":
            write_blob(root, git_bytes(merge.sandbox, "cat-file", "blob", sha))


def _verify_unchanged(root: Path, merge: Merge) -> None:
    """Refuse when the project moved on while the update was computed."""
    head = git_bytes(root, "rev-parse", "--verify", "HEAD^{commit}", isolated=True)
    status = git_bytes(
        root,
        "--no-optional-locks",
        "status",
        "--porcelain",
        "-z",
        "--untracked-files=all",
        isolated=True,
    )
    moved = [
        path for path in sorted(merge.changes) if read_state(root / path) != merge.before.get(path)
    ]
    if head.decode().strip() != merge.head or status or moved:
        listing = "".join(f"\n  {path}" for path in moved or nul_separated(status)[:20])
        raise DirtyTreeError(
            f"{root} changed while the update was being prepared; nothing was applied.{listing}",
            hint="Commit or stash those changes, then run the update again.",
        )


def _new_index(root: Path, index: Path, merge: Merge) -> bytes:
    """Build the project's index with the update's entries (conflict stages) put in."""
    scratch = merge.sandbox.parent.parent / "index"
    env = {"GIT_INDEX_FILE": str(scratch)}
    if index.is_file():
        shutil.copyfile(index, scratch)
    else:
        git_bytes(root, "read-tree", "HEAD", env=env, isolated=True)
    lines = []
    for path, entries in sorted(merge.index_updates.items()):
        lines.append(removal_line(path))
        lines += [entry.info_line() for entry in sorted(entries)]
    if lines:
        stdin = b"\0".join(lines) + b"\0"
        git_bytes(root, "update-index", "-z", "--index-info", stdin=stdin, env=env, isolated=True)
    return scratch.read_bytes()


def _remove_emptied_folders(root: Path, path: str, merge: Merge, journal: _Journal) -> None:
    """Remove the folders a deletion emptied, when the updated tree has no such folder."""
    for parent in Path(path).parents:
        if parent == Path():
            return
        folder = root / parent
        if (merge.sandbox / parent).exists():
            return
        try:
            folder.rmdir()
        except OSError:
            return
        journal.removed_folders.append(folder)


def _write_files(root: Path, merge: Merge, journal: _Journal) -> None:
    deletions = sorted(path for path, state in merge.changes.items() if state is None)
    for path in deletions:
        journal.remember(root, path)
        (root / path).unlink(missing_ok=True)
        _remove_emptied_folders(root, path, merge, journal)
    for path, state in sorted(merge.changes.items()):
        if state is None:
            continue
        target = root / path
        missing = [parent for parent in target.parents if not parent.exists()]
        for folder in reversed(missing):
            folder.mkdir()
            journal.created_folders.append(folder)
        journal.remember(root, path)
        write_state(target, state)


def apply_merge(root: Path, merge: Merge) -> None:
    """Write ``merge`` into the project at ``root`` completely, or restore it and raise.

    Run it with signals held back (`svcforge.interrupts.InterruptGuard.shielded`): an
    interrupt must wait until the project is complete or restored.
    """
    _copy_objects(root, merge)
    lock = _IndexLock(_index_path(root))
    journal = _Journal()
    try:
        lock.acquire(root)
        _verify_unchanged(root, merge)
        lock.write(_new_index(root, lock.index, merge))
        _write_files(root, merge, journal)
        lock.commit()
    except BaseException as error:
        failed = journal.undo(root)
        lock.release()
        if failed:
            raise SvcforgeError(
                f"Writing the update into {root} failed ({error}) and these files could "
                "not be restored:\n" + "\n".join(f"  {path}" for path in failed),
                hint="They are unchanged in git: git checkout HEAD -- <file> restores each.",
            ) from error
        if isinstance(error, OSError):
            raise SvcforgeError(
                f"Writing the update into {root} failed: {error}. Every file was "
                "restored; nothing was changed.",
            ) from error
        raise
