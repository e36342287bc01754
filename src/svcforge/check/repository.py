"""A read-only view of the repository ``svcforge check`` judges.

Any directory may be checked, not only a project svcforge generated: a Go service, an
empty folder, a tree with symlink loops, binary or huge files, files nobody may read,
Python that does not parse. Every reader here returns ``None`` for what it cannot use
and records why in :attr:`Repository.problems`, so rules answer "unknown" instead of
raising; nothing here ever writes below the root (no caches, no ``__pycache__``).
"""

from __future__ import annotations

import ast
import os
import stat
import tomllib
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

#: Folders that are never the team's source: tools' caches, virtualenvs, VCS data.
SKIPPED_DIRECTORIES = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        ".venv",
        "venv",
        ".tox",
        ".nox",
        "node_modules",
        "__pycache__",
        ".mypy_cache",
        ".ruff_cache",
        ".pytest_cache",
        ".import_linter_cache",
        "build",
        "dist",
        "htmlcov",
    }
)

#: Files above this size are not read: rules look at source and config, not data dumps.
MAX_FILE_BYTES = 2 * 1024 * 1024

#: A walk stops after this many files: a checkout of that size is not a service.
MAX_FILES = 50_000


@dataclass(frozen=True)
class DockerInstruction:
    """One instruction of a Dockerfile, continuation lines joined."""

    keyword: str
    arguments: str
    #: Line (from 1) where the instruction starts.
    line: int
    #: Index of the build stage it belongs to (0 for the first ``FROM``).
    stage: int


@dataclass(frozen=True)
class Dockerfile:
    """A parsed Dockerfile: its instructions in order."""

    path: str
    instructions: tuple[DockerInstruction, ...]

    @property
    def stages(self) -> int:
        """How many ``FROM`` stages it has."""
        return sum(1 for instruction in self.instructions if instruction.keyword == "FROM")

    def final_stage(self) -> tuple[DockerInstruction, ...]:
        """Return the instructions of the last stage (the image that runs)."""
        last = self.stages - 1
        return tuple(item for item in self.instructions if item.stage == last)


