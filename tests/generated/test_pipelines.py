"""The CI pipeline and the Renovate configuration of generated projects (fast: no uv sync).

Projects are rendered from this checkout for each `ci` answer, with the options that
change the pipeline's service containers on and off. Each pipeline is parsed and held to
what DEL-3 and SEC-6 ask of it (lint, format, types, layering, hadolint, tests against
real service containers, the migration round trip, a vulnerability scan, the image build)
plus the check that fails an unfinished template update, whose script is run here on a
clean project and on one with a conflict marker or a `*.rej` file. Every pipeline file and
every `renovate.json` is validated against SchemaStore's and Renovate's JSON schemas as
check-jsonschema vendors them (no network).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

from tests.generated.support import REPO_ROOT, render

pytestmark = pytest.mark.xdist_group("pipelines")

# Option sets that change the service containers: the defaults (Redis for the rate limits),
# none of them, and Redis for the cache alone with RabbitMQ for the jobs.
SERVICE_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "no-services": {"rate_limiting": False, "cache": False, "background_jobs": "none"},
    "cache-and-jobs": {"rate_limiting": False, "cache": True, "background_jobs": "taskiq"},
}
PIPELINES = ("github", "gitlab")
PACKAGE_ENV = "EXAMPLE_SERVICE_"
GITHUB_WORKFLOW = Path(".github/workflows/ci.yml")
GITLAB_PIPELINE = Path(".gitlab-ci.yml")
JOBS = {"lint", "test", "audit", "conflicts", "build"}
# What the tests read of a project rendered in part (rendering everything takes 3 times
# longer); the defaults of each pipeline are rendered whole, for the conflict check.
READ_FILES = [
    "*",
    "!.github/",
    "!.github/**",
    "!.gitlab-ci.yml",
    "!renovate.json",
    "!Dockerfile",
    "!README.md",
]
MIGRATION_ROUND_TRIP = [
    "alembic upgrade head",
    "alembic downgrade base",
    "alembic upgrade head",
    "alembic check",
]


def _expected_services(variant: str) -> set[str]:
    answers = SERVICE_VARIANTS[variant]
    services = {"postgres"}
    if answers.get("rate_limiting", True) or answers.get("cache", False):
        services.add("redis")
    if answers.get("background_jobs", "none") == "taskiq":
        services.add("rabbitmq")
    return services


@pytest.fixture(scope="module")
def projects(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Every (ci, variant) project, and ("none", "defaults"), rendered once."""
    rendered: dict[tuple[str, str], Path] = {}
    keys = [(ci, variant) for ci in PIPELINES for variant in SERVICE_VARIANTS]
    for ci, variant in [*keys, ("none", "defaults")]:
        dest = tmp_path_factory.mktemp(f"pipeline-{ci}-{variant}") / "example-service"
        data = {"ci": ci, **SERVICE_VARIANTS[variant]}
        if ci in PIPELINES and variant == "defaults":
            rendered[ci, variant] = render(dest, data)
            continue
        copier.run_copy(
            str(REPO_ROOT),
            str(dest),
            data=data,
            defaults=True,
            unsafe=False,
            vcs_ref="HEAD",
            quiet=True,
            exclude=READ_FILES,
        )
        rendered[ci, variant] = dest
    return rendered


def _check_jsonschema(schema: str, files: list[Path]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, files)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _commands(lines: list[str]) -> str:
    """Shell lines as one text, each command on a line of its own."""
    return "\n".join(lines)


def _github_steps(workflow: dict[str, Any], job: str) -> str:
    return _commands([step["run"] for step in workflow["jobs"][job]["steps"] if "run" in step])


def _in_order(text: str, commands: list[str]) -> bool:
    position = 0
    for command in commands:
        position = text.find(command, position)
        if position < 0:
            return False
        position += len(command)
    return True


