"""Template versions: the releases of a template repository, whether or not it has their tags.

A release is a PEP 440 version ``X.Y.Z``, tagged ``vX.Y.Z`` and listed with its commit in
the repository's ``releases.yml``. Clones often lack the tags (a repository published
without them, ``git clone --no-tags``, mirrors that copy branches only), so the releases
are the union of both sources, the tag winning when both name a version.

A release without its tag is handed to Copier as ``vX.Y.Z-0-g<commit>``: the
``git describe --long`` form, which git resolves to the commit with or without the tag
and which still reads as version X.Y.Z. ``_commit`` is recorded in that form too, so a
project generated from a clone without tags updates from any clone, tagged or not, with
svcforge or with plain ``copier update``.
"""

from __future__ import annotations

import atexit
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from packaging.version import InvalidVersion, Version

from svcforge.errors import TemplateSourceError, ToolError

#: File of the template repository that lists its releases and their commits.
RELEASES_FILE = "releases.yml"
#: Listing tags or cloning may reach a remote; never hang forever on it.
GIT_TIMEOUT_SECONDS = 120
#: Commit id length used in refs svcforge builds (unambiguous in any real repository).
ABBREV_LENGTH = 12

# `git describe` style refs Copier records for commits after a tag: v1.2.0-3-gabc1234.
_DESCRIBE = re.compile(r"^(?P<tag>.+)-(?P<distance>\d+)-g(?P<sha>[0-9a-f]{4,64})$")
_HEX = re.compile(r"^[0-9a-f]{7,64}$")
# Copier's shortcuts for hosted repositories (see copier's vcs.get_repo).
_SHORTCUTS = {"gh:": "https://github.com/", "gl:": "https://gitlab.com/"}


@dataclass(frozen=True, order=True)
class Release:
    """One released template version."""

    version: Version
    #: The release's tag name, ``vX.Y.Z``, whether or not the repository has the tag.
    tag: str
    #: What git and Copier check out: the tag if it exists, else ``vX.Y.Z-0-g<commit>``.
    ref: str = field(compare=False)
    #: The release commit (full id), when known.
    commit: str | None = field(default=None, compare=False)


def parse_ref(ref: str | None) -> Version | None:
    """Return the version a recorded ``_commit`` or a ``--to`` value stands for, if any.

    ``v1.2.0`` is 1.2.0; ``v1.2.0-3-gabc`` (3 commits after the tag) is treated as
    1.2.0.post3, newer than 1.2.0 and older than any later release; a bare commit or
    branch name has no version (None), even an abbreviated commit id made only of digits.
    """
    if not ref or _HEX.match(ref):
        return None
    match = _DESCRIBE.match(ref)
    tag, distance = (match["tag"], int(match["distance"])) if match else (ref, 0)
    try:
        version = Version(tag)
    except InvalidVersion:
        return None
    return Version(f"{version.base_version}.post{distance}") if distance else version


def git_url(location: str) -> str:
    """Return ``location`` in a form git itself accepts (Copier's ``git+`` and ``gh:`` dropped)."""
    for shortcut, prefix in _SHORTCUTS.items():
        if location.startswith(shortcut):
            path = location.removeprefix(shortcut).lstrip("/")
            return prefix + (path if path.endswith(".git") else f"{path}.git")
    return location.removeprefix("git+")


def _is_remote(location: str) -> bool:
    return not Path(location).is_absolute()


