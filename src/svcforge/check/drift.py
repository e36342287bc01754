"""How a generated project drifted from its template: the drift section of ``svcforge check``.

The project's recorded answers are rendered at its recorded template version (``_commit``,
from ``_src_path`` or ``$SVCFORGE_TEMPLATE``, found as ``svcforge update`` finds them) into
a temporary folder, and each template-managed file is compared with the project's copy:

- ``customised``: the team changed it (content, executable bit, or a link in its place);
  files the template keeps on purpose (``_skip_if_exists``) are expected to change and are
  not reported;
- ``deleted``: the render has it, the project does not;
- ``outdated``: the project's copy is still the pristine one, but the newest release
  renders it differently (or no longer renders it): an update the team has not taken.

Only files of the render count. Files only the project has (its own code, ``.env``) and
the answers file are not template-managed. ``uv.lock`` is not either: the template does
not render it, ``svcforge new`` creates it with ``uv lock``, whose result depends on the
package index on that day, so there is no pristine lock file to compare with (a
template that rendered one would get it compared like any other file).

Nothing is written into the project. Renders are cached outside it
(`svcforge.check.render_cache`), keyed by the immutable commit id, so only the first run
for a given version and answers pays for Copier (about 1-1.5 s per render).
"""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import yaml
from packaging.version import Version

from svcforge.answers import ANSWERS_FILE
from svcforge.check.model import Drift, DriftedFile
from svcforge.check.render_cache import CachedRender, RenderedFile, cache_key, load, store
from svcforge.errors import SvcforgeError, TemplateSourceError
from svcforge.project import GeneratedProject, load_project
from svcforge.template_source import (
    TEMPLATE_ENV,
    catalogue_root,
    is_url,
    unversioned_error,
    update_location,
)
from svcforge.versions import Release, base_of, local_commit_id, parse_ref, releases

CUSTOMISED = "customised"
DELETED = "deleted"
OUTDATED = "outdated"

_GIT_TIMEOUT_SECONDS = 60


class UnknownVersionError(LookupError):
    """The template has no tag, branch or commit of that name."""


# `git describe` refs (v1.2.0-3-gabc1234) and bare ids name one commit for good.
_DESCRIBED_ID = r"-g(?P<sha>[0-9a-f]{7,64})$"


@dataclass(frozen=True)
class ProjectFile:
    """What the project has at a template-managed path."""

    data: bytes
    executable: bool = False
    symlink: bool = False
    #: Set when the file exists but cannot be read (its data is then empty).
    unreadable: str | None = None

    def matches(self, pristine: RenderedFile) -> bool:
        """Whether this is exactly the pristine file (bytes and executable bit)."""
        return (
            not self.symlink
            and self.unreadable is None
            and self.data == pristine.data
            and self.executable == pristine.executable
        )


@dataclass(frozen=True)
class Pristine:
    """A generated project and the render of its recorded answers at its recorded version."""

    project: GeneratedProject
    #: The template location used (``$SVCFORGE_TEMPLATE``, else ``_src_path``).
    location: str
    #: The recorded version as git resolves it there, and the version it stands for.
    base: str
    current: Version | None
    render: CachedRender
    #: The template's releases, oldest first.
    releases: tuple[Release, ...]

    @property
    def newest(self) -> Release | None:
        """The newest release of the template, if it has any."""
        return self.releases[-1] if self.releases else None

    @property
    def behind(self) -> bool:
        """Whether a newer release than the project's version exists (as ``update --check``)."""
        newest = self.newest
        current = self.current or parse_ref(self.project.commit)
        # A project made from an untagged commit has no comparable version: any release is news.
        return newest is not None and (current is None or newest.version > current)


def read_project_file(root: Path, path: str) -> ProjectFile | None:
    """Return the project's file at ``path`` (relative, POSIX), or None when there is none.

    A folder in its place, or a file where one of its parent folders should be, counts
    as none; a file that cannot be read is returned with ``unreadable`` set.
    """
    full = root / path
    try:
        info = full.lstat()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as error:
        return ProjectFile(b"", unreadable=error.strerror or str(error))
    if stat.S_ISLNK(info.st_mode):
        return ProjectFile(os.fsencode(full.readlink()), symlink=True)
    if not stat.S_ISREG(info.st_mode):
        return None
    try:
        data = full.read_bytes()
    except OSError as error:
        return ProjectFile(b"", unreadable=error.strerror or str(error))
    return ProjectFile(data, executable=bool(info.st_mode & stat.S_IXUSR))


