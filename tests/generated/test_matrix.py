"""Every combination of the derived option matrix passes the project's own checks.

The combinations come from copier.yml alone (tests/matrix.py): a pairwise covering set of
the valid answers to every question with a fixed set of answers, plus the defaults,
everything on and everything off. Each is rendered once, installed, and held to what the
default project is held to: no template syntax left, nothing of an option it did not
choose, `svcforge check` at gold with and without `--run` (which runs ruff, the formatter,
mypy --strict, the import contracts, hadolint and its own test suite, schemathesis
contract test included, with the coverage gate against the real PostgreSQL, Redis and
RabbitMQ), the README's links to each standard, and the migration round trip.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from typing import Any

import pytest

from svcforge.check.engine import applicability
from svcforge.check.repository import Repository
from svcforge.standards import load_standards
from tests.generated.support import GeneratedProject, find_python, render
from tests.matrix import Combination, template_matrix

pytestmark = pytest.mark.slow

MATRIX = template_matrix()
COMBINATIONS = MATRIX.covering_set()

# Words that belong to one answer: a project that did not choose it has none of them.
# An answer missing here is guarded by its own name (a choice's value, a yes/no
# question's name), so a new option is checked without an edit here.
OWN_WORDS: dict[tuple[str, object], tuple[str, ...]] = {
    ("auth", "jwt"): ("pwdlib", "refresh_token", "create_admin", "OAuth2Password"),
    ("auth", "oidc"): ("oidc", "jwks", "OpenID"),
    ("auth", "api_key"): ("api_key", "X-API-Key", "APIKeyHeader"),
    ("rate_limiting", True): ("redis", "rate_limit", "rate limit", "RateLimit", "SEC-3"),
    ("metrics", True): ("metrics", "prometheus", "9464", "OPS-3"),
    # Not "worker": other prose names worker threads and pytest-xdist's workers.
    ("background_jobs", "taskiq"): (
        "taskiq",
        "rabbitmq",
        "amqp",
        "dead-letter",
        "dead_letter",
        "dead letter",
        "JobsAfterCommit",
        "JobPublisher",
        "send_after_commit",
        "item_announcement",
        "ItemAnnouncement",
        "announce_item",
        "announce_once",
        "JobsOfInserts",
        "jobs_for_inserts",
    ),
    ("tracing", True): ("tracing", "opentelemetry", "OTLP", "OTEL_", "OPS-4"),
    # "redis" too: a project with the cache but without rate limits uses Redis.
    ("cache", True): (
        "redis",
        "RedisCache",
        "CachedItemQueries",
        "item_cache",
        "cache_ttl",
        "cache_key_prefix",
        "cache-aside",
    ),
    # Not the bare word: other prose may name Kubernetes in passing (the probes' purpose).
    ("kubernetes", True): (
        "deploy/k8s",
        "kustomiz",
        "kubernetes-validate",
        "kubernetes_validate",
        "kubectl",
        "HorizontalPodAutoscaler",
        "DEL-4",
    ),
    # A pipeline's name, and the standard only a pipeline meets (SEC-6 is also cited for
    # bound parameters, so it is no pipeline's own word).
    ("ci", "github"): ("github", "DEL-3"),
    ("ci", "gitlab"): ("gitlab", "DEL-3"),
}
# Words of every answer but `none` (authentication as such).
ANY_AUTH_WORDS = (
    "Principal",
    "authorize(",
    "WWW-Authenticate",
    "PermissionDenied",
    "Bearer",
    "SEC-1",
    "SEC-2",
)
# Files that name answers by design: the recorded answers and the lock's package index.
NAMES_ANSWERS = {".copier-answers.yml", "uv.lock"}


def _words_of(name: str, value: object) -> tuple[str, ...]:
    if (name, value) in OWN_WORDS:
        return OWN_WORDS[name, value]
    if isinstance(value, bool):
        return (name,) if value else ()
    # Answers that are not names (a Python version) are mentioned in passing everywhere.
    if not str(value).isidentifier() or value == "none":
        return ()
    return (str(value),)


def _forbidden_words(combination: Combination) -> dict[str, str]:
    """Each word the project must not contain, with the answer it belongs to."""
    chosen = combination.data
    forbidden: dict[str, str] = {}
    for axis in MATRIX.axes:
        for value in axis.values():
            if value == chosen[axis.name]:
                continue
            for word in _words_of(axis.name, value):
                forbidden[word] = f"{axis.name}={value}"
    if chosen.get("auth") == "none":
        forbidden.update(dict.fromkeys(ANY_AUTH_WORDS, "auth other than none"))
    # A word both the chosen and an unchosen answer use says nothing.
    for axis in MATRIX.axes:
        for word in _words_of(axis.name, chosen[axis.name]):
            forbidden.pop(word, None)
    return forbidden


def _group(combination: Combination) -> str:
    # The defaults are the default project of test_golden.py: rendered once, one worker.
    return "default_project" if combination.why == "defaults" else f"matrix-{combination.id}"


def _params() -> list[object]:
    return [
        pytest.param(
            combination, id=combination.id, marks=pytest.mark.xdist_group(_group(combination))
        )
        for combination in COMBINATIONS
    ]


_rendered: dict[str, GeneratedProject] = {}


@dataclass(frozen=True)
class MatrixProject:
    """A combination and its project."""

    combination: Combination
    project: GeneratedProject


@pytest.fixture
def generated(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> MatrixProject:
    """The combination's project (indirect parameter), rendered and installed once."""
    combination: Combination = request.param
    if combination.why == "defaults":
        default: GeneratedProject = request.getfixturevalue("default_project")
        return MatrixProject(combination, default)
    if combination.id not in _rendered:
        dest = tmp_path_factory.mktemp(f"matrix-{combination.id}") / "example-service"
        render(dest, dict(combination.data))
        python = find_python(str(combination.data["python_version"]))
        project = GeneratedProject(dest, python=python, package="example_service")
        project.sync()
        _rendered[combination.id] = project
    return MatrixProject(combination, _rendered[combination.id])


