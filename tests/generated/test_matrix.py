"""Every combination of the derived option matrix passes the project's own checks.

The combinations come from copier.yml alone (tests/matrix.py): a pairwise covering set of
the valid answers to every question with a fixed set of answers, plus the defaults,
everything on and everything off. Each is rendered once, installed, and held to what the
default project is held to: no template syntax left, nothing of an option it did not
choose, ruff, the formatter, mypy --strict, the import contracts, hadolint, its own test
suite (schemathesis contract test included) with the coverage gate against the real
PostgreSQL and Redis, and the migration round trip.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

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


@EVERY_COMBINATION
def test_lint_format_types_and_layers_are_clean(generated: MatrixProject) -> None:
    project = generated.project
    project.uv_run("ruff", "check", ".")
    project.uv_run("ruff", "format", "--check", ".")
    assert "Success: no issues found" in project.uv_run("mypy").stdout
    assert "0 broken" in project.uv_run("lint-imports").stdout
    assert "hadolint ignore" not in (project.root / "Dockerfile").read_text()
    project.run("hadolint", str(project.root / "Dockerfile"))


@EVERY_COMBINATION
def test_own_suite_passes_with_the_coverage_gate(generated: MatrixProject) -> None:
    result = generated.project.uv_run("pytest", "--cov", "-q", "-p", "no:cacheprovider")
    total = re.search(r"Total coverage: ([\d.]+)%", result.stdout)
    assert total is not None, result.stdout[-3000:]
    assert float(total.group(1)) >= 80
    assert " failed" not in result.stdout
    print(f"coverage {generated.combination.id}: {total.group(1)}%")


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
