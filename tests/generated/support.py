"""Render projects from this checkout and run their own commands in a clean environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import copier

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_DIR = REPO_ROOT / "template"

# Environment variables of the outer test run that must not leak into a generated
# project's own tools (its pytest, its virtual environment, its coverage).
_LEAKY_PREFIXES = ("PYTEST_", "COV_CORE_", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "COVERAGE_")


# Runs with the generated project's own interpreter, which has asyncpg.
_ADMIN_SQL = """
import asyncio, sys, asyncpg

async def main() -> None:
    conn = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        await conn.execute(sys.argv[1])
    finally:
        await conn.close()

asyncio.run(main())
"""


def find_python(version: str) -> Path:
    """Absolute path of a machine interpreter for `version` (uv may not download one)."""
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for candidate in sorted(pyenv_root.glob(f"versions/{version}.*/bin/python{version}")):
        return candidate
    found = shutil.which(f"python{version}")
    if found is None:
        msg = f"no Python {version} interpreter found (pyenv versions or PATH)"
        raise LookupError(msg)
    return Path(found)


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment minus the outer test run's variables, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LEAKY_PREFIXES)}
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env.update(extra)
    return env


def render(dest: Path, data: dict[str, str] | None = None, *, vcs_ref: str = "HEAD") -> Path:
    """Render the template of this checkout (uncommitted changes included) into `dest`."""
    copier.run_copy(
        str(REPO_ROOT),
        str(dest),
        data=data or {},
        defaults=True,
        unsafe=False,
        vcs_ref=vcs_ref,
        quiet=True,
    )
    return dest


@dataclass
class GeneratedProject:
    """A rendered project with its own virtual environment."""

    root: Path
    python: Path
    package: str
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.env = clean_env(UV_PYTHON=str(self.python), **self.env)

    def run(
        self, *args: str, check: bool = True, timeout: float = 600, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the project; on failure the assertion shows its output."""
        result = subprocess.run(
            args,
            cwd=self.root,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check:
            assert result.returncode == 0, (
                f"{' '.join(args)} exited {result.returncode}\n"
                f"--- stdout ---\n{result.stdout[-6000:]}\n--- stderr ---\n{result.stderr[-6000:]}"
            )
        return result

    def uv_run(
        self, *args: str, check: bool = True, timeout: float = 600, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a tool from the project's locked environment."""
        return self.run("uv", "run", "--frozen", *args, check=check, timeout=timeout, **env)

    def sync(self) -> None:
        """Lock (when no lock exists yet) and install the project with its dev tools."""
        self.run("uv", "sync", "--python", str(self.python))

    def admin_sql(self, statement: str) -> None:
        """Run one statement on the local PostgreSQL's maintenance database."""
        self.uv_run("python", "-c", _ADMIN_SQL, statement)

    def create_database(self) -> str:
        """Create an empty database on the local PostgreSQL; returns its name."""
        name = f"{self.package}_golden_{uuid.uuid4().hex[:10]}"
        self.admin_sql(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database made by `create_database`."""
        self.admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def files(self) -> list[Path]:
        """Every generated file (outside the virtual environment and caches)."""
        # Tool caches, the environment and test-run artifacts are not generated files.
        skip = {
            ".venv",
            ".git",
            ".mypy_cache",
            ".ruff_cache",
            ".pytest_cache",
            ".hypothesis",
            "__pycache__",
        }
        artifacts = {".coverage", "coverage.xml"}
        return [
            path
            for path in self.root.rglob("*")
            if path.is_file()
            and path.name not in artifacts
            and not skip.intersection(path.relative_to(self.root).parts)
        ]