class Repository:
    """The files below ``root``, read lazily, parsed once, never written."""

    def __init__(self, root: Path) -> None:
        self.root = root
        #: ``path: what could not be read or parsed`` for everything a reader gave up on.
        self.problems: dict[str, str] = {}
        self._text: dict[str, str | None] = {}
        self._python: dict[str, ast.Module | None] = {}

    # -- the tree ---------------------------------------------------------------------

    @cached_property
    def files(self) -> tuple[str, ...]:
        """Every regular file below the root (relative POSIX paths, sorted).

        Symlinks are listed when they point to a regular file inside the root, and
        never followed into directories, so a symlink loop cannot trap the walk.
        """
        found: list[str] = []
        root = str(self.root)

        def unreadable(error: OSError) -> None:
            where = Path(error.filename or root)
            self.problems[self._relative(where)] = f"cannot list: {error.strerror or error}"

        for directory, subdirectories, names in os.walk(root, onerror=unreadable):
            subdirectories[:] = sorted(
                name
                for name in subdirectories
                if name not in SKIPPED_DIRECTORIES and not name.endswith(".egg-info")
            )
            for name in sorted(names):
                full = Path(directory, name)
                if self._is_regular_inside(full):
                    found.append(self._relative(full))
                    if len(found) >= MAX_FILES:
                        self.problems["."] = f"more than {MAX_FILES} files: only the first read"
                        return tuple(sorted(found))
        return tuple(sorted(found))

    def _is_regular_inside(self, full: Path) -> bool:
        try:
            mode = full.stat().st_mode  # follows a symlink: what would be read
        except OSError:
            return False  # dangling or looping symlink, vanished file
        if not stat.S_ISREG(mode):
            return False
        if full.is_symlink():
            try:
                full.resolve(strict=True).relative_to(self.root.resolve())
            except (OSError, ValueError, RuntimeError):
                return False  # points outside the repository (or loops)
        return True

    def _relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix() or "."
        except ValueError:
            return path.as_posix()

    def exists(self, relative: str) -> bool:
        """Whether ``relative`` is one of :attr:`files`."""
        return relative in self._file_set

    @cached_property
    def _file_set(self) -> frozenset[str]:
        return frozenset(self.files)

    def glob(self, pattern: str) -> list[str]:
        """Return the files matching a ``PurePosixPath.match`` pattern (``**`` not needed)."""
        return [name for name in self.files if PurePosixPath(name).match(pattern)]

    def under(self, directory: str) -> list[str]:
        """Return the files below ``directory`` (relative, no trailing slash)."""
        prefix = directory.rstrip("/") + "/"
        return [name for name in self.files if name.startswith(prefix)]

    @property
    def is_empty(self) -> bool:
        """Whether there is no file at all to judge."""
        return not self.files

    # -- reading ----------------------------------------------------------------------

    def text(self, relative: str) -> str | None:
        """Return the file as UTF-8 text, or ``None`` (missing, binary, huge, unreadable)."""
        if relative in self._text:
            return self._text[relative]
        content = self._read_text(relative)
        self._text[relative] = content
        return content

    def _read_text(self, relative: str) -> str | None:
        if not self.exists(relative):
            return None
        path = self.root / relative
        try:
            if path.stat().st_size > MAX_FILE_BYTES:
                self.problems[relative] = f"larger than {MAX_FILE_BYTES // 1024 // 1024} MiB"
                return None
            raw = path.read_bytes()
        except OSError as error:
            self.problems[relative] = f"cannot read: {error.strerror or error}"
            return None
        if b"\0" in raw:
            self.problems[relative] = "binary"
            return None
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            self.problems[relative] = "not UTF-8 text"
            return None

    def lines(self, relative: str) -> list[str]:
        """Return the file's lines (empty when it cannot be read)."""
        content = self.text(relative)
        return content.splitlines() if content is not None else []

    def toml(self, relative: str) -> dict[str, Any] | None:
        """Return the file parsed as TOML, or ``None``."""
        content = self.text(relative)
        if content is None:
            return None
        try:
            return tomllib.loads(content)
        except tomllib.TOMLDecodeError as error:
            self.problems[relative] = f"invalid TOML: {error}"
            return None

    def yaml(self, relative: str) -> Any:  # noqa: ANN401 - YAML holds any type
        """Return the file parsed as YAML (first document), or ``None``."""
        content = self.text(relative)
        if content is None:
            return None
        try:
            return yaml.safe_load(content)
        except yaml.YAMLError as error:
            self.problems[relative] = f"invalid YAML: {' '.join(str(error).split())}"
            return None

    def python(self, relative: str) -> ast.Module | None:
        """Return the file parsed as Python, or ``None`` (syntax errors recorded, not raised)."""
        if relative in self._python:
            return self._python[relative]
        content = self.text(relative)
        tree: ast.Module | None = None
        if content is not None:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # invalid escapes in the team's code
                    tree = ast.parse(content, filename=relative)
            except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
                where = f" (line {error.lineno})" if isinstance(error, SyntaxError) else ""
                self.problems[relative] = f"invalid Python{where}: {error}"
        self._python[relative] = tree
        return tree

    def python_files(self, *, tests: bool = False) -> list[str]:
        """Return the ``.py`` files, tests (``tests/``, ``test_*.py``) only when asked for."""
        found = []
        for name in self.files:
            if not name.endswith(".py"):
                continue
            is_test = (
                name.startswith("tests/")
                or "/tests/" in name
                or (PurePosixPath(name).name.startswith("test_"))
            )
            if is_test == tests:
                found.append(name)
        return found

    # -- well-known files ---------------------------------------------------------------

    @cached_property
    def pyproject(self) -> dict[str, Any] | None:
        """``pyproject.toml`` parsed, or ``None``."""
        return self.toml("pyproject.toml")

    def tool(self, *keys: str) -> Any:  # noqa: ANN401 - TOML tables hold any type
        """``[tool.<keys...>]`` of ``pyproject.toml``, or ``None`` when any part is missing."""
        node: Any = (self.pyproject or {}).get("tool")
        for key in keys:
            if not isinstance(node, dict):
                return None
            node = node.get(key)
        return node

    @cached_property
    def answers(self) -> dict[str, Any] | None:
        """``.copier-answers.yml`` when the project was generated from a template."""
        loaded = self.yaml(".copier-answers.yml")
        return loaded if isinstance(loaded, dict) else None

    @cached_property
    def dockerfile(self) -> Dockerfile | None:
        """The repository's main ``Dockerfile`` (at the root, else the first found)."""
        candidates = ["Dockerfile"] if self.exists("Dockerfile") else self.glob("Dockerfile")
        for name in candidates:
            content = self.text(name)
            if content is not None:
                return Dockerfile(name, parse_dockerfile(content))
        return None


def parse_dockerfile(content: str) -> tuple[DockerInstruction, ...]:
    """Split a Dockerfile into instructions: comments dropped, continuations joined.

    Heredocs and parser directives beyond the escape character are read as plain
    arguments; what rules look at (``FROM``, ``USER``, ``COPY``, ``RUN``,
    ``HEALTHCHECK``) keeps its keyword and line.
    """
    escape = "\\"
    instructions: list[DockerInstruction] = []
    stage = -1
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(content.splitlines(), start=1):
        line = raw.strip()
        if not pending:
            if line.lower().startswith("# escape="):
                escape = line.split("=", 1)[1].strip()[:1] or escape
                continue
            if not line or line.startswith("#"):
                continue
            start = number
        elif not line or line.startswith("#"):
            continue  # comments and blank lines inside a continued instruction
        if line.endswith(escape):
            pending.append(line[: -len(escape)])
            continue
        pending.append(line)
        stage = _add_instruction(instructions, pending, start, stage)
        pending = []
    if pending:  # a continuation at the very end: what was written still counts
        _add_instruction(instructions, pending, start, stage)
    return tuple(instructions)


def _add_instruction(
    instructions: list[DockerInstruction], parts: list[str], line: int, stage: int
) -> int:
    """Append the instruction written over ``parts``; return the stage index after it."""
    joined = " ".join(part.strip() for part in parts if part.strip())
    keyword, _, arguments = joined.partition(" ")
    keyword = keyword.upper()
    if keyword == "FROM":
        stage += 1
    if keyword:
        instructions.append(DockerInstruction(keyword, arguments.strip(), line, max(stage, 0)))
    return stage
