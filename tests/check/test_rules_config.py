"""The DATA, OPS and DEL rules of ``svcforge check``: generated projects pass, breakage is found.

Each hostile test breaks ONE standard the way a team realistically would, in a private copy
of a generated project, and asserts that exactly that standard fails among these rules,
with evidence pointing at the right file.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from svcforge.check.engine import applicability, static_rules
from svcforge.check.model import Status, Verdict
from svcforge.check.repository import Repository

#: The standards these rules judge.
MINE = (
    *(f"DATA-{number}" for number in range(1, 6)),
    *(f"OPS-{number}" for number in range(1, 8)),
    *(f"DEL-{number}" for number in range(1, 6)),
)


def judge_mine(root: Path, *, every_area: bool = False) -> dict[str, Verdict]:
    """These standards (or all) judged on ``root``, waivers applied as the engine does."""
    repository = Repository(root)
    waived = applicability(repository)
    rules = static_rules()
    verdicts = {}
    for standard_id in rules if every_area else MINE:
        if standard_id in waived:
            verdicts[standard_id] = Verdict(standard_id, Status.NOT_APPLICABLE, "waived")
        else:
            verdicts[standard_id] = rules[standard_id](repository)
    return verdicts


def failing(verdicts: dict[str, Verdict]) -> set[str]:
    """The standards that did not pass (failed or could not be judged)."""
    return {
        standard_id
        for standard_id, verdict in verdicts.items()
        if verdict.status in {Status.FAIL, Status.UNKNOWN}
    }


def copy(source: Path, tmp_path: Path, name: str = "example-service") -> Path:
    """A private copy of a rendered (and locked) project."""
    destination = tmp_path / name
    shutil.copytree(source, destination, symlinks=True)
    return destination


def edit(path: Path, old: str, new: str, *, count: int = 1) -> None:
    """Replace ``old`` (which must be there) by ``new`` in a file of the copy."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, count), encoding="utf-8")


def cut(path: Path, pattern: str) -> None:
    """Remove what the regular expression ``pattern`` (multi-line) matches from a file."""
    text = path.read_text(encoding="utf-8")
    changed, found = re.subn(pattern, "", text, flags=re.MULTILINE | re.DOTALL)
    assert found, f"{pattern!r} not found in {path}"
    path.write_text(changed, encoding="utf-8")


@pytest.fixture
def service(service_copy: Path) -> Path:
    """The default project (locked, as `svcforge new` leaves it), for one test to break."""
    return service_copy


def only_failure(root: Path, standard_id: str) -> Verdict:
    """Assert that exactly ``standard_id`` fails among all standards; return its verdict."""
    verdicts = judge_mine(root, every_area=True)
    assert failing(verdicts) == {standard_id}, {
        key: verdicts[key].summary for key in failing(verdicts)
    }
    verdict = verdicts[standard_id]
    assert verdict.status is Status.FAIL
    assert verdict.remediation
    assert verdict.evidence
    return verdict


def cited(verdict: Verdict) -> set[str]:
    """The files a verdict's evidence points at."""
    return {item.path for item in verdict.evidence if item.path}


# -- generated projects -------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["defaults", "everything on", "everything off"])
def test_generated_project_meets_every_standard(
    rendered_projects: dict[str, Path], tmp_path: Path, which: str
) -> None:
    project = copy(rendered_projects[which], tmp_path)
    verdicts = judge_mine(project)
    assert not failing(verdicts), {key: verdicts[key].summary for key in failing(verdicts)}
    for verdict in verdicts.values():
        if verdict.status is Status.PASS:
            assert verdict.evidence, verdict.standard_id
            assert all(item.path or item.key for item in verdict.evidence)


def test_options_turned_off_make_their_standards_not_applicable(
    rendered_projects: dict[str, Path], tmp_path: Path
) -> None:
    verdicts = judge_mine(copy(rendered_projects["everything off"], tmp_path))
    not_applicable = {
        key for key, value in verdicts.items() if value.status is Status.NOT_APPLICABLE
    }
    assert not_applicable == {"OPS-3", "OPS-4", "DEL-3", "DEL-4"}


