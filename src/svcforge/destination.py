"""The destination of ``svcforge new``: checks up front, then writes that can be undone.

Every change a run makes to the destination goes through a :class:`Journal`: a file or
directory it creates is recorded before it exists, a file it overwrites is first moved
into a backup directory on the same file system (a rename: no copy, no space needed).
:meth:`Journal.rollback` undoes all of it, so an interrupted or failed run leaves the
destination byte for byte as it found it.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import secrets
import shutil
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from svcforge.console import printable
from svcforge.errors import DestinationError, WriteError

_BACKUP_PREFIX = ".svcforge-backup-"


def display_path(path: os.PathLike[str] | str) -> str:
    """Return a path as printable text: undecodable bytes and control characters escaped."""
    return printable(os.fsdecode(path), keep="")


@dataclass(frozen=True)
class DestinationState:
    """What the destination looked like before the run."""

    path: Path
    existed: bool
    #: Names of the entries it held (empty when it did not exist).
    entries: frozenset[str]


def _lstat(path: Path) -> os.stat_result | None:
    """``lstat`` that returns None for a missing path and explains every other failure."""
    try:
        return path.lstat()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise DestinationError(
            f"{display_path(path)} cannot be created: a part of its path is not a directory."
        ) from None
    except OSError as error:
        raise DestinationError(
            f"Cannot inspect {display_path(path)}: {error.strerror or error}."
        ) from None


def _check_name(dest: Path) -> None:
    """Refuse names that later tools (Copier, git, shells, terminals) cannot carry."""
    text = str(dest)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise DestinationError(
            f"The destination path {display_path(dest)} is not valid UTF-8 "
            "(\\x.. marks the bytes that are not).",
            hint="Choose a destination whose full path is UTF-8 text.",
        ) from None
    if any(unicodedata.category(char) == "Cc" for char in text):
        raise DestinationError(
            f"The destination path {display_path(dest)} contains a control character "
            "(newline, tab, escape...).",
            hint="Choose a destination without control characters in its path.",
        )


def _check_writable(directory: Path, *, purpose: str) -> None:
    """Refuse a directory that cannot be written, saying why."""
    with contextlib.suppress(OSError):
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            raise DestinationError(
                f"{purpose}: {display_path(directory)} is on a read-only file system.",
                hint="Choose a destination on a writable file system.",
            )
    if not os.access(directory, os.W_OK | os.X_OK):
        raise DestinationError(
            f"{purpose}: {display_path(directory)} is not writable (permission denied).",
            hint="Choose a destination you can write to, or fix the directory's permissions.",
        )


def check_destination(dest: Path, *, force: bool) -> DestinationState:
    """Refuse unusable destinations before anything is asked or written.

    ``dest`` must be absolute. Raises ``DestinationError`` for: a path that is not
    UTF-8 or holds control characters, a (broken) symbolic link or a non-directory
    in the way, an unwritable or read-only parent, and a non-empty directory
    without ``force``.
    """
    _check_name(dest)
    stat = _lstat(dest)
    if stat is not None and dest.is_symlink() and not dest.exists():
        target = display_path(dest.readlink())
        raise DestinationError(
            f"{display_path(dest)} is a symbolic link to {target}, which does not exist "
            "(or is a loop of links).",
            hint="Remove the link or choose another destination.",
        )
    if stat is None:
        ancestor = dest.parent
        while _lstat(ancestor) is None:
            ancestor = ancestor.parent
        if ancestor.is_symlink() and not ancestor.exists():
            raise DestinationError(
                f"{display_path(dest)} cannot be created: {display_path(ancestor)} is a "
                "broken symbolic link."
            )
        if not ancestor.is_dir():
            raise DestinationError(
                f"{display_path(dest)} cannot be created: {display_path(ancestor)} is not a "
                "directory."
            )
        _check_writable(ancestor, purpose=f"Cannot create {display_path(dest)}")
        return DestinationState(dest, existed=False, entries=frozenset())
    if not dest.is_dir():
        raise DestinationError(f"{display_path(dest)} exists and is not a directory.")
    try:
        entries = frozenset(entry.name for entry in dest.iterdir())
    except OSError as error:
        raise DestinationError(
            f"Cannot read {display_path(dest)}: {error.strerror or error}."
        ) from None
    if entries and not force:
        raise DestinationError(
            f"{display_path(dest)} is not empty.",
            hint="Choose a new or empty directory, or pass --force to generate into it "
            "(the files it would overwrite are listed first; files it does not generate "
            "are left alone and never committed).",
        )
    _check_writable(dest, purpose=f"Cannot generate into {display_path(dest)}")
    return DestinationState(dest, existed=True, entries=entries)


@dataclass(frozen=True)
class InstallPlan:
    """Where the rendered files go, decided before anything is written."""

    #: Directories of the rendered tree, parents first (relative, ``/``-separated).
    directories: list[str]
    #: Files (and symbolic links) of the rendered tree, relative.
    files: list[str]
    #: Existing files that will be replaced (a backup is kept until the run completes).
    overwritten: list[str]
    #: Existing files the template says to keep (Copier's ``_skip_if_exists``).
    kept: list[str]

    @property
    def written(self) -> list[str]:
        """The files this run writes: every rendered file except the kept ones."""
        kept = set(self.kept)
        return [name for name in self.files if name not in kept]


def plan_install(staging: Path, dest: Path, *, keep: Callable[[str], bool]) -> InstallPlan:
    """Compare the rendered tree with ``dest``; refuse what cannot be replaced safely.

    ``keep(relative_path)`` says whether an existing file must be left alone. A
    symbolic link or a directory where a file goes (or the reverse) is refused:
    writing through a link could change files outside the destination.
    """
    directories: list[str] = []
    files: list[str] = []
    for root, dirnames, filenames in os.walk(staging):
        relative_root = Path(root).relative_to(staging)
        dirnames.sort()
        for name in dirnames:
            path = Path(root, name)
            bucket = files if path.is_symlink() else directories
            bucket.append((relative_root / name).as_posix())
        files.extend((relative_root / name).as_posix() for name in sorted(filenames))
    in_the_way: list[str] = []
    for name in directories:
        target = dest / name
        if _lstat(target) is not None and (target.is_symlink() or not target.is_dir()):
            in_the_way.append(f"{name} (exists and is not a directory)")
    overwritten: list[str] = []
    kept: list[str] = []
    for name in sorted(files):
        target = dest / name
        if _lstat(target) is None:
            continue
        if target.is_symlink():
            in_the_way.append(f"{name} (a symbolic link: svcforge does not write through links)")
        elif target.is_dir():
            in_the_way.append(f"{name} (a directory where the template writes a file)")
        elif keep(name):
            kept.append(name)
        else:
            overwritten.append(name)
    if in_the_way:
        raise DestinationError(
            f"Cannot generate into {display_path(dest)}: these paths are in the way:\n"
            + "\n".join(f"  {display_path(item)}" for item in in_the_way),
            hint="Move them away, or choose another destination.",
        )
    return InstallPlan(directories, sorted(files), overwritten, kept)


@dataclass
class RollbackReport:
    """What undoing a run achieved."""

    #: Overwritten files put back from their backup.
    restored: list[str] = field(default_factory=list)
    #: Files this run created and removed again.
    removed: int = 0
    #: Paths that could not be put back or removed, with the reason.
    failures: list[str] = field(default_factory=list)
    #: Where the backups of the files that could not be restored remain.
    backup_dir: Path | None = None
    #: Whether the run had changed anything at all.
    touched: bool = False

    @property
    def complete(self) -> bool:
        """Whether the destination is exactly as it was before the run."""
        return not self.failures


class Journal:
    """Every change a run makes to ``dest``, so it can be undone."""

    def __init__(self, state: DestinationState) -> None:
        self.dest = state.path
        self._state = state
        self._created: list[Path] = []
        self._backups: list[tuple[Path, Path]] = []
        self._backup_dir: Path | None = None
        self._undo: list[tuple[str, Callable[[], None]]] = []
        #: What the last :meth:`rollback` did, for the error that follows it.
        self.last_rollback: RollbackReport | None = None

    @property
    def touched(self) -> bool:
        """Whether the run has changed anything yet."""
        return bool(self._created or self._backups or self._undo)

    def created(self, path: Path) -> None:
        """Record that ``path`` is about to be created (call before creating it)."""
        self._created.append(path)

    def on_rollback(self, description: str, action: Callable[[], None]) -> None:
        """Run ``action`` first when rolling back (e.g. undo a commit)."""
        self._undo.append((description, action))

    def _backup(self, target: Path) -> None:
        # Each step is recorded before it is taken: a signal can strike between any two
        # statements, and rollback copes with a step that was recorded but not taken.
        if self._backup_dir is None:
            name = f"{_BACKUP_PREFIX}{secrets.token_hex(8)}"
            while _lstat(self.dest / name) is not None:  # never adopt a folder of the user's
                name = f"{_BACKUP_PREFIX}{secrets.token_hex(8)}"
            self._backup_dir = self.dest / name
            self._backup_dir.mkdir(mode=0o700)
        backup = self._backup_dir / target.relative_to(self.dest)
        backup.parent.mkdir(parents=True, exist_ok=True)
        self._backups.append((target, backup))
        target.replace(backup)

    def replace_file(self, target: Path, write: Callable[[Path], None]) -> None:
        """Write ``target`` with ``write(target)``, backing up what was there."""
        if _lstat(target) is not None:
            self._backup(target)
        self.created(target)
        write(target)

    def make_directory(self, target: Path) -> None:
        """Create ``target`` unless it exists."""
        if _lstat(target) is None:
            self.created(target)
            target.mkdir()

    def install(self, staging: Path, plan: InstallPlan) -> None:
        """Copy the rendered tree into the destination (rolls back on any error)."""
        if not self._state.existed:
            missing = [self.dest]
            while _lstat(missing[-1].parent) is None:
                missing.append(missing[-1].parent)
            for directory in reversed(missing):
                self.make_directory(directory)
        for name in plan.directories:
            self.make_directory(self.dest / name)
        for name in plan.written:
            self.replace_file(self.dest / name, functools.partial(_copy, staging / name))

    def commit(self) -> None:
        """Keep the run's changes: drop the backups and forget the journal."""
        if self._backup_dir is not None:
            shutil.rmtree(self._backup_dir, ignore_errors=True)
            self._backup_dir = None
        self._created.clear()
        self._backups.clear()
        self._undo.clear()

    def rollback(self) -> RollbackReport:
        """Undo the run: undo actions, then remove what it created, then restore backups."""
        report = RollbackReport(touched=self.touched)
        for description, action in reversed(self._undo):
            try:
                action()
            except Exception as error:  # noqa: BLE001 - report and keep undoing
                report.failures.append(f"{description}: {error}")
        self._undo.clear()
        for path in reversed(self._created):
            try:
                _remove(path)
            except OSError as error:
                report.failures.append(f"{self._relative(path)} ({error.strerror or error})")
            else:
                report.removed += 1
        for target, backup in reversed(self._backups):
            if _lstat(backup) is None:
                continue  # recorded, but the run stopped before moving the file away
            try:
                backup.replace(target)
            except OSError as error:
                report.failures.append(
                    f"{self._relative(target)} not restored ({error.strerror or error})"
                )
            else:
                report.restored.append(self._relative(target))
        report.restored.reverse()
        if self._backup_dir is not None:
            if report.complete:
                shutil.rmtree(self._backup_dir, ignore_errors=True)
            else:
                report.backup_dir = self._backup_dir
        self._created.clear()
        self._backups.clear()
        self.last_rollback = report
        return report

    def _relative(self, path: Path) -> str:
        try:
            return display_path(path.relative_to(self.dest))
        except ValueError:
            return display_path(path)


def _copy(source: Path, target: Path) -> None:
    if source.is_symlink():
        target.symlink_to(source.readlink())
    else:
        shutil.copy2(source, target)


def _remove(path: Path) -> None:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        pass


def describe_os_error(error: OSError) -> WriteError:
    """Turn a failed write (disk full, read-only, permission...) into a clear error."""
    where = error.filename if error.filename is not None else "a file"
    reason = error.strerror or str(error)
    hint = None
    if error.errno in {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}:
        hint = "Free some space (or raise the quota), then run the command again."
    elif error.errno in {errno.EACCES, errno.EPERM, errno.EROFS}:
        hint = "Choose a destination you can write to."
    return WriteError(f"Cannot write {display_path(where)}: {reason}.", hint=hint)
