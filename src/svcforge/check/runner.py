"""Run commands in the checked project's own environment, bounded in time, read-only.

``svcforge check --run`` runs the project's tests, linters and contracts with the
project's own locked tools: from its ``.venv`` when there is one, else through
``uv run --frozen`` into an environment kept in the user's cache (never a ``.venv`` in
the repository). Every tool is told to keep its caches and reports out of the checked
repository: no bytecode, no ``.pytest_cache``, ``.mypy_cache``, ``.ruff_cache``,
``.hypothesis``, import-linter cache or ``.coverage`` file is written below the root.

Children run through :func:`svcforge.interrupts.run_process`: in their own process
group, killed with it on a timeout or a Ctrl-C.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from svcforge.interrupts import run_process

#: How much of a command's output a result keeps (its end, where the verdict is).
OUTPUT_TAIL_CHARS = 4000

#: Variables of svcforge's own process that must not reach the project's tools: its
#: virtualenv, an outer pytest or coverage run, a uv environment override.
_LEAKY_PREFIXES = (
    "VIRTUAL_ENV",
    "PYTEST_",
    "COV_CORE_",
    "COVERAGE_",
    "UV_PROJECT_ENVIRONMENT",
    "PYTHONHOME",
    "PYTHONPATH",
    "MYPY_CACHE_DIR",
    "CONDA_PREFIX",
)

#: What uv answers when the program to run is not installed in the environment.
_UV_SPAWN_FAILED = "Failed to spawn"


@dataclass(frozen=True)
class CommandResult:
    """What one command did: exit code (``None`` when it never ran or was killed), output."""

    argv: tuple[str, ...]
    returncode: int | None
    #: The end of stdout followed by the end of stderr (a few KB).
    output: str
    timed_out: bool
    #: The program (or uv, or the project's environment) does not exist.
    missing: bool

    @property
    def ok(self) -> bool:
        """Whether it ran to its end and exited 0."""
        return self.returncode == 0 and not self.timed_out and not self.missing

    @property
    def command(self) -> str:
        """The command line, quoted as a shell would need it."""
        return shlex.join(self.argv)


def user_cache_dir() -> Path:
    """Find the user's cache folder (``$XDG_CACHE_HOME``, else ``~/.cache`` on Linux)."""
    return Path(platformdirs.user_cache_dir(appauthor=False))


