"""Where the svcforge template comes from, in every form users give it.

A template location is a local path, a ``file://`` or ``git+file://`` URL (Copier itself
understands only the ``git+`` one), or a remote git URL. svcforge turns every local form
into an absolute path before Copier sees it: that is what Copier records as
``_src_path``, and an absolute path is the one form plain ``copier update`` reads back
without surprises.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from svcforge import __version__
from svcforge.answers import ANSWERS_FILE, read_answers
from svcforge.errors import MissingTemplateVersionError, TemplateError, TemplateSourceError
from svcforge.versions import copier_ref, describe, parse_ref, releases

#: Environment variable that overrides the template location (path or git URL).
TEMPLATE_ENV = "SVCFORGE_TEMPLATE"
#: Optional git ref (tag, version, branch, commit) to use together with ``SVCFORGE_TEMPLATE``.
TEMPLATE_REF_ENV = "SVCFORGE_TEMPLATE_REF"
#: Answers-file key naming the svcforge version whose bundled template made the project.
BUNDLED_VERSION_KEY = "_svcforge_version"

# Forms Copier accepts as remote git locations (see copier's vcs.get_repo).
_URL_RE = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|git@|gh:|gl:)", re.IGNORECASE)
_FILE_URL_RE = re.compile(r"^(?:git\+)?file:", re.IGNORECASE)


class SourceKind(StrEnum):
    """Where the template was found."""

    ENV = "env"
    CHECKOUT = "checkout"
    BUNDLED = "bundled"


@dataclass(frozen=True)
class TemplateSource:
    """A template location Copier can render from.

    ``location`` is an absolute path or a remote URL, never a relative path nor a
    ``file://`` URL: Copier stores it verbatim as ``_src_path`` and cannot update from
    either.
    """

    location: str
    vcs_ref: str | None
    kind: SourceKind
    #: Set when generation works but later updates will not.
    warning: str | None = None

    @property
    def is_url(self) -> bool:
        """Whether ``location`` is a remote git URL rather than a local path."""
        return is_url(self.location)


def is_url(value: str) -> bool:
    """Return whether ``value`` looks like a git URL (``file://`` ones included)."""
    return bool(_URL_RE.match(value))


def local_path(location: str) -> Path | None:
    """Return the absolute local path a location names, or None for a remote URL.

    Accepts plain paths (``~`` expanded, relative ones taken from the working
    directory; symlinks kept), and ``file://`` / ``git+file://`` URLs with
    percent-encoded or literal spaces and non-ASCII characters.
    """
    value = location.strip()
    if match := _FILE_URL_RE.match(value):
        rest = value[match.end() :]
        host = ""
        if rest.startswith("//"):
            host, _, path = rest[2:].partition("/")
            rest = f"/{path}"
        if host.lower() not in {"", "localhost"}:
            raise TemplateSourceError(
                f"{location} names a file on another host ({host}).",
                hint="Use a path on this machine, or a git URL (https:// or ssh) of the template.",
            )
        # Like git, no query or fragment: a literal "?" or "#" is part of the path.
        return Path(unquote(rest)).absolute()
    if is_url(value):
        return None
    return Path(value).expanduser().absolute()


def normalize_location(location: str) -> str:
    """Return the form Copier should use and record: an absolute path, or the URL as given."""
    path = local_path(location)
    return location.strip() if path is None else str(path)


def copier_reads(recorded: str) -> bool:
    """Whether Copier can update from a recorded ``_src_path`` as it is written.

    Copier resolves absolute paths and git URLs (``git+file://`` included), but not a
    relative path nor a bare ``file://`` URL.
    """
    if _FILE_URL_RE.match(recorded):
        return recorded.lower().startswith("git+")
    return is_url(recorded) or Path(recorded).expanduser().is_absolute()


def git_available(env: Mapping[str, str] | None = None) -> bool:
    """Whether a ``git`` executable is on ``PATH`` (of ``env`` when given)."""
    path = (os.environ if env is None else env).get("PATH", os.defpath)
    return shutil.which("git", path=path) is not None


def is_git_template(path: Path) -> bool:
    """Whether ``path`` is the root of a git repository (Copier then reads its versions)."""
    # .git may be a file (worktrees, submodules), hence exists() not is_dir().
    return (path / ".git").exists()


def _checkout_root() -> Path | None:
    """Return the repository root when svcforge runs from a git checkout."""
    root = Path(__file__).resolve().parents[2]
    if (root / "copier.yml").is_file() and is_git_template(root):
        return root
    return None


def _bundled_root() -> Path:
    """Return the template directory shipped inside the wheel."""
    return Path(__file__).resolve().parent / "_template"


def catalogue_root(env: Mapping[str, str] | None = None) -> Path:
    """Return the local template folder whose ``copier.yml`` lists the options.

    ``$SVCFORGE_TEMPLATE`` when it names a local template, else this checkout, else the
    template bundled in the wheel (a remote template is read from its bundled copy).
    """
    override = (os.environ if env is None else env).get(TEMPLATE_ENV)
    if override:
        path = local_path(override)
        if path is not None and (path / "copier.yml").is_file():
            return path
    return _checkout_root() or _bundled_root()


def resolve_template_source(env: Mapping[str, str] | None = None) -> TemplateSource:
    """Find the template to render.

    Order: ``$SVCFORGE_TEMPLATE`` (path, ``file://``/``git+file://`` URL or git URL) at
    ``$SVCFORGE_TEMPLATE_REF`` or its newest release, then the git checkout this code
    runs from (rendered at ``HEAD`` so template and CLI code match), then the copy
    bundled in the wheel. Releases count whether the repository has their tags or only
    lists them in ``releases.yml``.
    """
    environ = os.environ if env is None else env
    override = environ.get(TEMPLATE_ENV, "").strip()
    ref = environ.get(TEMPLATE_REF_ENV, "").strip() or None
    has_git = git_available(environ)
    if override:
        return _from_override(override, ref, has_git=has_git)

    checkout = _checkout_root()
    if checkout is not None:
        # HEAD, not the newest release: the template must match the code being run.
        warning = None if has_git else _no_git_warning(checkout)
        return TemplateSource(str(checkout), "HEAD", SourceKind.CHECKOUT, warning)

    bundled = _bundled_root()
    if not (bundled / "copier.yml").is_file():
        raise TemplateError(
            f"The bundled template is missing ({bundled}).",
            hint=f"Reinstall svcforge or set {TEMPLATE_ENV} to a clone of the svcforge repository.",
        )
    return TemplateSource(str(bundled), None, SourceKind.BUNDLED, _not_git_warning(bundled))


def _from_override(override: str, ref: str | None, *, has_git: bool) -> TemplateSource:
    path = local_path(override)
    if path is None:
        if not has_git:
            raise TemplateError(
                f"{TEMPLATE_ENV} is the git URL {override}, but git is not installed.",
                hint=f"Install git, or set {TEMPLATE_ENV} to a local copy of the template.",
            )
        return TemplateSource(override, _release_ref(override, ref), SourceKind.ENV)
    if not path.is_dir():
        raise TemplateError(
            f"{TEMPLATE_ENV} points to {path}, which is not a directory.",
            hint=f"Set {TEMPLATE_ENV} to a clone of the svcforge repository or a git URL.",
        )
    location = str(path)
    if not is_git_template(path):
        return TemplateSource(location, ref, SourceKind.ENV, _not_git_warning(path))
    if not has_git:
        return TemplateSource(location, ref, SourceKind.ENV, _no_git_warning(path))
    return TemplateSource(location, _release_ref(location, ref), SourceKind.ENV)


def _release_ref(location: str, ref: str | None) -> str:
    """Return the ref to render: ``ref`` (a release or any git ref), else the newest release."""
    if ref is not None:
        return copier_ref(location, ref)
    available = releases(location)
    # No release at all: HEAD, which is also what Copier falls back to.
    return available[-1].ref if available else "HEAD"


def _not_git_warning(path: Path) -> str:
    return (
        f"The template at {path} is not a git repository, so projects generated from it "
        "record no template version (`_commit`) and cannot be updated later. For an "
        f"updatable project, set {TEMPLATE_ENV} to a git clone (absolute path) or git URL "
        "of the svcforge template."
    )


def _no_git_warning(path: Path) -> str:
    return (
        f"git is not installed, so Copier cannot read the version of the template at {path}: "
        "the project will record no template version (`_commit`) and cannot be updated "
        "later with `svcforge update` or `copier update`. Install git and generate it "
        "again for an updatable project."
    )


def set_recorded(answers_path: Path, key: str, value: str) -> None:
    """Set ``key`` (``_commit``, ``_src_path``...) in a Copier answers file, keeping the rest.

    The entry is replaced in place (added at the end if missing), so the file keeps
    Copier's layout and comments. A long value Copier folded over several lines is
    replaced whole; the new one is written on a single line.
    """
    line = yaml.safe_dump({key: value}, width=float("inf"), allow_unicode=True)
    replaced: list[str] = []
    found = in_entry = False
    for existing in answers_path.read_text(encoding="utf-8").splitlines(keepends=True):
        if in_entry and existing[:1] in {" ", "\t"}:
            continue  # continuation of the folded value being replaced
        in_entry = existing.startswith(f"{key}:")
        found = found or in_entry
        replaced.append(line if in_entry else existing)
    if not found:
        if replaced and not replaced[-1].endswith("\n"):
            replaced[-1] += "\n"
        replaced.append(line)
    answers_path.write_text("".join(replaced), encoding="utf-8")


def record_template_version(project: Path, source: TemplateSource | str) -> str | None:
    """Complete the template version Copier recorded in ``project``; return what was set.

    In a clone without release tags, Copier records ``_commit`` as a bare commit id,
    which says nothing about the version. It becomes ``vX.Y.Z-N-g<commit>`` (``git
    describe --long`` with the release it descends from, found in ``releases.yml``),
    which git resolves with or without the tags. A project rendered from the
    template bundled in the wheel (no git, no ``_commit``) records the svcforge version
    instead, so a later update can say exactly which release it started from.
    """
    location = source if isinstance(source, str) else source.location
    answers_path = project / ANSWERS_FILE
    answers: dict[str, Any] = read_answers(project)
    commit = answers.get("_commit")
    if commit is None:
        if isinstance(source, TemplateSource) and source.kind is SourceKind.BUNDLED:
            set_recorded(answers_path, BUNDLED_VERSION_KEY, __version__)
            return __version__
        return None
    path = local_path(location)
    if parse_ref(str(commit)) is not None or not git_available():
        return None
    if path is not None and not is_git_template(path):
        return None
    described = describe(location, str(commit))
    if described is not None:
        set_recorded(answers_path, "_commit", described)
    return described


def update_location(recorded: str | None, override: str | None) -> tuple[str, bool]:
    """Return the template location an update uses, and whether the project must record it.

    ``override`` (``$SVCFORGE_TEMPLATE``) wins over ``recorded`` (``_src_path``). Every
    local form (path, ``file://``, ``git+file://``) becomes an absolute path, which must
    be a git repository. The location is recorded in the project when it comes from the
    override and differs, or when Copier cannot read the recorded form (a bare
    ``file://`` URL); a ``git+file://`` URL Copier reads is left as the project wrote it.
    """
    override = (override or "").strip() or None
    value = override or recorded
    origin = f"${TEMPLATE_ENV}" if override else f"_src_path in {ANSWERS_FILE}"
    if not value:
        raise TemplateSourceError(f"{ANSWERS_FILE} records no template source.", hint=_SOURCE_HINT)
    if override is None and not _FILE_URL_RE.match(value) and not copier_reads(value):
        raise TemplateSourceError(
            f"The template source {value!r} ({origin}) is a relative path, which Copier "
            "cannot resolve from the project.",
            hint=_SOURCE_HINT,
        )
    path = local_path(value)
    if path is not None:
        if not path.is_dir():
            raise TemplateSourceError(
                f"The template source {path} ({origin}) does not exist.", hint=_SOURCE_HINT
            )
        if not is_git_template(path):
            raise TemplateSourceError(
                f"The template source {path} ({origin}) is not a git repository, so it has "
                "no versions to update to.",
                hint=_SOURCE_HINT,
            )
    location = value if path is None else str(path)
    must_record = location != recorded and (override is not None or not copier_reads(value))
    return location, must_record


_SOURCE_HINT = (
    f"Set {TEMPLATE_ENV} to a git clone (absolute path, file:// or git+file:// URL) or git "
    "URL of the svcforge template and run the update again; it is then recorded as the "
    "project's template source."
)


def unversioned_error(
    project: Path, answers: Mapping[str, Any], *, source_usable: bool
) -> MissingTemplateVersionError:
    """Build the error for a project without a template version, saying exactly what to set.

    ``source_usable`` tells whether the template source (recorded or overridden) is a
    git repository updates can use; if not, the hint also asks for one.
    """
    src_path = answers.get("_src_path")
    bundled = answers.get(BUNDLED_VERSION_KEY)
    if bundled:
        origin = (
            f"It was generated by svcforge {bundled} from the template bundled in its wheel "
            f"({src_path}), which is not a git repository."
        )
        commit_line = f"`_commit: v{bundled}` (the template release svcforge {bundled} bundles)"
    else:
        origin = (
            f"It was generated from {src_path or 'an unknown template'} without git "
            "(git was missing, or the template was not a git repository)."
        )
        commit_line = "`_commit: vX.Y.Z`, the template release it was generated from"
    source_line = (
        ""
        if source_usable
        else f", and set {TEMPLATE_ENV} to a git clone (absolute path) or git URL of the "
        "svcforge template"
    )
    return MissingTemplateVersionError(
        f"{project} records no template version (`_commit` in {ANSWERS_FILE}), the base "
        f"a 3-way update merges from. {origin}",
        hint=f"Set {commit_line} in {project / ANSWERS_FILE} and commit it{source_line}; "
        "then run the same command again.",
    )
