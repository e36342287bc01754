"""Compute a whole update in a throw-away clone of the project (the "sandbox").

Copier's 3-way update runs there, followed by what Copier does not do: keep customised
files the new version no longer renders, notice template changes that had no file to land
in, count only the rejects this update produced, and re-lock. The result is a `Merge`:
the exact file and index changes, ready to be applied to the project in one short step
(`svcforge.update.applying`) or only reported (the dry run).
"""

from __future__ import annotations

import difflib
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import yaml
from copier.errors import CopierError, DirtyLocalWarning
from plumbum import ProcessExecutionError

from svcforge.answers import ANSWERS_FILE
from svcforge.errors import BadDataError, DowngradeError, InvalidAnswerError, TemplateSourceError
from svcforge.new import uv_lock
from svcforge.project import GeneratedProject
from svcforge.template_source import record_template_version, set_recorded
from svcforge.update.files import FileState, Snapshot, read_state, snapshot, write_state
from svcforge.update.gitio import (
    IndexEntry,
    git_bytes,
    index_entries,
    nul_separated,
    removal_line,
    unmerged_paths,
    write_blob,
)
from svcforge.update.rendering import Rendering, UnknownRevision, render_version
from svcforge.update.source import Target, UpdateSource, require_template_version, unknown_ref
from svcforge.update.worker import update

#: How alike two files must be (0-1) to call one the other's new place.
_SAME_FILE_SIMILARITY = 0.5

#: Identity for the one commit made in the sandbox (never in the project).
_SANDBOX_IDENTITY = ("-c", "user.name=svcforge", "-c", "user.email=svcforge@localhost")


@dataclass(frozen=True)
class KeptFile:
    """A customised file that the new version no longer renders, kept as a conflict."""

    path: str
    #: The new version's file that seems to replace it (same name, similar content).
    counterpart: str | None = None


@dataclass(frozen=True)
class MissedChange:
    """A template change with no file in the project to land in (moved or deleted)."""

    #: The template's path; ``added`` when the new version adds it in a folder you removed.
    path: str
    added: bool = False
    #: The project's file that seems to be this one, moved (same name, similar content).
    moved_to: str | None = None
    #: The template's change as a unified diff (empty for an added file).
    diff: str = ""


@dataclass
class Merge:
    """A finished update, computed in the sandbox and not yet applied to the project."""

    sandbox: Path
    #: The project commit the sandbox was cloned from.
    head: str
    previous: str
    current: str
    #: The sandbox (= the project) before the update, for the consistency check on apply.
    before: Snapshot
    #: Path -> new state; None means the update deletes it.
    changes: dict[str, FileState | None]
    #: Path -> the index entries it must have afterwards (conflict stages included).
    index_updates: dict[str, frozenset[IndexEntry]]
    conflicts: list[str]
    rejects: list[str]
    kept: list[KeptFile]
    missed: list[MissedChange]
    #: Files of the team left in folders the new version no longer renders.
    leftovers: list[str]
    changed_by_template: list[str]
    customised: list[str]
    relocked: bool = False
    #: pyproject.toml changed and uv.lock was not re-locked to match.
    lock_needed: bool = False
    warnings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing needs resolving by hand."""
        return not self.conflicts and not self.rejects

    @property
    def added(self) -> list[str]:
        """Paths the update creates."""
        return sorted(path for path in self.changes if path not in self.before)

    @property
    def deleted(self) -> list[str]:
        """Paths the update deletes."""
        return sorted(path for path, state in self.changes.items() if state is None)


@dataclass(frozen=True)
class Versions:
    """The two renders an update compares: the project's version and the target."""

    old: Rendering
    new: Rendering

    @property
    def up_to_date(self) -> bool:
        """Both are the same template commit."""
        return self.old.commit == self.new.commit