def _assert_checks(lint: str, test: str, audit: str) -> None:
    """What both pipelines run: DEL-3's checks, the contract test, SEC-6's scan."""
    for command in (
        "ruff check",
        "ruff format --check .",
        "uv run --frozen mypy",
        "uv run --frozen lint-imports",
        "uv run --frozen hadolint Dockerfile",
    ):
        assert command in lint, command
    assert _in_order(test, [*MIGRATION_ROUND_TRIP, "pytest --cov"])
    # The whole suite, so the schemathesis contract test (tests/api/test_contract.py) too.
    pytest_line = next(line for line in test.splitlines() if "pytest --cov" in line)
    assert not re.search(r"\s(-k|-m|--ignore|--deselect)\b", pytest_line)
    assert "uv export --frozen --no-dev --no-emit-project --format requirements-txt" in audit
    assert re.search(r"pip-audit@[\d.]+ --strict --disable-pip .*--requirement", audit)


def _run_conflict_check(script: str, project: Path, tmp_path: Path, name: str) -> int:
    copy = tmp_path / name
    shutil.copytree(project, copy)
    result = subprocess.run(
        ["bash", "-e", "-c", script], cwd=copy, capture_output=True, text=True, check=False
    )
    return result.returncode


def _assert_conflict_check_works(script: str, project: Path, tmp_path: Path) -> None:
    assert _run_conflict_check(script, project, tmp_path, "clean") == 0
    marked = tmp_path / "marked"
    shutil.copytree(project, marked)
    readme = marked / "README.md"
    readme.write_text(
        "<<<<<<< before updating\nours\n=======\ntheirs\n>>>>>>> after updating\n"
        + readme.read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    assert _run_conflict_check(script, marked, tmp_path, "marked-run") == 1
    rejected = tmp_path / "rejected"
    shutil.copytree(project, rejected)
    (rejected / "Makefile.rej").write_text("@@ -1 +1 @@\n-old\n+new\n", encoding="utf-8")
    assert _run_conflict_check(script, rejected, tmp_path, "rejected-run") == 1


def test_github_workflows_match_schemastores_schema(projects: dict[tuple[str, str], Path]) -> None:
    files = [projects["github", variant] / GITHUB_WORKFLOW for variant in SERVICE_VARIANTS]
    result = _check_jsonschema("vendor.github-workflows", files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_gitlab_pipelines_match_schemastores_schema(projects: dict[tuple[str, str], Path]) -> None:
    files = [projects["gitlab", variant] / GITLAB_PIPELINE for variant in SERVICE_VARIANTS]
    result = _check_jsonschema("vendor.gitlab-ci", files)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_schema_check_catches_a_broken_pipeline(
    projects: dict[tuple[str, str], Path], tmp_path: Path
) -> None:
    pipeline = yaml.safe_load((projects["gitlab", "defaults"] / GITLAB_PIPELINE).read_text())
    pipeline["lint"]["when"] = "sometimes"  # not one of GitLab's `when` values
    broken = tmp_path / "broken.yml"
    broken.write_text(yaml.safe_dump(pipeline))
    assert _check_jsonschema("vendor.gitlab-ci", [broken]).returncode == 1


@pytest.mark.parametrize("variant", list(SERVICE_VARIANTS))
def test_the_github_workflow_runs_every_check_against_the_chosen_services(
    projects: dict[tuple[str, str], Path], variant: str, tmp_path: Path
) -> None:
    project = projects["github", variant]
    workflow = yaml.safe_load((project / GITHUB_WORKFLOW).read_text())

    assert set(workflow["jobs"]) == JOBS
    # PyYAML reads the bare key `on` as YAML 1.1's true.
    triggers = workflow.get("on", workflow.get(True))
    assert set(triggers) == {"push", "pull_request"}
    _assert_checks(
        _github_steps(workflow, "lint"),
        _github_steps(workflow, "test"),
        _github_steps(workflow, "audit"),
    )
    services = workflow["jobs"]["test"]["services"]
    assert set(services) == _expected_services(variant)
    for service in services.values():
        assert "--health-cmd" in service["options"]
    build = [step.get("uses", "") for step in workflow["jobs"]["build"]["steps"]]
    assert any(action.startswith("docker/build-push-action@") for action in build)
    if variant == "defaults":  # rendered whole
        assert (project / "tests" / "api" / "test_contract.py").is_file()
        _assert_conflict_check_works(_github_steps(workflow, "conflicts"), project, tmp_path)
    assert not (project / GITLAB_PIPELINE).exists()


@pytest.mark.parametrize("variant", list(SERVICE_VARIANTS))
def test_the_gitlab_pipeline_runs_every_check_against_the_chosen_services(
    projects: dict[tuple[str, str], Path], variant: str, tmp_path: Path
) -> None:
    project = projects["gitlab", variant]
    pipeline = yaml.safe_load((project / GITLAB_PIPELINE).read_text())
    jobs = {name: job for name, job in pipeline.items() if isinstance(job, dict) and "stage" in job}

    assert set(jobs) == JOBS
    assert pipeline["stages"] == ["check", "test", "build"]
    assert {jobs[name]["stage"] for name in ("lint", "audit", "conflicts")} == {"check"}
    _assert_checks(
        _commands(jobs["lint"]["script"]),
        _commands(jobs["test"]["script"]),
        _commands(jobs["audit"]["script"]),
    )
    services = {service["alias"]: service["name"] for service in jobs["test"]["services"]}
    assert set(services) == _expected_services(variant)
    # The service and its tests find each container by its alias.
    variables = jobs["test"]["variables"]
    expected_hosts = {
        "postgres": "DB_HOST",
        "redis": "REDIS_HOST",
        "rabbitmq": "RABBITMQ_HOST",
    }
    for alias in services:
        assert variables[PACKAGE_ENV + expected_hosts[alias]] == alias
    assert re.search(r"\bdocker build\b", _commands(jobs["build"]["script"]))
    assert any(service.startswith("docker:") for service in jobs["build"]["services"])
    # The image of the jobs is the Dockerfile's uv, on the project's Python.
    uv_version = re.search(r"ghcr\.io/astral-sh/uv:([\d.]+)", (project / "Dockerfile").read_text())
    assert uv_version is not None
    assert pipeline["default"]["image"] == (
        f"ghcr.io/astral-sh/uv:{uv_version.group(1)}-python3.13-trixie-slim"
    )
    if variant == "defaults":  # rendered whole
        assert (project / "tests" / "api" / "test_contract.py").is_file()
        _assert_conflict_check_works(jobs["conflicts"]["script"][0], project, tmp_path)
    assert not (project / ".github").exists()


def test_without_a_pipeline_there_is_no_pipeline_file_and_the_readme_says_how_to_add_one(
    projects: dict[tuple[str, str], Path],
) -> None:
    project = projects["none", "defaults"]
    readme = (project / "README.md").read_text()

    assert not (project / ".github").exists()
    assert not (project / GITLAB_PIPELINE).exists()
    assert "generated without a pipeline" in readme
    assert "svcforge update --set ci=" in readme
    # The conflict check to copy into a pipeline of one's own.
    assert "grep -rnI --exclude-dir=.git -E '^(<<<<<<<|>>>>>>>)( |$)' ." in readme


def test_renovate_configs_match_renovates_schema(projects: dict[tuple[str, str], Path]) -> None:
    files = [project / "renovate.json" for project in projects.values()]
    result = _check_jsonschema("vendor.renovate", files)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("ci", [*PIPELINES, "none"])
def test_renovate_proposes_template_updates_next_to_dependency_updates(
    projects: dict[tuple[str, str], Path], ci: str
) -> None:
    project = projects[ci, "defaults"]
    config = json.loads((project / "renovate.json").read_text())
    readme = (project / "README.md").read_text()

    copier_rules = [
        rule for rule in config["packageRules"] if "copier" in rule.get("matchManagers", [])
    ]
    assert len(copier_rules) == 1
    assert config["lockFileMaintenance"]["enabled"] is True
    # Python's minor version is an answer of the template, not a dependency to bump.
    python = next(
        rule for rule in config["packageRules"] if rule.get("matchPackageNames") == ["python"]
    )
    assert python["enabled"] is False
    assert set(python["matchUpdateTypes"]) == {"major", "minor"}
    # The README explains it where it explains svcforge update.
    assert "## Updates" in readme
    assert "Renovate" in readme.split("## Updates", 1)[1]
    assert "`svcforge update`" in readme.split("## From clone", 1)[0]