def local_commit_id(location: str, ref: str) -> str | None:
    """Return the full commit id ``ref`` names in the local repository ``location``.

    ``None`` when there is no such commit, or git cannot tell (missing, too slow). The ref
    goes to git on stdin, never as an argument, so ``-x`` cannot be read as an option.
    """
    if not ref or re.search(r"[\r\n]", ref):
        return None
    try:
        proc = subprocess.run(
            ["git", "cat-file", "--batch-check=%(objectname)"],
            cwd=location,
            input=f"{ref}^{{commit}}\n",
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    found = proc.stdout.strip()
    return found if proc.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", found) else None


def _git(
    *args: str, cwd: str | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise ToolError(
            "git is not installed; template versions are git commits and tags.",
            hint="Install git, then run the command again.",
        ) from None
    except subprocess.TimeoutExpired:
        raise TemplateSourceError(
            f"`git {args[0]}` on the template did not finish within {GIT_TIMEOUT_SECONDS} s."
        ) from None


def _ls_remote(location: str) -> str:
    """Every ref of the repository at ``location`` (``git ls-remote``), as git lists them."""
    proc = _git("ls-remote", "--", git_url(location))
    if proc.returncode != 0:
        raise TemplateSourceError(
            f"Cannot read the versions of the template at {location}: {proc.stderr.strip()}"
        )
    return proc.stdout


def _tagged(listing: str) -> dict[Version, Release]:
    """Final-version tags in an ``ls-remote`` listing, peeled to their commits."""
    commits: dict[str, str] = {}
    for line in listing.splitlines():
        sha, _, ref = line.partition("\t")
        if not ref.startswith("refs/tags/"):
            continue
        name = ref.removeprefix("refs/tags/")
        # An annotated tag is listed twice; the `^{}` line names its commit.
        peeled = name.removesuffix("^{}")
        if peeled == name:
            commits.setdefault(name, sha)
        else:
            commits[peeled] = sha
    found: dict[Version, Release] = {}
    for tag, sha in sorted(commits.items()):
        version = parse_ref(tag)
        if version is None or version.is_prerelease or version.is_postrelease:
            continue
        found.setdefault(version, Release(version, tag, tag, sha))
    return found


#: Blob-less clones of remote templates, by (URL, its ref listing): one per state of the
#: remote and process, removed when the process exits.
_CLONES: dict[tuple[str, str], str] = {}


def _history(location: str, listing: str) -> str:
    """Return a local git directory holding the history of ``location``.

    A local repository is used in place (read only). A URL is cloned without file
    contents into a temporary directory, once for each state of the remote (``listing``).
    """
    if not _is_remote(location):
        return location
    key = (location, listing)
    if key not in _CLONES:
        tmp = tempfile.TemporaryDirectory(prefix="svcforge-releases-", ignore_cleanup_errors=True)
        atexit.register(tmp.cleanup)
        clone = str(Path(tmp.name, "repo.git"))
        proc = _git(
            "clone", "--quiet", "--bare", "--filter=blob:none", "--", git_url(location), clone
        )
        if proc.returncode != 0:
            tmp.cleanup()
            raise TemplateSourceError(
                f"Cannot clone the template at {location}: {proc.stderr.strip()}"
            )
        _CLONES[key] = clone
    return _CLONES[key]


def _listed(repository: str, location: str) -> list[tuple[Version, str, str]]:
    """(version, tag, full commit) of each release in ``releases.yml`` at ``HEAD``.

    Entries whose commit the repository does not have (a shallow clone) are left out:
    they could not be rendered anyway.
    """
    proc = _git("show", f"HEAD:{RELEASES_FILE}", cwd=repository)
    if proc.returncode != 0:
        return []  # no releases.yml (another template, or an older one): tags only
    try:
        loaded = yaml.safe_load(proc.stdout)
    except yaml.YAMLError as error:
        raise TemplateSourceError(
            f"{RELEASES_FILE} of the template at {location} is not valid YAML: {error}"
        ) from None
    entries = loaded.get("releases") if isinstance(loaded, dict) else None
    if not isinstance(entries, list):
        raise TemplateSourceError(
            f"{RELEASES_FILE} of the template at {location} has no `releases:` list."
        )
    wanted: list[tuple[Version, str, str]] = []
    for entry in entries:
        number = str(entry.get("version", "")) if isinstance(entry, dict) else ""
        commit = str(entry.get("commit", "")) if isinstance(entry, dict) else ""
        version = parse_ref(number)
        if version is None or not _HEX.match(commit):
            raise TemplateSourceError(
                f"{RELEASES_FILE} of the template at {location} has an invalid entry "
                f"{entry!r}: each needs a `version` (X.Y.Z) and a `commit` (hex id)."
            )
        wanted.append((version, f"v{number}", commit))
    # One batch for every commit: `<id>^{commit}` prints the full id, or "... missing".
    batch = _git(
        "cat-file",
        "--batch-check=%(objectname)",
        cwd=repository,
        stdin="".join(f"{commit}^{{commit}}\n" for _, _, commit in wanted),
    )
    if batch.returncode != 0:
        raise TemplateSourceError(
            f"Cannot read the release commits of the template at {location}: {batch.stderr.strip()}"
        )
    resolved = batch.stdout.splitlines()
    return [
        (version, tag, full)
        for (version, tag, _), full in zip(wanted, resolved, strict=True)
        if _HEX.match(full)
    ]


def _releases_in(location: str) -> tuple[str, list[Release]]:
    """Return a local git directory with the history of ``location``, and its releases."""
    listing = _ls_remote(location)
    found = _tagged(listing)
    repository = _history(location, listing)
    for version, tag, commit in _listed(repository, location):
        if version not in found and not version.is_prerelease:
            ref = f"{tag}-0-g{commit[:ABBREV_LENGTH]}"
            found[version] = Release(version, tag, ref, commit)
    return repository, sorted(found.values())


def releases(location: str) -> list[Release]:
    """Every final release of the template at ``location`` (absolute path or URL), oldest first.

    Tags and ``releases.yml`` (at ``HEAD``) both count; a URL is cloned, without file
    contents, to read the list.
    """
    return _releases_in(location)[1]


def copier_ref(location: str, ref: str) -> str:
    """Return a ref git resolves in ``location`` for ``ref`` (a tag, version, or other ref).

    A release named by its tag or version becomes that release's ref (its tag, or
    ``vX.Y.Z-0-g<commit>`` when the tag is missing); anything else is returned as is.
    """
    for release in releases(location):
        if ref in {release.tag, str(release.version), release.ref}:
            return release.ref
    return ref


def describe(location: str, commit: str) -> str | None:
    """``git describe --tags --long`` of ``commit`` with the releases as tags, tags or not.

    Returns ``vX.Y.Z-N-g<commit>`` for the nearest release the commit descends from
    (N commits after it), or None when the repository does not have the commit (a
    dirty-checkout snapshot, another repository) or no release precedes it.
    """
    repository, known = _releases_in(location)
    full = _git("rev-parse", "--verify", "--quiet", f"{commit}^{{commit}}", cwd=repository)
    if full.returncode != 0:
        return None
    target = full.stdout.strip()
    nearest: tuple[int, Release] | None = None
    # Newest first, replaced only by a strictly closer release: like git describe,
    # the fewest commits away wins, the newer release on a tie.
    for release in reversed(known):
        if release.commit is None:
            continue
        ancestor = _git("merge-base", "--is-ancestor", release.commit, target, cwd=repository)
        if ancestor.returncode != 0:
            continue
        counted = _git("rev-list", "--count", f"{release.commit}..{target}", cwd=repository)
        distance = int(counted.stdout.strip())
        if nearest is None or distance < nearest[0]:
            nearest = (distance, release)
    if nearest is None:
        return None
    distance, release = nearest
    abbrev = commit if _HEX.match(commit) else target[:ABBREV_LENGTH]
    return f"{release.tag}-{distance}-g{abbrev}"


@dataclass(frozen=True)
class Base:
    """The template version a project was last rendered from, as git and svcforge need it."""

    #: ``_commit`` in a form git resolves in the template (see :func:`copier_ref`).
    ref: str
    #: Its version (None for a commit no release precedes, or an unknown branch).
    version: Version | None


def base_of(location: str, commit: str) -> Base:
    """Resolve a project's recorded ``_commit`` against the template at ``location``.

    A release tag the template lacks becomes ``vX.Y.Z-0-g<commit>``; a bare commit id
    (recorded by Copier from a clone without tags) gets the version of the release it
    descends from.
    """
    version = parse_ref(commit)
    if version is None and _HEX.match(commit):
        version = parse_ref(describe(location, commit))
    return Base(copier_ref(location, commit), version)