# -- DATA ---------------------------------------------------------------------------------------


def test_migration_whose_downgrade_is_pass(service: Path) -> None:
    revision = service / "migrations/versions/0003_idempotency_keys.py"
    cut(revision, r'(?<=def downgrade\(\) -> None:\n    """Revert this revision."""\n).*')
    revision.write_text(revision.read_text(encoding="utf-8") + "    pass\n", encoding="utf-8")
    verdict = only_failure(service, "DATA-1")
    line = revision.read_text(encoding="utf-8").splitlines().index("def downgrade() -> None:") + 1
    assert [(item.path, item.line) for item in verdict.evidence] == [
        ("migrations/versions/0003_idempotency_keys.py", line)
    ]


def test_migration_without_downgrade(service: Path) -> None:
    cut(service / "migrations/versions/0001_create_items.py", r"\n\ndef downgrade\(\).*")
    verdict = only_failure(service, "DATA-1")
    assert cited(verdict) == {"migrations/versions/0001_create_items.py"}


def test_syntax_error_in_a_migration_is_unknown(service: Path) -> None:
    edit(
        service / "migrations/versions/0002_keyset_pagination_indexes.py",
        "def upgrade()",
        "def upgrade(",
    )
    verdicts = judge_mine(service)
    assert failing(verdicts) == {"DATA-1"}
    assert verdicts["DATA-1"].status is Status.UNKNOWN
    assert cited(verdicts["DATA-1"]) == {"migrations/versions/0002_keyset_pagination_indexes.py"}


def test_pool_without_size_or_timeouts(service: Path) -> None:
    database = service / "src/example_service/core/database.py"
    cut(database, r"        pool_size=settings\.db_pool_size,\n")
    cut(database, r"        max_overflow=settings\.db_max_overflow \+ PROBE_CONNECTIONS,\n")
    verdict = only_failure(service, "DATA-2")
    assert "src/example_service/core/database.py" in cited(verdict)
    assert "size" in verdict.summary


def test_lookup_without_an_index(service: Path) -> None:
    # A refresh-token family is looked up (revoked) by family_id: its index dropped.
    edit(
        service / "src/example_service/users/models.py",
        "family_id: Mapped[uuid.UUID] = mapped_column(index=True)",
        "family_id: Mapped[uuid.UUID] = mapped_column()",
    )
    cut(
        service / "migrations/versions/0004_users.py",
        r"    op\.create_index\(\n\s+op\.f\(\"ix_refresh_tokens_family_id\"\).*?\n    \)\n",
    )
    verdict = only_failure(service, "DATA-3")
    assert cited(verdict) == {"src/example_service/users/repository.py"}
    assert "family_id" in verdict.evidence[0].note


def test_query_per_row_in_a_repository(service: Path) -> None:
    repository = service / "src/example_service/users/repository.py"
    repository.write_text(
        repository.read_text(encoding="utf-8")
        + "\n\nclass RoleRepository:\n"
        + '    """Users by role, one query per user (N+1)."""\n\n'
        + "    def __init__(self, session: AsyncSession) -> None:\n"
        + "        self._session = session\n\n"
        + "    async def users(self, ids: list[UUID]) -> list[User | None]:\n"
        + '        """Each user by id."""\n'
        + "        found = []\n"
        + "        for user_id in ids:\n"
        + "            found.append(await self._session.get(User, user_id))\n"
        + "        return found\n",
        encoding="utf-8",
    )
    verdict = only_failure(service, "DATA-3")
    assert "N+1" in verdict.evidence[0].note


