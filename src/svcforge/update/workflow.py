"""``svcforge update`` from start to end: check, compute in a sandbox, apply in one step.

Nothing touches the project until the whole update (renders, Copier's 3-way merge, the
fix-ups, ``uv lock``) has finished in a temporary clone. An interrupt or error before
that leaves the project exactly as it was; the apply step itself is all-or-nothing
(`svcforge.update.applying`) and runs with signals held back. The dry run computes the
very same merge and discards it.
"""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svcforge.errors import AbortedError, DirtyTreeError, SvcforgeError, aborted_by
from svcforge.interrupts import InterruptGuard, RunInterrupted
from svcforge.project import GeneratedProject, require_git_repository
from svcforge.update.applying import apply_merge
from svcforge.update.gitio import uncommitted_paths
from svcforge.update.merging import Merge, merge_in_sandbox, render_both
from svcforge.update.reporting import UpdateReport, report_merge
from svcforge.update.source import Target, UpdateSource, require_template_version
from svcforge.versions import parse_ref


def require_clean_tree(project: GeneratedProject) -> None:
    """Raise, listing the files, when the project has uncommitted changes."""
    require_git_repository(project.root)
    dirty = uncommitted_paths(project.root)
    if dirty:
        listing = "\n".join(f"  {path}" for path in dirty)
        raise DirtyTreeError(
            f"{project.root} has uncommitted changes; an update would mix them with its own:\n"
            f"{listing}",
            hint="Commit them, new files included (git add -A && git commit -m ...), or stash "
            "them (git stash -u), then retry.",
        )


@dataclass
class Phase:
    """The signal guard of a command, and whether it has started writing the project."""

    guard: InterruptGuard
    #: Set just before the apply step: from then on no interrupt may say "nothing changed".
    applying: bool = False


@contextmanager
def interrupts_change_nothing(root: Path, what: str) -> Iterator[Phase]:
    """Turn SIGINT, SIGTERM and SIGHUP into an error that says ``root`` is unchanged.

    The apply step runs inside ``phase.guard.shielded()`` with ``phase.applying`` set; a
    signal that still slips in after it (while the command returns) says so instead.
    """
    with InterruptGuard() as guard:
        phase = Phase(guard)
        try:
            yield phase
        except (RunInterrupted, KeyboardInterrupt) as interrupt:
            signum = interrupt.signum if isinstance(interrupt, RunInterrupted) else signal.SIGINT
            name = signal.Signals(signum).name
            if phase.applying:
                raise aborted_by(
                    signum,
                    f"Interrupted by {name} after the update was written into {root}: it is "
                    "complete; `git status` and `git diff` show it.",
                ) from None
            raise aborted_by(
                signum, f"Interrupted by {name}: {what}; nothing in {root} was changed."
            ) from None
        except SvcforgeError as error:
            if guard.received is None or phase.applying or isinstance(error, AbortedError):
                raise
            # A Ctrl-C reaches git and Copier too: their failure is the interrupt's doing.
            raise aborted_by(
                guard.received,
                f"Interrupted by {signal.Signals(guard.received).name}: {what}; nothing in "
                f"{root} was changed.",
                hint=f"While stopping: {error.message}",
            ) from None


@contextmanager
def _says_nothing_changed(root: Path) -> Iterator[None]:
    """Add to an error raised before the apply step that the project is unchanged."""
    try:
        yield
    except SvcforgeError as error:
        error.message = f"{error.message}\nNothing in {root} was changed."
        raise


#: The prefix of the sandbox's temporary folder.
WORKDIR_PREFIX = "svcforge-update-"


def _up_to_date(project: GeneratedProject, target: Target, set_values: Mapping[str, Any]) -> bool:
    current = parse_ref(project.commit)
    return not set_values and current is not None and target.version == current


def _recorded(source: UpdateSource) -> str | None:
    """Return the template source the update records in the project, if it changes."""
    return source.location if source.overridden else None


def _merge(
    project: GeneratedProject,
    source: UpdateSource,
    target: Target,
    set_values: Mapping[str, Any],
    workdir: Path,
    *,
    lock: bool,
    dry_run: bool,
) -> Merge | None:
    """Render both versions and merge them in a sandbox; None when nothing is to update."""
    with _says_nothing_changed(project.root):
        versions = render_both(project, source, target, set_values, workdir)
        if versions.up_to_date and not set_values:
            return None
        return merge_in_sandbox(
            project,
            source,
            target,
            set_values,
            versions,
            workdir,
            lock=lock,
            dry_run=dry_run,
        )


def plan_update(
    project: GeneratedProject,
    source: UpdateSource,
    target: Target,
    set_values: Mapping[str, Any],
    *,
    lock: bool = True,
) -> UpdateReport:
    """Predict an update exactly: run it on a throw-away clone and report; change nothing.

    The prediction is for the last commit; uncommitted files are listed apart.
    """
    require_git_repository(project.root)
    previous = require_template_version(project)
    uncommitted = uncommitted_paths(project.root)
    unchanged = UpdateReport(True, previous, previous, uncommitted=uncommitted)
    if _up_to_date(project, target, set_values):
        return unchanged
    with (
        interrupts_change_nothing(project.root, "the dry run stopped") as phase,
        phase.guard.scratch_directory(WORKDIR_PREFIX) as workdir,
    ):
        merge = _merge(project, source, target, set_values, workdir, lock=lock, dry_run=True)
    if merge is None:
        return unchanged
    report = report_merge(merge, dry_run=True, source_recorded=_recorded(source))
    report.uncommitted = uncommitted
    return report


def apply_update(
    project: GeneratedProject,
    source: UpdateSource,
    target: Target,
    set_values: Mapping[str, Any],
    *,
    lock: bool,
) -> UpdateReport:
    """Run the update in a sandbox, then write it into the project in one safe step."""
    require_clean_tree(project)
    previous = require_template_version(project)
    if _up_to_date(project, target, set_values):
        return UpdateReport(False, previous, previous)
    with (
        interrupts_change_nothing(project.root, "the update was not applied") as phase,
        phase.guard.scratch_directory(WORKDIR_PREFIX) as workdir,
    ):
        merge = _merge(project, source, target, set_values, workdir, lock=lock, dry_run=False)
        if merge is None:
            return UpdateReport(False, previous, previous)
        report = report_merge(merge, dry_run=False, source_recorded=_recorded(source))
        if not merge.changes:
            return report
        # From here on the update is being applied: a signal waits until the project is
        # complete (or restored) and the sandbox is gone; the report then says so.
        phase.applying = True
        with phase.guard.shielded():
            try:
                apply_merge(project.root, merge)
            except BaseException:
                phase.applying = False  # rolled back: the project is as it was
                raise
            shutil.rmtree(workdir, ignore_errors=True)
        if phase.guard.received is not None:
            report.deferred_signals = [signal.Signals(phase.guard.received).name]
        return report