def render_both(
    project: GeneratedProject,
    source: UpdateSource,
    target: Target,
    set_values: Mapping[str, Any],
    workdir: Path,
) -> Versions:
    """Render the project's version and the target; check ``--set`` keys and the direction.

    Done before the merge so that bad arguments fail fast and name the actual problem:
    an unknown ref, an unknown question, an invalid value, a downgrade by commit. The
    merge then copies both renders instead of making them again (`svcforge.update.worker`).
    """
    previous = require_template_version(project)
    try:
        old = render_version(
            source.location,
            source.base or previous,
            project.public_answers,
            workdir / "old" / project.root.name,
        )
    except UnknownRevision:
        raise TemplateSourceError(
            f"The project's template version {previous} (_commit in {ANSWERS_FILE}) does not "
            f"exist in the template at {source.location}.",
            hint="Point SVCFORGE_TEMPLATE at a clone that has this version (git fetch --tags).",
        ) from None
    try:
        new = render_version(
            source.location,
            target.ref,
            {**project.public_answers, **set_values},
            workdir / "new" / project.root.name,
        )
    except UnknownRevision:
        raise unknown_ref(source, target.ref) from None
    unknown = sorted(set(set_values) - new.questions)
    if unknown:
        raise BadDataError(
            f"--set {', '.join(unknown)}: the template ({new.commit}) has no such question.",
            hint=f"Questions: {', '.join(sorted(new.questions))}.",
        )
    if old.version is not None and new.version is not None and new.version < old.version:
        raise DowngradeError(
            f"The project is at template version {old.commit}; {target.ref} is {new.commit}, "
            "which is older.",
            hint="Updates only move forward. To undo an update, revert its commit with git.",
        )
    return Versions(old, new)


def _ancestors(paths: Iterable[str]) -> set[str]:
    found: set[str] = set()
    for path in paths:
        found.update(str(parent) for parent in PurePosixPath(path).parents if str(parent) != ".")
    return found


def _create_sandbox(project: GeneratedProject, sandbox: Path, wanted: set[str]) -> str:
    """Clone the project's HEAD into ``sandbox``; return the commit id.

    ``--shared`` borrows the project's objects instead of copying them and writes nothing
    into the project. Files git does not track (ignored, e.g. ``.env``) are copied too
    when the template renders their path (or a folder above it), so that Copier sees
    them as it would in the project (``_skip_if_exists``, overwrites, file/folder clashes).
    """
    root = project.root
    head = git_bytes(root, "rev-parse", "--verify", "HEAD^{commit}").decode().strip()
    sandbox.parent.mkdir(parents=True)
    git_bytes(
        sandbox.parent, "clone", "--quiet", "--shared", "--no-checkout", str(root), str(sandbox)
    )
    git_bytes(sandbox, "checkout", "--quiet", "--detach", head)
    tracked = set(nul_separated(git_bytes(root, "ls-files", "-z")))
    for path in sorted(wanted | _ancestors(wanted)):
        # A team's own ignored *.rej would make Copier's conflict pass restore a file
        # that does not exist; it is no business of the update.
        if path in tracked or path.endswith(".rej"):
            continue
        state = read_state(root / path)
        if state is not None and not (sandbox / path).exists():
            (sandbox / path).parent.mkdir(parents=True, exist_ok=True)
            write_state(sandbox / path, state)
    return head


def _record_source(sandbox: Path, location: str, base: str | None) -> None:
    """Point ``_src_path`` at ``location`` (and ``_commit`` at ``base``) in the sandbox only.

    ``base`` is the recorded version as git resolves it in ``location`` (a release whose
    tag the clone lacks, see `svcforge.versions.copier_ref`).
    """
    set_recorded(sandbox / ANSWERS_FILE, "_src_path", location)
    if base is not None:
        set_recorded(sandbox / ANSWERS_FILE, "_commit", base)
    git_bytes(sandbox, "add", "--", ANSWERS_FILE)
    git_bytes(
        sandbox,
        *_SANDBOX_IDENTITY,
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        f"Record svcforge template source {location}",
    )


