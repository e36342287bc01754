"""The golden test: a project generated with the default answers passes its own checks.

Everything here runs the generated project's own tools from its own locked virtual
environment, against the real PostgreSQL on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import re
import socket
import subprocess
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.generated.support import GeneratedProject

pytestmark = pytest.mark.slow

ADMIN_PASSWORD = "a long enough admin password"  # noqa: S105 - a throwaway test database


@pytest.fixture(params=["custom_names_project", "longest_names_project"])
def project(request: pytest.FixtureRequest) -> GeneratedProject:
    """Custom names on 3.12, maximal names on 3.13.

    The default answers, and every other combination of options on every Python version,
    go through the same checks in test_matrix.py.
    """
    return request.getfixturevalue(request.param)


def test_ruff_lint_and_format_are_clean(project: GeneratedProject) -> None:
    project.uv_run("ruff", "check", ".")
    project.uv_run("ruff", "format", "--check", ".")


def test_mypy_strict_is_clean(project: GeneratedProject) -> None:
    result = project.uv_run("mypy")
    assert "Success: no issues found" in result.stdout
    pyproject = (project.root / "pyproject.toml").read_text()
    assert "strict = true" in pyproject


def test_layering_contracts_are_kept(project: GeneratedProject) -> None:
    result = project.uv_run("lint-imports")
    assert "0 broken" in result.stdout


def test_own_test_suite_passes_with_the_coverage_gate(project: GeneratedProject) -> None:
    result = project.uv_run("pytest", "--cov", "-q", "-p", "no:cacheprovider")
    total = re.search(r"Total coverage: ([\d.]+)%", result.stdout)
    assert total is not None, result.stdout[-3000:]
    assert float(total.group(1)) >= 80
    assert re.search(r"\b\d+ passed\b", result.stdout)
    assert " failed" not in result.stdout
    print(f"generated coverage ({project.python.name}): {total.group(1)}%")


def test_uv_lock_is_consistent_with_pyproject(project: GeneratedProject) -> None:
    assert (project.root / "uv.lock").is_file()
    project.run("uv", "lock", "--check")


@pytest.mark.parametrize(
    ("module", "bad_import", "reported"),
    [
        # ARCH-2: a lower layer importing a higher one.
        (
            "repository",
            "from example_service.items import router",
            "example_service.items.repository is not allowed to import",
        ),
        # ARCH-3: a service importing the web framework.
        ("service", "import fastapi", "example_service.items.service is not allowed to import"),
    ],
)
def test_breaking_a_contract_fails_lint_imports(
    default_project: GeneratedProject, module: str, bad_import: str, reported: str
) -> None:
    path = default_project.root / "src" / "example_service" / "items" / f"{module}.py"
    original = path.read_text()
    try:
        path.write_text(f"{original}\n{bad_import}  # noqa\n")
        result = default_project.uv_run("lint-imports", check=False)
    finally:
        path.write_text(original)
    assert result.returncode != 0
    assert reported in result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _request(
    port: int,
    path: str,
    *,
    method: str = "GET",
    body: dict[str, object] | None = None,
    headers: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to the service on loopback; returns status, headers, body."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        if form is not None:
            payload = urllib.parse.urlencode(form)
            kind = "application/x-www-form-urlencoded"
        else:
            payload = json.dumps(body) if body is not None else None
            kind = "application/json"
        connection.request(
            method, path, body=payload, headers={"Content-Type": kind, **(headers or {})}
        )
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


@contextmanager
def _served(
    project: GeneratedProject, database: str
) -> Iterator[tuple[int, subprocess.Popen[str]]]:
    port = _free_port()
    server = subprocess.Popen(
        # The venv's uvicorn itself (as in the image), so SIGTERM reaches it directly.
        [
            str(project.root / ".venv" / "bin" / "uvicorn"),
            "example_service.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-access-log",
        ],
        cwd=project.root,
        env={**project.env, "EXAMPLE_SERVICE_DB_NAME": database},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if _request(port, "/health")[0] == 200:
                    break
            except OSError:
                pass
            assert server.poll() is None, server.stdout.read() if server.stdout else ""
            assert time.monotonic() < deadline, "the service did not start within 30 s"
            time.sleep(0.2)
        yield port, server
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)


def test_service_serves_over_http_and_shuts_down_gracefully(
    default_project: GeneratedProject,
) -> None:
    database = default_project.create_database()
    env = {"EXAMPLE_SERVICE_DB_NAME": database}
    try:
        default_project.uv_run("alembic", "upgrade", "head", **env)
        # The first administrator, as the README says (password on stdin, never an argument).
        admin = subprocess.run(
            [
                str(default_project.root / ".venv" / "bin" / "python"),
                "-m",
                "example_service.users.create_admin",
                "--username",
                "admin",
            ],
            cwd=default_project.root,
            env={**default_project.env, **env},
            input=f"{ADMIN_PASSWORD}\n",
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert admin.returncode == 0, admin.stderr
        with _served(default_project, database) as (port, server):
            ready = _request(port, "/ready")
            anonymous = _request(port, "/api/v1/items", method="POST", body={"name": "Widget"})
            signed_in = _request(
                port,
                "/api/v1/auth/token",
                method="POST",
                form={"grant_type": "password", "username": "admin", "password": ADMIN_PASSWORD},
            )
            assert signed_in[0] == 200, signed_in
            bearer = {"Authorization": f"Bearer {json.loads(signed_in[2])['access_token']}"}
            created = _request(
                port, "/api/v1/items", method="POST", body={"name": "Widget"}, headers=bearer
            )
            bad = _request(port, "/api/v1/items", method="POST", body={"name": ""}, headers=bearer)
            server.terminate()
            exit_code = server.wait(timeout=30)
            output = server.stdout.read() if server.stdout else ""
    finally:
        default_project.drop_database(database)

    assert anonymous[0] == 401
    assert anonymous[1]["www-authenticate"].startswith("Bearer")
    assert ready[0] == 200
    assert created[0] == 201, created
    # A relative reference: no Host header value can be reflected into it.
    assert created[1]["location"].startswith("/api/v1/items/")
    assert bad[0] == 422
    assert bad[1]["content-type"] == "application/problem+json"
    # uvicorn re-raises SIGTERM after its graceful shutdown, hence -15; the lifespan's
    # "shutdown" line below proves the pool was closed after in-flight requests ended.
    assert exit_code in {0, -15}
    log_lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    events = {line["event"] for line in log_lines}
    assert {"startup", "request", "shutdown"} <= events
    assert all("request_id" in line for line in log_lines if line["event"] == "request")


def test_python_version_is_followed_everywhere(oldest_python_project: GeneratedProject) -> None:
    root = oldest_python_project.root
    pyproject = (root / "pyproject.toml").read_text()
    assert 'requires-python = ">=3.11"' in pyproject
    assert 'target-version = "py311"' in pyproject
    assert 'python_version = "3.11"' in pyproject
    assert "python:3.11-slim" in (root / "Dockerfile").read_text()
    assert (root / ".python-version").read_text().strip() == "3.11"
