"""Bring a generated project to another template version (the work behind ``svcforge update``).

Copier's 3-way update is the engine; this module adds what it lacks: preflight checks
with actionable errors, a dry run that predicts conflicts, conflict detection after the
update (Copier exits 0 even when it leaves conflicts), and version checks.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import copier
import yaml
from copier.errors import CopierError, DirtyLocalWarning
from packaging.version import Version

from svcforge.answers import ANSWERS_FILE
from svcforge.errors import (
    DirtyTreeError,
    DowngradeError,
    InvalidAnswerError,
    TemplateSourceError,
)
from svcforge.new import uv_lock
from svcforge.project import (
    GeneratedProject,
    git,
    reject_files,
    require_git_repository,
    tracked_files,
    uncommitted_files,
    unmerged_files,
)
from svcforge.template_source import TEMPLATE_ENV, is_url
from svcforge.versions import parse_ref, releases

#: Exit code of ``svcforge update --check`` when a newer template version exists.
UPDATE_AVAILABLE_EXIT_CODE = 10

_SOURCE_HINT = (
    f"Set {TEMPLATE_ENV} to a git clone (absolute path) or git URL of the svcforge "
    "template and run the update again; it is then recorded as the project's template source."
)


@dataclass(frozen=True)
class UpdateSource:
    """The template repository an update renders from."""

    location: str
    #: True when SVCFORGE_TEMPLATE replaces the ``_src_path`` the project recorded.
    overridden: bool


@dataclass(frozen=True)
class Target:
    """The template version to update to."""

    ref: str
    version: Version | None


def resolve_source(project: GeneratedProject, env: Mapping[str, str] | None = None) -> UpdateSource:
    """Find a usable template source: SVCFORGE_TEMPLATE, else the recorded ``_src_path``."""
    environ = os.environ if env is None else env
    override = environ.get(TEMPLATE_ENV, "").strip()
    location = override or project.src_path
    origin = f"${TEMPLATE_ENV}" if override else f"_src_path in {ANSWERS_FILE}"
    if not location:
        raise TemplateSourceError(f"{ANSWERS_FILE} records no template source.", hint=_SOURCE_HINT)
    if not is_url(location):
        path = Path(location).expanduser()
        if not path.is_absolute():
            if not override:
                raise TemplateSourceError(
                    f"The template source {location!r} ({origin}) is a relative path, which "
                    "Copier cannot resolve from the project.",
                    hint=_SOURCE_HINT,
                )
            path = path.absolute()
        if not path.is_dir():
            raise TemplateSourceError(
                f"The template source {path} ({origin}) does not exist.", hint=_SOURCE_HINT
            )
        if not (path / ".git").exists():
            raise TemplateSourceError(
                f"The template source {path} ({origin}) is not a git repository, so it has "
                "no versions to update to.",
                hint=_SOURCE_HINT,
            )
        location = str(path)
    return UpdateSource(location, overridden=bool(override) and location != project.src_path)


def resolve_target(source: UpdateSource, to: str | None) -> Target:
    """Return the ref to update to: ``to`` (tag, version or git ref) or the newest release."""
    available = releases(source.location)
    if to is None:
        if not available:
            raise TemplateSourceError(
                f"The template at {source.location} has no release tags (vX.Y.Z).",
                hint="Pass --to REF to update to a branch or commit, e.g. --to HEAD.",
            )
        return Target(available[-1].tag, available[-1].version)
    for release in available:
        if to in {release.tag, str(release.version)}:
            return Target(release.tag, release.version)
    return Target(to, parse_ref(to))


def refuse_downgrade(project: GeneratedProject, target: Target) -> None:
    """Raise when the target is an older version than the project's."""
    current = parse_ref(project.commit)
    if current is not None and target.version is not None and target.version < current:
        raise DowngradeError(
            f"The project is at template version {project.commit}; {target.ref} is older.",
            hint="Updates only move forward. To undo an update, revert its commit with git.",
        )


@dataclass(frozen=True)
class UpdateCheck:
    """Whether a newer template release exists for a project."""

    current: str | None
    latest: str | None
    update_available: bool
    source: str

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for ``--json``."""
        return {
            "current": self.current,
            "latest": self.latest,
            "update_available": self.update_available,
            "source": self.source,
        }


def check_for_update(project: GeneratedProject, source: UpdateSource) -> UpdateCheck:
    """Compare the project's template version with the newest release of the source."""
    available = releases(source.location)
    latest = available[-1] if available else None
    current = parse_ref(project.commit)
    # A project made from an untagged commit has no comparable version: any release is news.
    newer = latest is not None and (current is None or latest.version > current)
    return UpdateCheck(project.commit, latest.tag if latest else None, newer, source.location)