def _run_copier(
    sandbox: Path,
    source: UpdateSource,
    target: Target,
    data: Mapping[str, Any],
    versions: Versions,
) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DirtyLocalWarning)
            update(
                sandbox,
                data=data,
                vcs_ref=target.ref,
                renders=[versions.old.reusable, versions.new.reusable],
            )
    except UnicodeError as error:  # a ValueError too, but no answer's fault
        raise TemplateSourceError(f"Copier failed while merging: {error}") from None
    except ValueError as error:
        raise InvalidAnswerError(str(error)) from None
    except CopierError as error:
        raise TemplateSourceError(
            f"Copier could not update from {source.location}: {error}"
        ) from None
    except (OSError, ProcessExecutionError) as error:
        # Copier's own failures (e.g. 9.19 cannot merge a file added on both sides whose
        # name git quotes): the sandbox is discarded, so say what failed, not a traceback.
        raise TemplateSourceError(f"Copier failed while merging: {error}") from None


def _similarity(left: bytes, right: bytes) -> float:
    matcher = difflib.SequenceMatcher(None, left.splitlines(), right.splitlines(), autojunk=False)
    return matcher.ratio()


def _diff(path: str, old: bytes, new: bytes) -> str:
    """Show the template's change to one file as ``git diff`` would."""
    lines = difflib.unified_diff(
        old.decode(errors="replace").splitlines(keepends=True),
        new.decode(errors="replace").splitlines(keepends=True),
        fromfile=f"a/{path}",
        tofile=f"b/{path}",
    )
    return "".join(lines)


def _likely_same(name_of: str, content: bytes, candidates: Mapping[str, bytes]) -> str | None:
    """Find the candidate named like ``name_of`` whose content is most like ``content``."""
    name = PurePosixPath(name_of).name
    scored = [
        (_similarity(content, data), path)
        for path, data in candidates.items()
        if PurePosixPath(path).name == name and path != name_of
    ]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= _SAME_FILE_SIMILARITY else None


def _keep_customised_deletions(
    sandbox: Path,
    versions: Versions,
    before: Snapshot,
    index_before: dict[str, frozenset[IndexEntry]],
) -> tuple[list[KeptFile], list[str]]:
    """Put back every customised file the update deleted; tracked ones become conflicts.

    A tracked file gets the index entries of a "deleted by them" conflict: stage 1 is the
    old template's file, stage 2 the team's; `git add` keeps it, `git rm` drops it.
    """
    after = snapshot(sandbox)
    kept: list[KeptFile] = []
    untracked: list[str] = []
    for path in sorted(set(before) - set(after)):
        base = versions.old.files.get(path)
        state = before[path]
        if base is not None and not state.symlink and state.data == base:
            continue  # not customised: the template's deletion stands
        (sandbox / path).parent.mkdir(parents=True, exist_ok=True)
        write_state(sandbox / path, state)
        ours = sorted(index_before.get(path, frozenset()))
        if not ours:
            untracked.append(path)
            continue
        lines = [removal_line(path)]
        if base is not None:
            lines.append(IndexEntry(path, 1, ours[0].mode, write_blob(sandbox, base)).info_line())
        lines.append(IndexEntry(path, 2, ours[0].mode, ours[0].sha).info_line())
        git_bytes(sandbox, "update-index", "-z", "--index-info", stdin=b"\0".join(lines) + b"\0")
        added = {p: data for p, data in versions.new.files.items() if p not in versions.old.files}
        kept.append(KeptFile(path, _likely_same(path, base or state.data, added)))
    return kept, untracked


