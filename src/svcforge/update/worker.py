"""Copier's renders and 3-way update for svcforge, without the work Copier would repeat.

Copier's update renders three times: the project's version into an empty scratch folder,
the target version into the project, and the target version again into a second empty
scratch folder (the two scratch renders are the "before" and "after" of the diff it
applies). svcforge has rendered both versions just before (`render_both`, so that bad
arguments fail before any merge), from the same template, refs and answers. A render into
an empty folder depends on nothing but those inputs, so Copier's two scratch renders become
copies of svcforge's: each version is rendered once for the checks, and the target once
more into the project, as many renders as plain ``copier update`` makes.

A scratch render is replaced only when every input that shapes it matches (template, ref,
answers, exclusions) and its folder is empty; anything else renders as Copier would. What
the copy cannot reproduce reaches no file of the svcforge template: the scratch folder's
name (``_folder_name``, which the template only uses to propose a default answer, and every
answer is given by then), Copier's own settings (``_copier_conf``, which only the message
after a copy shows), and ``_commit`` and ``_src_path`` as variables of their own in the
render of the project's version (the template reads ``_copier_answers``, which is the same).

Copier also asks git for ``core.fileMode`` once per rendered file (it fixes executable bits
in the index only when that is false); the worker here asks once per render.

The hooks are a subclass of Copier's worker, which is internal API (written against Copier
9.19). Without that module svcforge renders and updates through Copier's public functions,
with the same result, only slower.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import copier

from svcforge.answers import public_answers

try:
    from copier._main import Worker
except ImportError:  # another Copier layout: no shortcuts, same result
    # mypy sees the class from the installed Copier; None marks the public-API fallback.
    Worker = None  # type: ignore[assignment,misc]

# The value types Copier keeps when it passes the answers to its second render of the target.
_JSON_VALUES = (dict, list, str, int, float, bool, type(None))

_GIT_TIMEOUT_SECONDS = 60


@dataclass(frozen=True)
class ReusableRender:
    """A render svcforge made into an empty folder, and everything that shaped it."""

    root: Path
    #: The template location, exactly as Copier was given it.
    source: str
    #: The ref asked for and Copier's description of the commit it rendered (``_commit``):
    #: Copier names the project's version by the latter.
    refs: frozenset[str]
    #: The answers given and, once defaults were applied, all of them: Copier passes the
    #: recorded answers to its render of the project's version and the complete ones to its
    #: render of the target.
    answers: tuple[dict[str, Any], ...]
    #: Every exclusion pattern the render applied (the template's own included).
    exclusions: frozenset[str]

    def serves(self, worker: Any) -> bool:  # noqa: ANN401 (a Copier worker, internal type)
        """Whether ``worker`` is about to make exactly this render, into an empty folder."""
        return (
            worker.src_path == self.source
            and worker.vcs_ref in self.refs
            and worker.defaults
            and not worker.ask
            and not worker.pretend
            and worker.answers_file is None
            and set(worker.exclude) <= self.exclusions
            and public_answers(worker.data) in self.answers
            and _is_empty_folder(Path(worker.dst_path))
        )


def _is_empty_folder(path: Path) -> bool:
    if not path.exists():
        return True
    return path.is_dir() and not any(path.iterdir())


def reusable_render(
    worker: Any,  # noqa: ANN401 (what `render` returns, an internal Copier type)
    *,
    source: str,
    ref: str,
    commit: str,
    answers: Mapping[str, Any],
    root: Path,
) -> ReusableRender | None:
    """Describe a finished `render` for reuse; None when Copier does not expose its inputs."""
    try:
        complete = {
            key: value
            for key, value in worker.answers.combined.items()
            if not key.startswith("_")
            and key not in worker.answers.hidden
            and isinstance(value, _JSON_VALUES)
        }
        exclusions = frozenset(worker.all_exclusions)
    except AttributeError:  # a Copier without these internals
        return None
    return ReusableRender(
        root=root,
        source=source,
        refs=frozenset({ref, commit}),
        answers=(dict(answers), complete),
        exclusions=exclusions,
    )


#: The renders Copier may copy during the current `update`.
_AVAILABLE: ContextVar[tuple[ReusableRender, ...]] = ContextVar("svcforge_renders", default=())


@contextmanager
def _available(renders: Sequence[ReusableRender]) -> Iterator[None]:
    token = _AVAILABLE.set(tuple(renders))
    try:
        yield
    finally:
        _AVAILABLE.reset(token)


if Worker is not None:

    class _Worker(Worker):
        """Copier's worker, minus the renders and git calls it would repeat."""

        def run_copy(self) -> None:
            """Copy a matching render into the (empty) destination, or render as usual."""
            match = next((render for render in _AVAILABLE.get() if render.serves(self)), None)
            if match is None:
                super().run_copy()
                return
            shutil.copytree(match.root, self.dst_path, symlinks=True, dirs_exist_ok=True)

        @cached_property
        def _index_ignores_file_modes(self) -> bool:
            """Whether git ignores executable bits in the destination (``core.fileMode``)."""
            try:
                proc = subprocess.run(
                    ["git", "config", "--type=bool", "--get", "core.fileMode"],
                    cwd=self.subproject.local_abspath,
                    capture_output=True,
                    text=True,
                    timeout=_GIT_TIMEOUT_SECONDS,
                    check=False,
                )
            except (OSError, subprocess.TimeoutExpired):
                return True  # let Copier find out for itself, file by file
            return proc.returncode == 0 and proc.stdout.strip() == "false"

        def _sync_git_index_executable_bit(self, dst_relpath: Path, src_mode: int) -> None:
            # Copier does nothing here unless core.fileMode is false, which it asks git
            # for each file; the render does not change it, so ask once.
            if self._index_ignores_file_modes:
                super()._sync_git_index_executable_bit(dst_relpath, src_mode)


def render(source: str, dest: Path, *, data: Mapping[str, Any], vcs_ref: str) -> Any:  # noqa: ANN401 - Copier's worker, an internal type
    """``copier.run_copy`` of ``source`` at ``vcs_ref`` into ``dest``, non-interactive.

    Returns Copier's worker, whose answers and template the caller reads.
    """
    options: dict[str, Any] = {
        "data": dict(data),
        "defaults": True,
        "vcs_ref": vcs_ref,
        "quiet": True,
        "unsafe": False,
    }
    if Worker is None:
        return copier.run_copy(source, dest, **options)
    with _Worker(src_path=source, dst_path=dest, **options) as worker:
        worker.run_copy()
    return worker


def update(
    sandbox: Path,
    *,
    data: Mapping[str, Any],
    vcs_ref: str,
    renders: Sequence[ReusableRender | None],
) -> None:
    """``copier.run_update`` of ``sandbox`` to ``vcs_ref``, reusing ``renders`` where they fit.

    Non-interactive, conflicts inline, no tasks (``unsafe=False``), as svcforge updates are.
    """
    options: dict[str, Any] = {
        "data": dict(data),
        "defaults": True,
        "overwrite": True,
        "skip_answered": True,
        "conflict": "inline",
        "vcs_ref": vcs_ref,
        "unsafe": False,
        "quiet": True,
    }
    if Worker is None:
        copier.run_update(sandbox, **options)
        return
    with (
        _available([render for render in renders if render is not None]),
        _Worker(dst_path=sandbox, **options) as worker,
    ):
        worker.run_update()
