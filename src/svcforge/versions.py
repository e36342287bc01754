"""Template versions: PEP 440 release tags ``vX.Y.Z`` of the template repository."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from svcforge.errors import TemplateSourceError

LS_REMOTE_TIMEOUT_SECONDS = 60

# `git describe` style refs Copier records for commits after a tag: v1.2.0-3-gabc1234.
_DESCRIBE = re.compile(r"^(?P<tag>.+)-(?P<distance>\d+)-g(?P<sha>[0-9a-f]+)$")


@dataclass(frozen=True, order=True)
class Release:
    """One released template version and its tag."""

    version: Version
    tag: str


def parse_ref(ref: str | None) -> Version | None:
    """Return the version a recorded ``_commit`` or a ``--to`` value stands for, if any.

    ``v1.2.0`` is 1.2.0; ``v1.2.0-3-gabc`` (3 commits after the tag) is treated as
    1.2.0.post3, newer than 1.2.0 and older than any later release; a bare commit or
    branch name has no version (None).
    """
    if not ref:
        return None
    match = _DESCRIBE.match(ref)
    tag, distance = (match["tag"], int(match["distance"])) if match else (ref, 0)
    try:
        version = Version(tag)
    except InvalidVersion:
        return None
    return Version(f"{version.base_version}.post{distance}") if distance else version


def releases(source: str) -> list[Release]:
    """Every final (non pre-release) version tag of the template source, oldest first."""
    try:
        proc = subprocess.run(
            ["git", "ls-remote", "--tags", "--refs", source],
            capture_output=True,
            text=True,
            timeout=LS_REMOTE_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise TemplateSourceError(f"Listing the versions of {source} timed out.") from None
    if proc.returncode != 0:
        raise TemplateSourceError(
            f"Cannot read the versions of the template at {source}: {proc.stderr.strip()}"
        )
    found = []
    for line in proc.stdout.splitlines():
        tag = line.rpartition("refs/tags/")[2]
        version = parse_ref(tag)
        if version is not None and not version.is_prerelease and not version.is_postrelease:
            found.append(Release(version, tag))
    return sorted(found)