EVERY_COMBINATION = pytest.mark.parametrize("generated", _params(), indirect=True)


@EVERY_COMBINATION
def test_nothing_of_an_unchosen_option_is_left(generated: MatrixProject) -> None:
    project = generated.project
    forbidden = _forbidden_words(generated.combination)
    pattern = re.compile("|".join(re.escape(word) for word in forbidden), re.IGNORECASE)
    owners = {word.lower(): answer for word, answer in forbidden.items()}
    found: list[str] = []
    for path in project.files():
        relative = path.relative_to(project.root)
        if path.name in NAMES_ANSWERS:
            continue
        text = f"{relative}\n" + path.read_text(encoding="utf-8")
        # GitHub Actions expressions (${{ ... }}) are legitimate in workflow files.
        # Jinja as this template writes it ("{{ name }}", "{%", "{#"), not f-string braces.
        if re.search(r"\{\{ |\{%|\{#", re.sub(r"\$\{\{[^}]*\}\}", "", text)):
            found.append(f"{relative}: template syntax")
        for match in pattern.finditer(text):
            owner = owners[match.group(0).lower()]
            found.append(f"{relative}: {match.group(0)!r} (belongs to {owner})")
    assert found == []


def _svcforge_check(project: GeneratedProject, *options: str) -> dict[str, Any]:
    """`svcforge check --format json` of the project, as a user runs it; must exit 0."""
    argv = [sys.executable, "-m", "svcforge", "check", str(project.root), "--format", "json"]
    result = project.run(*argv, *options, check=False, timeout=1800)
    assert result.stdout, result.stderr[-3000:]
    report: dict[str, Any] = json.loads(result.stdout)
    assert result.returncode == 0, _not_passed(report) or result.stderr[-3000:]
    return report


def _not_passed(report: dict[str, Any]) -> list[str]:
    return [
        f"{item['id']} {item['status']}: {item['summary']} {item['evidence']}"
        for item in report["results"]
        if item["status"] not in {"pass", "not_applicable"}
    ]


@EVERY_COMBINATION
def test_meets_every_applicable_standard_at_gold(generated: MatrixProject) -> None:
    """`svcforge check`, static rules only: every standard passes or is waived by an option."""
    report = _svcforge_check(generated.project, "--level", "gold")

    assert _not_passed(report) == []
    assert report["reached_level"] == "gold"
    assert "hadolint ignore" not in (generated.project.root / "Dockerfile").read_text()


@EVERY_COMBINATION
def test_meets_every_applicable_standard_with_its_own_tools_run(
    generated: MatrixProject,
) -> None:
    """`svcforge check --run`: ruff, the formatter, mypy --strict, the import contracts,
    hadolint and the project's own suite with its coverage gate, all in its own locked
    environment, against the real PostgreSQL, Redis and RabbitMQ.
    """
    report = _svcforge_check(generated.project, "--run", "--timeout", "1200")

    assert _not_passed(report) == []
    assert report["ran"] is True
    coverage = next(item for item in report["results"] if item["id"] == "QA-1")
    print(f"QA-1 {generated.combination.id}: {coverage['summary']}")


@EVERY_COMBINATION
def test_migrations_round_trip(generated: MatrixProject) -> None:
    project = generated.project
    database = project.create_database()
    env = {"EXAMPLE_SERVICE_DB_NAME": database}
    try:
        project.uv_run("alembic", "upgrade", "head", **env)
        project.uv_run("alembic", "downgrade", "base", **env)
        project.uv_run("alembic", "upgrade", "head", **env)
        project.uv_run("alembic", "check", **env)
    finally:
        project.drop_database(database)


@EVERY_COMBINATION
def test_the_readme_links_each_standard_it_meets_to_existing_files(
    generated: MatrixProject,
) -> None:
    """The README's Standards table: every standard not waived by the options, each link real."""
    project = generated.project
    readme = (project.root / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Standards\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ((?:[A-Z]+)-\d+) \|.*$", section, flags=re.MULTILINE)
    waived = set(applicability(Repository(project.root)))
    assert sorted(set(rows)) == sorted(set(load_standards()) - waived)
    links = re.findall(r"\]\(([^)]+)\)", section)
    assert links, section
    assert [link for link in links if not (project.root / link).exists()] == []