class Runner:
    """Runs the checked project's tools in its own environment, each within ``timeout`` s.

    Holds a private scratch directory (caches, coverage data, reports) for as long as
    it lives; :meth:`close` (or leaving a ``with`` block) removes it.
    """

    def __init__(self, root: Path, *, timeout: float) -> None:
        self.root = root.resolve()
        self.timeout = timeout
        #: Where tools may write (their caches, coverage data, reports): never the repo.
        self.scratch = Path(tempfile.mkdtemp(prefix="svcforge-check-"))
        self._cleanup = weakref.finalize(self, shutil.rmtree, self.scratch, ignore_errors=True)

    def __enter__(self) -> Runner:
        """Use the runner in a ``with`` block that removes its scratch directory."""
        return self

    def __exit__(self, *_: object) -> None:
        """Remove the scratch directory."""
        self.close()

    def close(self) -> None:
        """Remove the scratch directory (tools' caches and reports)."""
        self._cleanup()

    # -- the project's environment ----------------------------------------------------

    @property
    def venv(self) -> Path | None:
        """The project's own ``.venv`` folder of executables, when there is one."""
        for folder in ("bin", "Scripts"):
            candidate = self.root / ".venv" / folder
            if candidate.is_dir():
                return candidate
        return None

    @property
    def cached_environment(self) -> Path:
        """Where ``uv run`` builds the environment of a project without ``.venv``.

        Keyed by the repository's path, so two checkouts never share one, and outside
        the repository, so the check leaves no ``.venv`` behind in it.
        """
        key = hashlib.sha256(str(self.root).encode("utf-8", "surrogateescape")).hexdigest()[:16]
        return user_cache_dir() / "svcforge" / "check-environments" / f"{self.root.name}-{key}"

    def environment(self) -> dict[str, str]:
        """Build the variables of every command: the user's, minus leaks, plus no-write ones."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
        env.update(
            PYTHONDONTWRITEBYTECODE="1",
            COVERAGE_FILE=str(self.scratch / "coverage" / ".coverage"),
            MYPY_CACHE_DIR=str(self.scratch / "mypy-cache"),
            RUFF_NO_CACHE="true",
            RUFF_CACHE_DIR=str(self.scratch / "ruff-cache"),
            # Hypothesis (schemathesis) keeps examples and source constants in ./.hypothesis
            # even with its example database switched off.
            HYPOTHESIS_STORAGE_DIRECTORY=str(self.scratch / "hypothesis"),
            NO_COLOR="1",
        )
        env.pop("FORCE_COLOR", None)
        (self.scratch / "coverage").mkdir(exist_ok=True)
        venv = self.venv
        if venv is not None:
            env["VIRTUAL_ENV"] = str(venv.parent)
            env["PATH"] = os.pathsep.join([str(venv), env.get("PATH", "")])
        else:
            env["UV_PROJECT_ENVIRONMENT"] = str(self.cached_environment)
        return env

    # -- running ------------------------------------------------------------------------

    def tool(self, name: str, *args: str) -> CommandResult:
        """Run ``name`` (pytest, ruff, mypy, lint-imports...) from the project's environment.

        The tool's own no-write option is added (``-p no:cacheprovider``, ``--no-cache``,
        ``--cache-dir``). Missing: no ``.venv`` and no ``uv.lock`` to build one from, no
        ``uv``, or a tool the environment does not have.
        """
        tool_args = _read_only_arguments(name, list(args), self.scratch)
        venv = self.venv
        if venv is not None:
            executable = next(
                (
                    venv / f"{name}{suffix}"
                    for suffix in ("", ".exe")
                    if (venv / f"{name}{suffix}").exists()
                ),
                None,
            )
            if executable is None:
                return self._missing(
                    (f".venv/{venv.name}/{name}", *tool_args), f"{name} is not installed in .venv"
                )
            shown = f".venv/{venv.name}/{executable.name}"
            return self._run((shown, *tool_args), executable=str(executable))
        if not (self.root / "uv.lock").is_file():
            return self._missing(
                (name, *tool_args),
                "no .venv and no uv.lock: the project's environment cannot be built",
            )
        uv = shutil.which("uv")
        if uv is None:
            return self._missing(("uv", "run", name, *tool_args), "uv is not installed")
        result = self._run(("uv", "run", "--frozen", "--quiet", name, *tool_args), executable=uv)
        if result.returncode not in (0, None) and _UV_SPAWN_FAILED in result.output:
            return CommandResult(result.argv, result.returncode, result.output, False, True)
        return result

    def program(self, program: str, *args: str) -> CommandResult:
        """Run a program that is not the project's (found on PATH, or a path) in the root."""
        found = program if os.sep in program else shutil.which(program)
        if found is None:
            return self._missing((program, *args), f"{program} is not installed")
        return self._run((program, *args), executable=found)

    def _missing(self, argv: Sequence[str], why: str) -> CommandResult:
        return CommandResult(tuple(argv), None, why, timed_out=False, missing=True)

    def _run(self, argv: Sequence[str], *, executable: str | None = None) -> CommandResult:
        shown = tuple(argv)
        actual = [executable or argv[0], *argv[1:]]
        try:
            done = run_process(actual, cwd=self.root, env=self.environment(), timeout=self.timeout)
        except FileNotFoundError as error:
            return self._missing(shown, f"cannot start {argv[0]}: {error.strerror or error}")
        except PermissionError as error:
            return self._missing(shown, f"cannot start {argv[0]}: {error.strerror or error}")
        except subprocess.TimeoutExpired as expired:
            output = _tail(_text(expired.stdout), _text(expired.stderr))
            note = f"killed after {self.timeout:g} s"
            return CommandResult(
                shown, None, f"{output}\n{note}".strip(), timed_out=True, missing=False
            )
        return CommandResult(
            shown, done.returncode, _tail(done.stdout, done.stderr), timed_out=False, missing=False
        )


def svcforge_program(name: str) -> str | None:
    """Find a program installed with svcforge (next to its Python), else one on PATH."""
    for candidate in (
        Path(sys.executable).parent / name,
        Path(sys.executable).parent / f"{name}.exe",
    ):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return shutil.which(name)


def _read_only_arguments(name: str, args: list[str], scratch: Path) -> list[str]:
    """``args`` plus the option that keeps the tool's cache out of the repository."""
    if name in {"pytest", "py.test"}:
        return ["-p", "no:cacheprovider", *args]
    if name == "ruff" and args and args[0] in {"check", "format"}:
        return [args[0], "--no-cache", *args[1:]]
    if name == "mypy":
        return ["--cache-dir", str(scratch / "mypy-cache"), *args]
    if name == "lint-imports":
        return ["--no-cache", *args]
    return args


def _text(value: str | bytes | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _tail(stdout: str, stderr: str) -> str:
    """Keep the ends of both streams, stdout first, within :data:`OUTPUT_TAIL_CHARS`."""
    half = OUTPUT_TAIL_CHARS // 2
    out, err = stdout.rstrip(), stderr.rstrip()
    if len(out) + len(err) <= OUTPUT_TAIL_CHARS:
        return "\n".join(part for part in (out, err) if part)
    if len(err) < half:
        out = out[-(OUTPUT_TAIL_CHARS - len(err)) :]
    elif len(out) < half:
        err = err[-(OUTPUT_TAIL_CHARS - len(out)) :]
    else:
        out, err = out[-half:], err[-half:]
    return "\n".join(part for part in (out, err) if part)