def test_no_seeding_script(service: Path) -> None:
    (service / "src/example_service/seed.py").unlink()
    cut(service / "Makefile", r"^seed:.*?\n\n")
    # The layers contract named it too: lint-imports would fail on the missing module.
    layers = '"example_service.main | example_service.seed"'
    edit(service / "pyproject.toml", layers, '"example_service.main"')
    verdict = only_failure(service, "DATA-4")
    assert "seed" in verdict.remediation


def test_repository_that_commits(service: Path) -> None:
    repository = service / "src/example_service/items/repository.py"
    edit(
        repository,
        "        await self._session.delete(item)\n        await self._session.flush()\n",
        "        await self._session.delete(item)\n        await self._session.commit()\n",
    )
    verdict = only_failure(service, "DATA-5")
    line = next(
        number
        for number, text in enumerate(repository.read_text(encoding="utf-8").splitlines(), 1)
        if "self._session.commit()" in text
    )
    assert [(item.path, item.line) for item in verdict.evidence] == [
        ("src/example_service/items/repository.py", line)
    ]


# -- OPS ----------------------------------------------------------------------------------------


def test_no_readiness_endpoint(service: Path) -> None:
    cut(service / "src/example_service/health/router.py", r'\n\n@router\.get\(\n    "/ready",.*')
    verdict = only_failure(service, "OPS-1")
    assert "readiness" in verdict.summary


def test_readiness_that_never_asks_the_database(service: Path) -> None:
    router = service / "src/example_service/health/router.py"
    text = router.read_text(encoding="utf-8")
    head, _, _ = text.partition('@router.get(\n    "/ready"')
    router.write_text(
        head + '@router.get("/ready")\nasync def ready() -> dict[str, str]:\n'
        '    """Always ready."""\n    return {"status": "ok"}\n',
        encoding="utf-8",
    )
    verdict = only_failure(service, "OPS-1")
    assert "never checks the database" in verdict.summary


def test_plain_text_logs(service: Path) -> None:
    logs = service / "src/example_service/core/logs.py"
    text = logs.read_text(encoding="utf-8").replace(
        "structlog.processors.JSONRenderer(serializer=orjson.dumps)",
        "structlog.dev.ConsoleRenderer()",
    )
    logs.write_text(
        text.replace(
            "structlog.processors.JSONRenderer(serializer=_json_text)",
            "structlog.dev.ConsoleRenderer()",
        ),
        encoding="utf-8",
    )
    verdict = only_failure(service, "OPS-2")
    assert "JSON" in verdict.summary


def test_lifespan_that_leaves_the_pool_open(service: Path) -> None:
    cut(service / "src/example_service/main.py", r"^\s+await database\.dispose\(\)\n")
    verdict = only_failure(service, "OPS-5")
    assert "dispose" in verdict.summary


def test_http_client_without_timeout(service: Path) -> None:
    client = service / "src/example_service/core/http_client.py"
    edit(client, "httpx.AsyncClient(timeout=timeout)", "httpx.AsyncClient()")
    verdict = only_failure(service, "OPS-6")
    assert cited(verdict) >= {"src/example_service/core/http_client.py"}
    assert any("without timeout" in item.note for item in verdict.evidence)


def test_settings_without_an_environment(service: Path) -> None:
    settings = service / "src/example_service/core/settings.py"
    cut(settings, r"^    environment: Environment = Environment\.DEV\n")
    cut(settings, r"^class Environment\(StrEnum\):.*?PROD = \"prod\"\n")
    verdict = only_failure(service, "OPS-7")
    assert "environment" in verdict.summary


# -- DEL ----------------------------------------------------------------------------------------


def _dockerfile(service: Path) -> Path:
    return service / "Dockerfile"


def test_dockerfile_without_user_runs_as_root(service: Path) -> None:
    cut(_dockerfile(service), r"^USER 10001:10001\n")
    verdict = only_failure(service, "DEL-1")
    assert "root" in verdict.summary


def test_dockerfile_with_user_root(service: Path) -> None:
    edit(_dockerfile(service), "USER 10001:10001", "USER root")
    verdict = only_failure(service, "DEL-1")
    line = _dockerfile(service).read_text(encoding="utf-8").splitlines().index("USER root") + 1
    assert ("Dockerfile", line) in [(item.path, item.line) for item in verdict.evidence]