@dataclass(frozen=True)
class UpdatePlan:
    """What an update would do, computed without touching the project."""

    current: str | None
    target: str
    #: Files the template itself changes between the two versions (with these answers).
    changed_by_template: list[str]
    #: Template files the team changed (or deleted) since they were last rendered.
    customised: list[str]
    #: Both of the above: where an update may stop with conflicts.
    likely_conflicts: list[str]
    uncommitted: list[str]

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for ``--json``."""
        return {
            "current": self.current,
            "target": self.target,
            "changed_by_template": self.changed_by_template,
            "customised": self.customised,
            "likely_conflicts": self.likely_conflicts,
            "uncommitted": self.uncommitted,
        }


def _render(source: str, ref: str, answers: Mapping[str, Any], dest: Path) -> dict[str, bytes]:
    """Render one template version; return its files (answers file excluded) by path."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DirtyLocalWarning)
            copier.run_copy(
                source, dest, data=dict(answers), defaults=True, vcs_ref=ref, quiet=True
            )
    except ValueError as error:
        raise InvalidAnswerError(str(error)) from None
    except CopierError as error:
        raise TemplateSourceError(f"Cannot render {source} at {ref}: {error}") from None
    return {
        str(path.relative_to(dest)): path.read_bytes()
        for path in dest.rglob("*")
        if path.is_file() and path.name != ANSWERS_FILE
    }


def plan_update(
    project: GeneratedProject,
    source: UpdateSource,
    target: Target,
    set_values: Mapping[str, Any],
) -> UpdatePlan:
    """Predict an update: what the template changes and what the team customised."""
    if project.commit is None:
        raise TemplateSourceError(f"{ANSWERS_FILE} records no template version (_commit).")
    with tempfile.TemporaryDirectory(prefix="svcforge-plan-") as tmp:
        before = _render(source.location, project.commit, project.public_answers, Path(tmp, "a"))
        after = _render(
            source.location,
            target.ref,
            {**project.public_answers, **set_values},
            Path(tmp, "b"),
        )
    changed = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    present = {
        path: (project.root / path).read_bytes()
        for path in tracked_files(project.root)
        if (project.root / path).is_file()
    }
    customised = sorted(path for path, content in before.items() if present.get(path) != content)
    return UpdatePlan(
        current=project.commit,
        target=target.ref,
        changed_by_template=changed,
        customised=customised,
        likely_conflicts=sorted(set(changed) & set(customised)),
        uncommitted=uncommitted_files(project.root),
    )


@dataclass
class UpdateResult:
    """What an applied update changed and left behind."""

    previous: str | None
    current: str | None
    changed: list[str]
    conflicts: list[str]
    rejects: list[str]
    relocked: bool
    source_recorded: str | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing needs resolving by hand."""
        return not self.conflicts and not self.rejects

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form for ``--json``."""
        return {
            "previous": self.previous,
            "current": self.current,
            "changed": self.changed,
            "conflicts": self.conflicts,
            "rejects": self.rejects,
            "relocked": self.relocked,
            "source_recorded": self.source_recorded,
            "warnings": self.warnings,
        }


def require_clean_tree(project: GeneratedProject) -> None:
    """Raise, listing the files, when the project has uncommitted changes."""
    require_git_repository(project.root)
    dirty = uncommitted_files(project.root)
    if dirty:
        listing = "\n".join(f"  {path}" for path in dirty)
        raise DirtyTreeError(
            f"{project.root} has uncommitted changes; an update would mix them with its own:\n"
            f"{listing}",
            hint="Commit them (git commit -am ...) or stash them (git stash -u), then retry.",
        )


def _record_source(project: GeneratedProject, location: str) -> None:
    """Point ``_src_path`` at ``location`` and commit it, so Copier updates from there."""
    answers_path = project.root / ANSWERS_FILE
    lines = answers_path.read_text(encoding="utf-8").splitlines(keepends=True)
    replaced = [
        f"_src_path: {yaml.safe_dump(location, default_style=None).splitlines()[0]}\n"
        if line.startswith("_src_path:")
        else line
        for line in lines
    ]
    answers_path.write_text("".join(replaced), encoding="utf-8")
    git(project.root, "add", ANSWERS_FILE)
    git(
        project.root,
        "commit",
        "--quiet",
        "--no-verify",
        "-m",
        f"Record svcforge template source {location}",
    )


def apply_update(
    project: GeneratedProject,
    source: UpdateSource,
    target: Target,
    set_values: Mapping[str, Any],
    *,
    lock: bool,
) -> UpdateResult:
    """Run Copier's 3-way update, then report conflicts and re-lock if needed."""
    require_clean_tree(project)
    result = UpdateResult(project.commit, project.commit, [], [], [], relocked=False)
    current = parse_ref(project.commit)
    if not set_values and current is not None and target.version == current:
        return result
    if source.overridden:
        _record_source(project, source.location)
        result.source_recorded = source.location
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DirtyLocalWarning)
            copier.run_update(
                project.root,
                data=dict(set_values),
                defaults=True,
                overwrite=True,
                skip_answered=True,
                conflict="inline",
                vcs_ref=target.ref,
                unsafe=False,
                quiet=True,
            )
    except ValueError as error:
        raise InvalidAnswerError(str(error)) from None
    except CopierError as error:
        raise TemplateSourceError(
            f"Copier could not update from {source.location}: {error}"
        ) from None

    result.conflicts = unmerged_files(project.root)
    result.rejects = reject_files(project.root)
    result.changed = uncommitted_files(project.root)
    result.current = str(
        yaml.safe_load((project.root / ANSWERS_FILE).read_text(encoding="utf-8")).get("_commit")
    )
    lock_file = project.root / "uv.lock"
    if lock and result.clean and "pyproject.toml" in result.changed and lock_file.is_file():
        lock_error = uv_lock(project.root)
        result.relocked = lock_error is None
        if lock_error is not None:
            result.warnings.append(f"`uv lock` failed after the update: {lock_error}")
    return result
