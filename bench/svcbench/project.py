"""The generated projects the serving and test-suite benchmarks run against."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from svcbench.procs import StepError, run

GENERATE_TIMEOUT_SECONDS = 600.0
SYNC_TIMEOUT_SECONDS = 600.0
PROBE_TIMEOUT_SECONDS = 120.0

#: Prints facts about the generated app as JSON; runs in the project's own virtualenv.
_PROBE = """
import importlib.metadata, json, sys
from example_service.core.settings import Settings
from example_service.main import create_app
app = create_app(Settings())
packages = ["fastapi", "starlette", "uvicorn", "pydantic", "sqlalchemy", "asyncpg",
            "structlog", "uvloop", "httptools"]
print(json.dumps({
    "python": sys.version.split()[0],
    "middleware": [entry.cls.__name__ for entry in app.user_middleware],
    "env_prefix": Settings.model_config.get("env_prefix", ""),
    "versions": {name: importlib.metadata.version(name) for name in packages},
}))
"""


@dataclass(frozen=True)
class Project:
    """A generated, installed project."""

    root: Path
    package: str
    python: Path
    #: uvicorn arguments exactly as the generated Dockerfile's CMD has them.
    serve_args: list[str]
    #: Middleware classes in the order ``app.user_middleware`` lists them (outermost first).
    middleware: list[str]
    #: Prefix of the service's settings variables, e.g. ``EXAMPLE_SERVICE_``.
    env_prefix: str
    python_version: str
    versions: dict[str, str]
    #: The answers recorded in ``.copier-answers.yml`` (top-level scalars, as text).
    answers: dict[str, str]

    @property
    def auth(self) -> str:
        """The ``auth`` answer; a project generated before the option existed has none."""
        return self.answers.get("auth", "none")

    @property
    def rate_limiting(self) -> bool:
        """The ``rate_limiting`` answer; a project from before the option has no limits."""
        return self.answers.get("rate_limiting", "false") == "true"

    @property
    def metrics(self) -> bool:
        """The ``metrics`` answer; a project from before the option has no metrics."""
        return self.answers.get("metrics", "false") == "true"

    @property
    def tracing(self) -> bool:
        """The ``tracing`` answer (the tracing code; a setting switches it on)."""
        return self.answers.get("tracing", "false") == "true"

    @property
    def cache(self) -> bool:
        """The ``cache`` answer: item reads by id go through Redis (cache-aside)."""
        return self.answers.get("cache", "false") == "true"

    @property
    def background_jobs(self) -> str:
        """The ``background_jobs`` answer, e.g. ``taskiq``; ``none`` before the option."""
        return self.answers.get("background_jobs", "none")


def create_project(
    svcforge: Path, dest: Path, env: dict[str, str], data: Mapping[str, str] | None = None
) -> Project:
    """Generate a project (with ``uv lock``) and install it with ``uv sync``.

    The default answers, except those in ``data`` (each passed as ``--data KEY=VALUE``).
    """
    answer_args = [
        arg for key, value in (data or {}).items() for arg in ("--data", f"{key}={value}")
    ]
    run(
        [str(svcforge), "new", str(dest), "--defaults", "--no-git", *answer_args],
        timeout=GENERATE_TIMEOUT_SECONDS,
        env=env,
    )
    run(["uv", "sync", "--locked"], cwd=dest, env=env, timeout=SYNC_TIMEOUT_SECONDS)
    answers = read_answers(dest / ".copier-answers.yml")
    package = answers.get("package_name", "")
    if not package.isidentifier():
        raise StepError("no package_name in the generated .copier-answers.yml")
    python = dest / ".venv" / "bin" / "python"
    probe = _PROBE.replace("example_service", package)
    facts = json.loads(run([str(python), "-c", probe], cwd=dest, env=env, timeout=120).strip())
    return Project(
        root=dest,
        package=package,
        python=python,
        serve_args=shipped_uvicorn_args(dest / "Dockerfile"),
        middleware=facts["middleware"],
        env_prefix=facts["env_prefix"],
        python_version=facts["python"],
        versions=facts["versions"],
        answers=answers,
    )


def read_answers(path: Path) -> dict[str, str]:
    """Read the top-level ``key: value`` lines Copier writes, quotes removed.

    The file is flat YAML with scalar values; the benchmark needs no YAML parser for it.
    """
    answers = {}
    for key, value in re.findall(r"^(\w+): ?(.*)$", path.read_text(), re.MULTILINE):
        text = value.strip()
        if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
            text = text[1:-1]
        answers[key] = text
    return answers


def shipped_uvicorn_args(dockerfile: Path) -> list[str]:
    """Return the uvicorn arguments of the Dockerfile's exec-form CMD, without host and port.

    Serving "as shipped" means with the production command line (e.g. its
    ``--no-access-log``: the service writes its own access log), so it is read from the
    generated Dockerfile instead of being copied here and drifting.
    """
    commands = re.findall(r"^CMD (\[.*\])\s*$", dockerfile.read_text(), re.MULTILINE)
    if not commands:
        raise StepError(f"no exec-form CMD in {dockerfile}")
    argv: list[str] = json.loads(commands[-1])
    if argv[0] != "uvicorn":
        raise StepError(f"the Dockerfile's CMD does not run uvicorn: {argv}")
    args: list[str] = []
    rest = iter(argv[1:])
    for arg in rest:
        if arg in {"--host", "--port"}:
            next(rest, None)
        else:
            args.append(arg)
    return args