def test_dockerfile_without_healthcheck(service: Path) -> None:
    cut(_dockerfile(service), r"^HEALTHCHECK .*?\n(?=CMD)")
    verdict = only_failure(service, "DEL-1")
    assert "HEALTHCHECK" in verdict.summary


def test_single_stage_dockerfile(service: Path) -> None:
    _dockerfile(service).write_text(
        "FROM python:3.13-slim\n"
        "COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv\n"
        "WORKDIR /app\n"
        "COPY pyproject.toml uv.lock README.md ./\n"
        "RUN uv sync --locked --no-dev --no-install-project\n"
        "COPY src ./src\n"
        "RUN uv sync --locked --no-dev\n"
        "USER 10001:10001\n"
        'HEALTHCHECK CMD ["python", "-c", "print(1)"]\n'
        'CMD ["/app/.venv/bin/uvicorn", "example_service.main:create_app", "--factory",'
        ' "--timeout-graceful-shutdown", "20"]\n',
        encoding="utf-8",
    )
    verdict = only_failure(service, "DEL-1")
    assert "single stage" in verdict.summary


def test_dockerfile_from_latest(service: Path) -> None:
    edit(
        _dockerfile(service),
        "ARG PYTHON_IMAGE=python:3.13-slim-trixie",
        "ARG PYTHON_IMAGE=python:latest",
    )
    verdict = only_failure(service, "DEL-1")
    assert any("python:latest" in item.note for item in verdict.evidence)


def test_dockerfile_copying_the_source_before_installing(service: Path) -> None:
    dockerfile = _dockerfile(service)
    text = dockerfile.read_text(encoding="utf-8")
    text = text.replace("WORKDIR /app\n\n", "WORKDIR /app\nCOPY . .\n", 1)
    dockerfile.write_text(text, encoding="utf-8")
    verdict = only_failure(service, "DEL-1")
    assert "before" in verdict.summary


def test_compose_missing_the_database(service: Path) -> None:
    compose = service / "compose.yaml"
    cut(compose, r"^  db:\n.*?(?=^  redis:)")
    cut(compose, r"^      db:\n        condition: service_healthy\n")
    verdict = only_failure(service, "DEL-2")
    assert "PostgreSQL" in verdict.summary


def test_invalid_compose_is_unknown(service: Path) -> None:
    (service / "compose.yaml").write_text("services:\n  app: [unclosed\n", encoding="utf-8")
    verdicts = judge_mine(service)
    assert failing(verdicts) == {"DEL-2"}
    assert verdicts["DEL-2"].status is Status.UNKNOWN
    assert cited(verdicts["DEL-2"]) == {"compose.yaml"}


def test_ci_without_the_test_job(service: Path) -> None:
    cut(service / ".github/workflows/ci.yml", r"^  test:\n.*?(?=^  audit:)")
    verdict = only_failure(service, "DEL-3")
    assert "tests" in verdict.summary
    assert "service containers" in verdict.summary


def test_kubernetes_deployment_without_readiness_probe(
    rendered_projects: dict[str, Path], tmp_path: Path
) -> None:
    project = copy(rendered_projects["everything on"], tmp_path)
    cut(
        project / "deploy/k8s/base/deployment.yaml",
        r"^          readinessProbe:\n.*?(?=^          lifecycle:)",
    )
    verdict = only_failure(project, "DEL-4")
    assert "readiness" in verdict.summary
    assert cited(verdict) == {"deploy/k8s/base/deployment.yaml"}