def _missed_changes(versions: Versions, before: Snapshot) -> list[MissedChange]:
    """Template changes the project has no file for: it deleted or moved them."""
    old, new = versions.old.files, versions.new.files
    own = {path: state.data for path, state in before.items() if path not in old}
    missed = [
        MissedChange(
            path, moved_to=_likely_same(path, base, own), diff=_diff(path, base, new[path])
        )
        for path, base in old.items()
        if path not in before and path in new and new[path] != base
    ]
    present = {""} | _ancestors(before)
    missed += [
        MissedChange(path, added=True)
        for path in new
        if path not in old
        and (parent := str(PurePosixPath(path).parent).removeprefix(".")) in versions.old.folders
        and parent not in present
    ]
    return sorted(missed, key=lambda change: change.path)


def _leftovers(versions: Versions, after: Snapshot, kept: Iterable[str]) -> list[str]:
    """List the team's files left in folders that the new version no longer renders."""
    gone = versions.old.folders - versions.new.folders - {""}
    skip = set(kept)
    return sorted(
        path for path in after if path not in skip and gone.intersection(_ancestors([path]))
    )


def merge_in_sandbox(
    project: GeneratedProject,
    source: UpdateSource,
    target: Target,
    set_values: Mapping[str, Any],
    versions: Versions,
    workdir: Path,
    *,
    lock: bool,
    dry_run: bool = False,
) -> Merge:
    """Run the whole update on a clone of the project in ``workdir``; change nothing else."""
    # The project's own folder name: the template may derive defaults from it.
    sandbox = workdir / "sandbox" / project.root.name
    wanted = set(versions.old.files) | set(versions.new.files)
    head = _create_sandbox(project, sandbox, wanted)
    before = snapshot(sandbox)
    if source.overridden or source.base != project.commit:
        _record_source(sandbox, source.location, source.base)
    index_before = index_entries(sandbox)

    _run_copier(sandbox, source, target, set_values, versions)
    record_template_version(sandbox, source.location)  # a release version even without tags

    kept, untracked_kept = _keep_customised_deletions(sandbox, versions, before, index_before)
    after = snapshot(sandbox)
    index_after = index_entries(sandbox)
    conflicts = unmerged_paths(index_after)
    rejects = sorted(p for p in after if p.endswith(".rej") and before.get(p) != after[p])
    merge = Merge(
        sandbox=sandbox,
        head=head,
        previous=versions.old.commit,
        current=str(yaml.safe_load(after[ANSWERS_FILE].data).get("_commit")),
        before=before,
        changes={},
        index_updates={},
        conflicts=conflicts,
        rejects=rejects,
        kept=kept,
        missed=_missed_changes(versions, before),
        leftovers=_leftovers(versions, after, [k.path for k in kept] + untracked_kept),
        changed_by_template=sorted(
            path
            for path in versions.old.files.keys() | versions.new.files.keys()
            if versions.old.files.get(path) != versions.new.files.get(path)
        ),
        customised=sorted(
            path
            for path, content in versions.old.files.items()
            if path not in before or before[path].data != content
        ),
    )
    merge.warnings += [
        f"Kept {path}, which is not tracked by git and which the new version no longer "
        "renders; delete it if you do not need it."
        for path in untracked_kept
    ]
    pyproject_changed = before.get("pyproject.toml") != after.get("pyproject.toml")
    if pyproject_changed:
        # Re-lock an existing lock file once nothing is left to resolve; otherwise (and
        # without a lock file) the report says that `uv lock` is needed.
        if "uv.lock" in after and lock and merge.clean and dry_run:
            merge.relocked = True  # predicted: locking needs the network and changes no conflict
        elif "uv.lock" in after and lock and merge.clean:
            lock_error = uv_lock(sandbox)
            merge.relocked = lock_error is None
            if lock_error is not None:
                merge.warnings.append(f"`uv lock` failed after the update: {lock_error}")
            after = snapshot(sandbox)
        merge.lock_needed = not merge.relocked
    merge.changes = {
        path: after.get(path)
        for path in before.keys() | after.keys()
        if before.get(path) != after.get(path)
    }
    merge.index_updates = {
        path: index_after.get(path, frozenset())
        for path in index_before.keys() | index_after.keys()
        if index_before.get(path) != index_after.get(path)
    }
    return merge
