"""Pristine renders kept between runs, so that drift costs no Copier render the second time.

A render into an empty folder depends only on the template commit, the answers, the
destination folder's name and Copier (`svcforge.update.worker` relies on the same fact),
so one entry per combination of those is kept in the user's cache directory
(``platformdirs.user_cache_dir("svcforge")/renders``, i.e. ``$XDG_CACHE_HOME/svcforge``
on Linux), never in the project. Each entry is a single JSON file written beside its
final name and renamed over it: a reader sees a whole entry or none, and two runs that
render the same entry at once both succeed (the last rename wins; both wrote the same).
A damaged or unreadable entry counts as missing; a cache that cannot be written is
skipped without a word: the cache only saves time.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import platformdirs

#: Bump when the entry layout (or what a render contains) changes: old entries are ignored.
CACHE_FORMAT = 1
#: Entries unused for this long are removed when a new entry is written.
_MAX_AGE_SECONDS = 30 * 24 * 3600
#: Leftover temporary files (a run killed while writing) older than this are removed.
_STALE_TEMPORARY_SECONDS = 3600
_SUFFIX = ".json"


@dataclass(frozen=True)
class RenderedFile:
    """One file of a render: its bytes and whether it is executable."""

    data: bytes
    executable: bool = False


@dataclass(frozen=True)
class CachedRender:
    """What drift needs from one render."""

    #: Copier's description of the rendered commit (``_commit`` of the render).
    commit: str
    #: Every rendered file by relative POSIX path, the answers file excluded.
    files: dict[str, RenderedFile]
    #: The template's ``_skip_if_exists`` patterns at that commit.
    skip_if_exists: tuple[str, ...] = ()


def cache_root() -> Path:
    """Return the folder holding cached renders (created on first write, not here)."""
    return Path(platformdirs.user_cache_dir("svcforge", appauthor=False)) / "renders"


def _copier_version() -> str:
    try:
        return version("copier")
    except PackageNotFoundError:
        return "unknown"


def cache_key(location: str, commit_id: str, answers: Mapping[str, Any], folder_name: str) -> str:
    """Return a stable name for the render of ``commit_id`` of ``location`` with ``answers``.

    ``commit_id`` must name an immutable commit (a full or abbreviated id), never a
    branch or a tag that could move.
    """
    inputs = {
        "format": CACHE_FORMAT,
        "copier": _copier_version(),
        "template": location,
        "commit": commit_id,
        "answers": dict(answers),
        "folder": folder_name,
    }
    # default=str: YAML answers may hold dates; their text is what Copier renders anyway.
    encoded = json.dumps(inputs, sort_keys=True, default=str)
    return hashlib.sha256(encoded.encode("ascii")).hexdigest()


def load(key: str, root: Path | None = None) -> CachedRender | None:
    """Return the cached render named ``key``, or None when there is none (or it is unusable)."""
    path = (root or cache_root()) / f"{key}{_SUFFIX}"
    try:
        loaded = json.loads(path.read_bytes())
        if loaded.get("format") != CACHE_FORMAT:
            return None
        files = {
            str(name): RenderedFile(base64.b64decode(entry["data"]), bool(entry["executable"]))
            for name, entry in loaded["files"].items()
        }
        render = CachedRender(
            str(loaded["commit"]), files, tuple(str(p) for p in loaded["skip_if_exists"])
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    # Mark the entry as used, for the pruning of old entries; a read-only cache is fine.
    with contextlib.suppress(OSError):
        os.utime(path)
    return render


def store(key: str, render: CachedRender, root: Path | None = None) -> None:
    """Keep ``render`` under ``key``: written to a temporary file, then renamed into place."""
    folder = root or cache_root()
    document = {
        "format": CACHE_FORMAT,
        "commit": render.commit,
        "skip_if_exists": list(render.skip_if_exists),
        "files": {
            name: {
                "data": base64.b64encode(file.data).decode("ascii"),
                "executable": file.executable,
            }
            for name, file in render.files.items()
        },
    }
    temporary = folder / f".{key}.{secrets.token_hex(6)}.tmp"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # ASCII JSON: names that are not valid UTF-8 (kept as surrogates) survive too.
        temporary.write_text(json.dumps(document), encoding="ascii")
        temporary.replace(folder / f"{key}{_SUFFIX}")
    except OSError:
        return  # no cache this time: the next run renders again
    finally:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
    _prune(folder)


def _prune(folder: Path) -> None:
    """Remove entries nobody used for a month and temporary files of killed runs."""
    now = time.time()
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            limit = _STALE_TEMPORARY_SECONDS if path.name.endswith(".tmp") else _MAX_AGE_SECONDS
            with contextlib.suppress(OSError):
                if now - path.stat().st_mtime > limit:
                    path.unlink()
