"""Render one template version with a set of answers, as Copier would for an update."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from copier.errors import CopierError, DirtyLocalWarning
from packaging.version import Version

from svcforge.answers import ANSWERS_FILE
from svcforge.errors import InvalidAnswerError, TemplateSourceError
from svcforge.update.worker import ReusableRender, render, reusable_render
from svcforge.versions import parse_ref

# Copier's message when a vcs_ref names nothing in the template repository.
_UNKNOWN_REVISION = "Unknown revision"


class UnknownRevision(Exception):  # noqa: N818 (a condition the caller maps to its error)
    """The template repository has no such tag, branch or commit."""


@dataclass(frozen=True)
class Rendering:
    """One template version rendered with one set of answers (in a temporary folder)."""

    #: Copier's description of the rendered commit (``git describe``), as in ``_commit``.
    commit: str
    #: Every rendered file by relative path, the answers file excluded.
    files: dict[str, bytes]
    #: The questions of this template version (copier.yml).
    questions: frozenset[str]
    #: The rendered folder and its inputs, for Copier's update to copy instead of
    #: rendering the same again (`svcforge.update.worker`); None if it cannot tell them.
    reusable: ReusableRender | None = None

    @property
    def version(self) -> Version | None:
        """The version ``commit`` stands for (a commit after a tag is a post-release)."""
        return parse_ref(self.commit)

    @property
    def folders(self) -> set[str]:
        """Every folder that holds a rendered file (``""`` is the project root)."""
        found = {""}
        for path in self.files:
            parts = path.split("/")[:-1]
            found.update("/".join(parts[: depth + 1]) for depth in range(len(parts)))
        return found


def render_version(source: str, ref: str, answers: Mapping[str, Any], dest: Path) -> Rendering:
    """Render ``source`` at ``ref`` into ``dest`` (which must not exist) and read it back.

    Raises `UnknownRevision` when ``ref`` does not exist, `InvalidAnswerError` when an
    answer fails the template's validators or choices.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DirtyLocalWarning)
            worker = render(source, dest, data=answers, vcs_ref=ref)
    except ValueError as error:
        if str(error).startswith(_UNKNOWN_REVISION):
            raise UnknownRevision(ref) from None
        raise InvalidAnswerError(str(error)) from None
    except CopierError as error:
        raise TemplateSourceError(f"Cannot render {source} at {ref}: {error}") from None
    files = {
        path.relative_to(dest).as_posix(): path.read_bytes()
        for path in sorted(dest.rglob("*"))
        if path.is_file() and not path.is_symlink()
    }
    recorded = yaml.safe_load(files.pop(ANSWERS_FILE, b"{}")) or {}
    commit = str(recorded.get("_commit") or ref)
    reusable = reusable_render(
        worker, source=source, ref=ref, commit=commit, answers=answers, root=dest
    )
    return Rendering(commit, files, frozenset(worker.template.questions_data), reusable)