def skipped(path: str, patterns: tuple[str, ...]) -> bool:
    """Whether ``path`` matches one of the template's ``_skip_if_exists`` patterns.

    Patterns follow .gitignore's basics, as Copier's do: a pattern without a slash
    matches a file or folder name at any depth, one with a slash matches from the
    project root; a matched folder covers everything below it.
    """
    parts = path.split("/")
    prefixes = ["/".join(parts[: depth + 1]) for depth in range(len(parts))]
    for raw in patterns:
        pattern = raw.strip().strip("/")
        if not pattern or pattern.startswith("#"):
            continue
        candidates = prefixes if "/" in pattern else parts
        if any(fnmatchcase(candidate, pattern) for candidate in candidates):
            return True
    return False


def _git_show(location: str, spec: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", "show", spec],
            cwd=location,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return proc.stdout if proc.returncode == 0 else None


def _skip_patterns(location: str, commit_id: str | None) -> tuple[str, ...]:
    """Return the ``_skip_if_exists`` patterns of the template at ``commit_id``.

    Read from the commit for a local template; for a remote one (whose files svcforge
    has no copy of), from the local template svcforge would render, whose list rarely
    differs.
    """
    text = None
    if not is_url(location) and commit_id is not None:
        for name in ("copier.yml", "copier.yaml"):
            text = _git_show(location, f"{commit_id}:{name}")
            if text is not None:
                break
    if text is None:
        for name in ("copier.yml", "copier.yaml"):
            candidate = catalogue_root() / name
            if candidate.is_file():
                text = candidate.read_text(encoding="utf-8", errors="replace")
                break
    try:
        loaded = yaml.safe_load(text or "")
    except yaml.YAMLError:
        return ()
    value = loaded.get("_skip_if_exists") if isinstance(loaded, dict) else None
    if isinstance(value, str):
        return (value,)
    return tuple(str(item) for item in value) if isinstance(value, list) else ()


def commit_id(location: str, ref: str, known: tuple[Release, ...]) -> str | None:
    """Return an immutable id for ``ref`` (the cache key), or None when there is none.

    Local templates resolve it with git (None: the ref does not exist). For a URL, a
    release's recorded commit or the id inside a ``git describe`` ref serves; a branch
    name has none, and its render is not cached.
    """
    if not is_url(location):
        return local_commit_id(location, ref)
    for release in known:
        if ref in {release.ref, release.tag} and release.commit:
            return release.commit
    match = re.search(_DESCRIBED_ID, ref) or re.fullmatch(r"(?P<sha>[0-9a-f]{7,64})", ref)
    return match["sha"] if match else None


def render_at(
    location: str,
    ref: str,
    answers: Mapping[str, Any],
    folder_name: str,
    *,
    known: tuple[Release, ...] = (),
) -> CachedRender:
    """Render ``location`` at ``ref`` with ``answers``, from the cache when it has it.

    The render goes to a temporary folder that is removed whatever happens. Raises
    `UnknownVersionError` when ``ref`` does not exist, `SvcforgeError` when Copier fails.
    """
    pinned = commit_id(location, ref, known)
    if pinned is None and not is_url(location):
        raise UnknownVersionError(ref)
    key = None if pinned is None else cache_key(location, pinned, answers, folder_name)
    if key is not None and (cached := load(key)) is not None:
        return cached
    # Imported only to render: Copier takes longer to import (0.5-1.5 s) than a cached
    # drift takes to compute, and `svcforge check` must stay fast.
    from plumbum import ProcessExecutionError  # noqa: PLC0415 - see above

    from svcforge.update.rendering import UnknownRevision, render_version  # noqa: PLC0415 - idem

    with tempfile.TemporaryDirectory(prefix="svcforge-drift-", ignore_cleanup_errors=True) as tmp:
        dest = Path(tmp) / folder_name
        try:
            rendering = render_version(location, pinned or ref, answers, dest)
        except UnknownRevision:
            raise UnknownVersionError(ref) from None
        except ProcessExecutionError as error:
            # git failing under Copier (a broken clone of the template): no traceback.
            raise TemplateSourceError(
                f"Cannot render {location} at {ref}: {' '.join(str(error).split())}"
            ) from None
        files = {
            path: RenderedFile(data, bool((dest / path).stat().st_mode & stat.S_IXUSR))
            for path, data in rendering.files.items()
        }
    render = CachedRender(rendering.commit, files, _skip_patterns(location, pinned))
    if key is not None:
        store(key, render)
    return render


def _folder_name(project: GeneratedProject) -> str:
    # The render's folder is named like the project's: templates may derive defaults from it.
    return project.root.name or "project"


def pristine_render(project: GeneratedProject) -> Pristine:
    """Render ``project``'s answers at its recorded version; raise `SvcforgeError` if it cannot.

    The template source is the one ``svcforge update`` uses: ``$SVCFORGE_TEMPLATE``, else
    the recorded ``_src_path``.
    """
    # What `svcforge.update.source.resolve_source` does, without importing Copier with it.
    try:
        location, _ = update_location(project.src_path, os.environ.get(TEMPLATE_ENV))
    except TemplateSourceError:
        if project.commit is None:  # say everything that is missing at once
            raise unversioned_error(project.root, project.answers, source_usable=False) from None
        raise
    recorded = project.commit
    if recorded is None:
        raise unversioned_error(project.root, project.answers, source_usable=True)
    base = base_of(location, recorded)
    known = tuple(releases(location))
    try:
        render = render_at(
            location, base.ref, project.public_answers, _folder_name(project), known=known
        )
    except UnknownVersionError:
        raise TemplateSourceError(
            f"The project's template version {recorded} (_commit in {ANSWERS_FILE}) does not "
            f"exist in the template at {location}.",
            hint=f"Point {TEMPLATE_ENV} at a clone that has this version (git fetch --tags).",
        ) from None
    return Pristine(project, location, base.ref, base.version, render, known)


def changed_files(
    root: Path, render: CachedRender, *, include_skipped: bool = False
) -> list[DriftedFile]:
    """List the template-managed files the team customised or deleted, by path.

    Files the template keeps on purpose (``_skip_if_exists``) count as customised only
    with ``include_skipped``.
    """
    found: list[DriftedFile] = []
    for path, pristine in sorted(render.files.items()):
        mine = read_project_file(root, path)
        if mine is None:
            found.append(DriftedFile(path, DELETED))
        elif not mine.matches(pristine) and (
            include_skipped or not skipped(path, render.skip_if_exists)
        ):
            found.append(DriftedFile(path, CUSTOMISED))
    return found


def _sentence(error: SvcforgeError) -> str:
    """Return the error as one line of text: its message, then its hint."""
    text = " ".join(error.message.split())
    return f"{text} {' '.join(error.hint.split())}" if error.hint else text


def _outdated(pristine: Pristine, changed: list[DriftedFile]) -> list[DriftedFile]:
    """Pristine files that the newest release renders differently (or not at all)."""
    newest = pristine.newest
    if newest is None:  # the project is on the newest release: nothing can be outdated
        return []
    project = pristine.project
    latest = render_at(
        pristine.location,
        newest.ref,
        project.public_answers,
        _folder_name(project),
        known=pristine.releases,
    )
    touched = {item.path for item in changed}
    return [
        DriftedFile(path, OUTDATED)
        for path, file in sorted(pristine.render.files.items())
        if path not in touched and latest.files.get(path) != file
    ]


#: Failures that mean "cannot compute drift" rather than a bug: svcforge's own errors,
#: and the file system refusing.
_EXPECTED = (SvcforgeError, OSError)


def _problem(error: BaseException) -> str:
    if isinstance(error, SvcforgeError):
        return _sentence(error)
    return f"The template could not be rendered: {' '.join(str(error).split())}"


def compute_drift(root: Path) -> Drift | None:
    """How the generated project at ``root`` differs from its template; None if not generated.

    Never raises for an unusable template: the returned `Drift` then has ``problem`` set
    (an unreachable template, a recorded version it does not have, answers it rejects).
    Nothing is written into ``root``.
    """
    root = root.expanduser().absolute()
    if not (root / ANSWERS_FILE).is_file():
        return None
    template = recorded = ""
    try:
        project = load_project(root)
        template, recorded = project.src_path or "", project.commit or ""
        pristine = pristine_render(project)
    except _EXPECTED as error:
        return Drift(template, recorded, None, behind=False, problem=_problem(error))
    newest = pristine.newest
    drift = Drift(
        template=pristine.location,
        recorded_version=recorded,
        newest_version=newest.tag if newest else None,
        behind=pristine.behind,
        files=changed_files(root, pristine.render),
    )
    if drift.behind:
        try:
            outdated = _outdated(pristine, drift.files)
        except UnknownVersionError:
            drift.problem = f"The newest release {drift.newest_version} could not be rendered."
        except _EXPECTED as error:
            drift.problem = f"Outdated files are not known: {_problem(error)}"
        else:
            drift.files = sorted(drift.files + outdated, key=lambda item: item.path)
    return drift