def test_adr_waiving_kubernetes(rendered_projects: dict[str, Path], tmp_path: Path) -> None:
    project = copy(rendered_projects["everything on"], tmp_path)
    shutil.rmtree(project / "deploy")
    (project / "docs/adr/0099-no-kubernetes.md").write_text(
        "# 99. No Kubernetes\n\nOne VM is enough for this service.\n\nWaives: DEL-4\n",
        encoding="utf-8",
    )
    verdicts = judge_mine(project)
    assert not failing(verdicts)
    assert verdicts["DEL-4"].status is Status.NOT_APPLICABLE


def test_no_lock_file(service: Path) -> None:
    (service / "uv.lock").unlink()
    verdict = only_failure(service, "DEL-5")
    assert "uv lock" in verdict.remediation


def test_dependency_added_without_relocking(service: Path) -> None:
    edit(
        service / "pyproject.toml",
        '    "structlog>=24.4",\n',
        '    "structlog>=24.4",\n    "humanize>=4.9",\n',
    )
    verdict = only_failure(service, "DEL-5")
    assert "humanize" in verdict.summary


# -- any repository -------------------------------------------------------------------------------


def test_non_ascii_names(service: Path, tmp_path: Path) -> None:
    moved = tmp_path / "sérvice-ünïcode"
    shutil.move(service, moved)
    (moved / "src/example_service/données.py").write_text(
        '"""Données."""\n\nÉTAT = "prêt"\n\n\ndef café(façon: str) -> str:\n    """Façon."""\n'
        "    return façon\n",
        encoding="utf-8",
    )
    shutil.move(
        moved / "migrations/versions/0001_create_items.py",
        moved / "migrations/versions/0001_créer_items.py",
    )
    verdicts = judge_mine(moved)
    assert not failing(verdicts), {key: verdicts[key].summary for key in failing(verdicts)}


def test_empty_directory_fails_cleanly(tmp_path: Path) -> None:
    rules = static_rules()
    for standard_id in MINE:
        verdict = rules[standard_id](Repository(tmp_path))
        assert verdict.status is Status.FAIL, standard_id
        assert verdict.remediation, standard_id
        assert verdict.summary.endswith("."), standard_id


def test_non_python_repository_fails_cleanly(tmp_path: Path) -> None:
    (tmp_path / "main.go").write_text("package main\n\nfunc main() {}\n", encoding="utf-8")
    (tmp_path / "go.mod").write_text("module example.com/svc\n\ngo 1.23\n", encoding="utf-8")
    (tmp_path / "Dockerfile").write_text(
        "FROM golang:1.23 AS build\nCOPY . .\nRUN go build -o /svc\n"
        "FROM gcr.io/distroless/static:nonroot\nCOPY --from=build /svc /svc\n"
        'USER nonroot\nHEALTHCHECK CMD ["/svc", "health"]\nENTRYPOINT ["/svc"]\n',
        encoding="utf-8",
    )
    (tmp_path / "compose.yaml").write_text("services:\n  svc:\n    build: .\n", encoding="utf-8")
    verdicts = judge_mine(tmp_path)
    python_specific = {
        "DATA-2",
        "DATA-3",
        "DATA-5",
        "OPS-1",
        "OPS-2",
        "OPS-3",
        "OPS-4",
        "OPS-5",
        "OPS-6",
        "OPS-7",
    }
    for standard_id in python_specific:
        assert verdicts[standard_id].status is Status.FAIL
        assert "No Python source" in verdicts[standard_id].summary
    assert verdicts["DEL-2"].status is Status.PASS  # nothing the code imports is missing
    # The Go build installs no locked Python dependencies before copying its source.
    assert verdicts["DEL-1"].status is Status.FAIL
    assert {verdicts[key].status for key in ("DATA-1", "DATA-4", "DEL-3", "DEL-4", "DEL-5")} == {
        Status.FAIL
    }


def test_rules_never_write(service: Path) -> None:
    before = sorted(
        (path.relative_to(service), path.stat().st_mtime_ns) for path in service.rglob("*")
    )
    judge_mine(service)
    after = sorted(
        (path.relative_to(service), path.stat().st_mtime_ns) for path in service.rglob("*")
    )
    assert before == after
