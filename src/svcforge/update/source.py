"""Where an update renders from and to which version: source, target and version checks."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.version import Version

from svcforge.errors import (
    DowngradeError,
    TemplateSourceError,
    UnknownRefError,
)
from svcforge.project import GeneratedProject
from svcforge.template_source import TEMPLATE_ENV, is_url, unversioned_error, update_location
from svcforge.versions import base_of, local_commit_id, parse_ref, releases

_GIT_TIMEOUT_SECONDS = 60

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
    #: The project's ``_commit`` as git resolves it in ``location`` (``vX.Y.Z-0-g<id>``
    #: for a release whose tag the clone lacks), and the version it stands for.
    base: str | None = None
    current: Version | None = None


@dataclass(frozen=True)
class Target:
    """The template version to update to."""

    ref: str
    version: Version | None


def resolve_source(project: GeneratedProject, env: Mapping[str, str] | None = None) -> UpdateSource:
    """Find a usable template source: SVCFORGE_TEMPLATE, else the recorded ``_src_path``.

    Paths, ``file://`` and ``git+file://`` URLs are all accepted (see `update_location`).
    """
    environ = os.environ if env is None else env
    try:
        location, overridden = update_location(project.src_path, environ.get(TEMPLATE_ENV))
    except TemplateSourceError:
        if project.commit is None:  # say everything that is missing at once
            raise unversioned_error(project.root, project.answers, source_usable=False) from None
        raise
    if project.commit is None:
        return UpdateSource(location, overridden)
    base = base_of(location, project.commit)
    return UpdateSource(location, overridden, base.ref, base.version)


def require_template_version(project: GeneratedProject) -> str:
    """Return the recorded template version (``_commit``); raise when there is none.

    Without it there is no common ancestor for the 3-way merge, so ``--check``, ``--dry-run``
    and the update itself all give this same answer.
    """
    if project.commit is None:
        raise unversioned_error(project.root, project.answers, source_usable=True)
    return project.commit


def _release_listing(source: UpdateSource) -> str:
    tags = [release.tag for release in releases(source.location)]
    return f"Releases: {', '.join(tags)}." if tags else "The template has no release tags yet."


def ref_exists(location: str, ref: str) -> bool | None:
    """Whether a local template repository has ``ref``; None when it cannot tell (URLs).

    The ref goes to git on stdin, never as an argument, so ``--to=-x`` cannot be an option.
    """
    if is_url(location):
        return None
    return local_commit_id(location, ref) is not None


def unknown_ref(source: UpdateSource, ref: str) -> UnknownRefError:
    """Build the error for a ``--to`` value that names nothing in the template repository."""
    return UnknownRefError(
        f"The template at {source.location} has no tag, branch or commit {ref!r}.",
        hint=f"{_release_listing(source)} Pass --to with one of them (or a branch or "
        "commit of the template), or leave --to out for the newest release.",
    )


def resolve_target(source: UpdateSource, to: str | None) -> Target:
    """Return the ref to update to: ``to`` (tag, version or git ref) or the newest release."""
    available = releases(source.location)
    if to is None:
        if not available:
            raise TemplateSourceError(
                f"The template at {source.location} has no release tags (vX.Y.Z).",
                hint="Pass --to REF to update to a branch or commit, e.g. --to HEAD.",
            )
        return Target(available[-1].ref, available[-1].version)
    for release in available:
        if to in {release.tag, str(release.version), release.ref}:
            return Target(release.ref, release.version)
    if ref_exists(source.location, to) is False:
        raise unknown_ref(source, to)
    return Target(to, parse_ref(to))


def refuse_downgrade(project: GeneratedProject, target: Target) -> None:
    """Raise when the target is an older version than the project's.

    Checked before rendering when the target is a tag; a branch or commit is checked
    again once rendered, against the version Copier derives for it (`git describe`).
    """
    current = parse_ref(project.commit)
    if current is not None and target.version is not None and target.version < current:
        raise DowngradeError(
            f"The project is at template version {project.commit}; {target.ref} "
            f"({target.version}) is older.",
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
    commit = require_template_version(project)
    available = releases(source.location)
    latest = available[-1] if available else None
    current = source.current if source.current is not None else parse_ref(commit)
    # A project made from an untagged commit has no comparable version: any release is news.
    newer = latest is not None and (current is None or latest.version > current)
    return UpdateCheck(commit, latest.tag if latest else None, newer, source.location)
