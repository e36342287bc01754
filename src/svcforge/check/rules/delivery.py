"""DEL rules: the Dockerfile, compose, CI, Kubernetes manifests and the lock file.

Each rule parses the file it judges (Dockerfile instructions, YAML documents, TOML) and
cites the line or key it found; a file that does not parse makes the verdict unknown
unless something else already decides it.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from svcforge.check.engine import rule
from svcforge.check.model import Evidence, Verdict
from svcforge.check.repository import DockerInstruction, Repository
from svcforge.check.rules.ops import (
    failed,
    find_imports,
    line_matching,
    passed,
    problem_evidence,
    source_modules,
    string_constants,
    unknown,
    yaml_documents,
)

# -- DEL-1: Dockerfile ----------------------------------------------------------------------

_INSTALL = re.compile(
    r"\buv\s+(sync|pip\s+install)\b|\bpip3?\s+install\b|\bpoetry\s+install\b"
    r"|\bpdm\s+(install|sync)\b|\bpipenv\s+(install|sync)\b|\bpip-sync\b"
)
#: Files a dependency layer may copy: what declares and locks the dependencies.
_DEPENDENCY_FILES = re.compile(
    r"^(pyproject\.toml|uv\.lock|poetry\.lock|pdm\.lock|pylock\.toml|Pipfile(\.lock)?"
    r"|requirements[\w.-]*\.(txt|in)|constraints[\w.-]*\.txt|setup\.(cfg|py)|README[\w.]*"
    r"|requirements/.*)$"
)
_SLIM = re.compile(r"slim|alpine|distroless|minimal|chainguard|wolfi|micro|busybox")


@dataclass(frozen=True)
class _Base:
    image: str
    alias: str
    line: int


def _expand(value: str, arguments: dict[str, str]) -> str:
    """``${NAME}`` / ``$NAME`` / ``${NAME:-default}`` replaced by the ARG defaults known."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        default = match.group(2)
        if name in arguments:
            return arguments[name]
        return default if default is not None else match.group(0)

    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)", replace, value)


def _bases(instructions: Iterable[DockerInstruction]) -> list[_Base]:
    """Every ``FROM`` with its image resolved from the global ``ARG`` defaults."""
    arguments: dict[str, str] = {}
    bases: list[_Base] = []
    for instruction in instructions:
        if instruction.keyword == "ARG" and not bases:
            name, _, default = instruction.arguments.partition("=")
            if default:
                arguments[name.strip()] = default.strip().strip("\"'")
        elif instruction.keyword == "FROM":
            words = [word for word in instruction.arguments.split() if not word.startswith("--")]
            image = _expand(words[0], arguments) if words else ""
            alias = words[2] if len(words) >= 3 and words[1].lower() == "as" else ""
            bases.append(_Base(image, alias.lower(), instruction.line))
    return bases


def _unpinned(image: str) -> bool:
    """Whether an image reference floats: no tag, ``latest``, and no digest."""
    if "@sha256:" in image or "$" in image:
        return False  # pinned by digest, or chosen at build time
    name = image.rsplit("/", 1)[-1]
    return ":" not in name or name.endswith(":latest")


def _copies_source(instruction: DockerInstruction) -> bool:
    """Whether a COPY/ADD brings in more than the dependency declarations."""
    words = [word for word in instruction.arguments.split() if not word.startswith("--")]
    if any(word.startswith("--from") for word in instruction.arguments.split()):
        return False
    if instruction.arguments.lstrip().startswith("["):
        try:
            words = [str(item) for item in json.loads(instruction.arguments)]
        except ValueError:
            return True
    sources = words[:-1]
    return any(not _DEPENDENCY_FILES.match(source.strip("./") or ".") for source in sources)


def _dockerignore(repo: Repository, dockerfile: str) -> str | None:
    for place in (
        posixpath.join(posixpath.dirname(dockerfile), ".dockerignore"),
        ".dockerignore",
    ):
        candidate = place.lstrip("/")
        if any(line.strip() and not line.startswith("#") for line in repo.lines(candidate)):
            return candidate
    return None


@rule("DEL-1")
def lean_dockerfile(repo: Repository) -> Verdict:
    """Parses the Dockerfile: several stages, the final one with a non-root ``USER`` and a
    ``HEALTHCHECK``, a slim base image pinned to a tag or digest (never ``latest``), the
    dependency install before the source is copied, and a non-empty ``.dockerignore``.
    """
    dockerfile = repo.dockerfile
    if dockerfile is None:
        candidates = repo.glob("Dockerfile")
        if candidates:
            return unknown(
                "DEL-1",
                "The Dockerfile could not be read.",
                [problem_evidence(repo, candidates[0])],
            )
        return failed(
            "DEL-1",
            "No Dockerfile found.",
            [Evidence("no Dockerfile", path=".")],
            "Add a multi-stage Dockerfile: dependencies in a builder stage, a slim runtime "
            "stage with a non-root USER and a HEALTHCHECK.",
        )
    path = dockerfile.path
    instructions = dockerfile.instructions
    bases = _bases(instructions)
    if not bases:
        return failed(
            "DEL-1",
            "The Dockerfile has no FROM instruction.",
            [Evidence("no FROM", path=path)],
            "Start the Dockerfile from a slim, pinned Python base image.",
        )
    found = _Findings()
    first, last = bases[0], bases[-1]
    found.check(
        dockerfile.stages >= 2,
        Evidence(f"{dockerfile.stages} stages", path=path, line=last.line),
        "a single stage",
        Evidence("single-stage build", path=path, line=first.line),
    )
    final = dockerfile.final_stage()
    users = [item for item in final if item.keyword == "USER"]
    user = users[-1] if users else None
    found.check(
        user is not None and user.arguments.split(":")[0].strip() not in {"root", "0"},
        Evidence(
            f"USER {user.arguments if user else ''}", path=path, line=user.line if user else None
        ),
        "the final stage runs as root",
        Evidence(
            f"USER {user.arguments}" if user else "no USER in the final stage",
            path=path,
            line=user.line if user else last.line,
        ),
    )
    checks = [item for item in final if item.keyword == "HEALTHCHECK"]
    check = checks[-1] if checks else None
    found.check(
        check is not None and check.arguments.strip().upper() != "NONE",
        Evidence("HEALTHCHECK", path=path, line=check.line if check else None),
        "no HEALTHCHECK",
        Evidence("no HEALTHCHECK in the final stage", path=path, line=last.line),
    )
    _check_base_images(found, path, bases)
    _check_dependency_layer(found, path, dockerfile.instructions)
    ignore = _dockerignore(repo, path)
    found.check(
        ignore is not None,
        Evidence(".dockerignore", path=ignore),
        "no .dockerignore",
        Evidence("no .dockerignore (or an empty one)", path="."),
    )
    if found.problems:
        return failed(
            "DEL-1",
            f"Dockerfile falls short: {'; '.join(found.problems)}.",
            found.bad,
            "Build in two stages (install the locked dependencies before copying the source), "
            "run a slim, pinned base as a non-root USER with a HEALTHCHECK, and add a "
            ".dockerignore.",
        )
    return passed(
        "DEL-1",
        "The Dockerfile is multi-stage, slim, pinned, non-root and healthchecked.",
        found.good,
    )


@dataclass
class _Findings:
    """What a rule with several parts found: problems (with evidence) and good evidence."""

    problems: list[str] = field(default_factory=list)
    bad: list[Evidence] = field(default_factory=list)
    good: list[Evidence] = field(default_factory=list)

    def check(self, ok: bool, good: Evidence, problem: str, bad: Evidence) -> None:
        """Record ``good`` when ``ok``, else the ``problem`` and its evidence."""
        if ok:
            self.good.append(good)
        else:
            self.problems.append(problem)
            self.bad.append(bad)


def _check_base_images(found: _Findings, path: str, bases: list[_Base]) -> None:
    """Every external base pinned (a tag other than latest, or a digest); a slim runtime."""
    aliases = {base.alias for base in bases if base.alias}
    for base in bases:
        if base.image.lower() in aliases or base.image == "scratch":
            continue
        if _unpinned(base.image):
            found.problems.append(f"unpinned base image {base.image}")
            found.bad.append(
                Evidence(f"FROM {base.image} (no tag or latest)", path=path, line=base.line)
            )
    runtime = bases[-1]
    by_alias = {base.alias: base for base in bases if base.alias}
    while runtime.image.lower() in by_alias and by_alias[runtime.image.lower()] is not runtime:
        runtime = by_alias[runtime.image.lower()]  # FROM an earlier stage: its base counts
    found.check(
        runtime.image == "scratch" or "$" in runtime.image or bool(_SLIM.search(runtime.image)),
        Evidence(f"runtime base {runtime.image}", path=path, line=runtime.line),
        f"a full base image for the runtime ({runtime.image})",
        Evidence(f"FROM {runtime.image} is not slim", path=path, line=runtime.line),
    )


def _check_dependency_layer(
    found: _Findings, path: str, instructions: tuple[DockerInstruction, ...]
) -> None:
    """Return the first dependency install runs before its stage copies any source."""
    installs = [
        item for item in instructions if item.keyword == "RUN" and _INSTALL.search(item.arguments)
    ]
    if not installs:
        found.problems.append("no dependency install step")
        found.bad.append(Evidence("no RUN installs the dependencies", path=path))
        return
    first = installs[0]
    earlier = [
        item
        for item in instructions
        if item.keyword in {"COPY", "ADD"}
        and item.stage == first.stage
        and item.line < first.line
        and _copies_source(item)
    ]
    found.check(
        not earlier,
        Evidence("dependency layer before the source", path=path, line=first.line),
        "the source is copied before the dependencies are installed",
        Evidence(
            "source copied before the dependency layer",
            path=path,
            line=earlier[0].line if earlier else None,
        ),
    )


# -- DEL-2: compose ----------------------------------------------------------------------------

#: What the code may use (modules it imports) and the images that provide it.
_DEPENDENCIES: dict[str, tuple[tuple[str, ...], re.Pattern[str]]] = {
    "PostgreSQL": (
        ("asyncpg", "psycopg", "psycopg2", "psycopg_pool"),
        re.compile(r"postgres|postgis|timescale|pgvector"),
    ),
    "Redis": (
        ("redis", "valkey", "aioredis", "coredis"),
        re.compile(r"redis|valkey|keydb|dragonfly"),
    ),
    "RabbitMQ": (("aio_pika", "pika", "aiormq", "taskiq_aio_pika"), re.compile(r"rabbitmq")),
    "Kafka": (("aiokafka", "confluent_kafka", "kafka"), re.compile(r"kafka|redpanda")),
    "MongoDB": (("motor", "pymongo", "beanie"), re.compile(r"mongo")),
    "MySQL": (("aiomysql", "asyncmy", "pymysql", "MySQLdb"), re.compile(r"mysql|mariadb")),
    "Elasticsearch": (("elasticsearch", "opensearchpy"), re.compile(r"elasticsearch|opensearch")),
    "NATS": (("nats",), re.compile(r"\bnats\b")),
}
_COMPOSE_FILES = ("compose.yaml", "compose.yml", "docker-compose.yml", "docker-compose.yaml")


def compose_file(repo: Repository) -> str | None:
    """Return the compose file (at the root first, else the first found)."""
    for name in _COMPOSE_FILES:
        if repo.exists(name):
            return name
    for name in _COMPOSE_FILES:
        found = repo.glob(name)
        if found:
            return found[0]
    return None


def _used_dependencies(repo: Repository) -> dict[str, Evidence]:
    """Return the backing services the code uses, each with the import that shows it."""
    modules = source_modules(repo)
    used = {}
    for kind, (packages, _) in _DEPENDENCIES.items():
        found = find_imports(modules, packages)
        if found:
            used[kind] = found[0]
    if "PostgreSQL" not in used:
        for name, tree in modules:
            for constant in string_constants(tree):
                if str(constant.value).startswith(("postgresql", "postgres://")):
                    used["PostgreSQL"] = Evidence("PostgreSQL URL", path=name, line=constant.lineno)
                    break
            if "PostgreSQL" in used:
                break
    return used


@rule("DEL-2")
def compose_for_development(repo: Repository) -> Verdict:
    """Parses the compose file (``compose.yaml``, ``docker-compose.yml``): a service built from
    the repository, and a service for every backing dependency the code imports a client for
    (PostgreSQL, Redis, RabbitMQ, Kafka, MongoDB...), matched by image.
    """
    path = compose_file(repo)
    if path is None:
        return failed(
            "DEL-2",
            "No compose file found.",
            [Evidence("no compose.yaml or docker-compose.yml", path=".")],
            "Add compose.yaml with the service (built from the Dockerfile) and every "
            "dependency it needs locally (the database first).",
        )
    documents = yaml_documents(repo, path)
    if documents is None:
        return unknown(
            "DEL-2", "The compose file could not be parsed.", [problem_evidence(repo, path)]
        )
    compose = documents[0] if documents else None
    services = compose.get("services") if isinstance(compose, dict) else None
    if not isinstance(services, dict) or not services:
        return failed(
            "DEL-2",
            "The compose file declares no services.",
            [Evidence("no services", path=path, key="services")],
            "Declare the service and its dependencies under `services:`.",
        )
    evidence = []
    problems = []
    built = [
        name
        for name, service in services.items()
        if isinstance(service, dict) and "build" in service
    ]
    built.sort(key=lambda name: "ports" not in services[name])  # the app before one-off jobs
    if built:
        evidence.append(
            Evidence(
                f"service {built[0]} built from the repository",
                path=path,
                line=line_matching(repo, path, rf"^\s+{re.escape(str(built[0]))}:"),
                key=f"services.{built[0]}",
            )
        )
    else:
        problems.append("the service itself (no service has `build:`)")
    images = {
        str(name): str(service.get("image", "")).lower()
        for name, service in services.items()
        if isinstance(service, dict)
    }
    missing_evidence = []
    for kind, used in _used_dependencies(repo).items():
        pattern = _DEPENDENCIES[kind][1]
        providers = [name for name, image in images.items() if pattern.search(image)]
        if providers:
            line = line_matching(repo, path, rf"^\s+{re.escape(providers[0])}:")
            evidence.append(
                Evidence(
                    f"{kind}: service {providers[0]}",
                    path=path,
                    line=line,
                    key=f"services.{providers[0]}",
                )
            )
        else:
            problems.append(kind)
            missing_evidence.append(
                Evidence(f"the code uses {kind} ({used.note})", path=used.path, line=used.line)
            )
    if problems:
        return failed(
            "DEL-2",
            f"The compose file lacks: {', '.join(problems)}.",
            [
                Evidence(
                    f"compose services: {', '.join(map(str, services))}", path=path, key="services"
                ),
                *missing_evidence,
            ],
            "Add a compose service for each missing piece (with a healthcheck), so "
            "`docker compose up` runs the whole stack locally.",
        )
    return passed(
        "DEL-2", "The compose file runs the service and every dependency it uses.", evidence
    )


# -- DEL-3: CI pipeline --------------------------------------------------------------------------


@dataclass
class _Job:
    path: str
    name: str
    commands: list[str] = field(default_factory=list)
    services: bool = False


_CI_CHECKS: dict[str, re.Pattern[str]] = {
    "lint": re.compile(
        r"\bruff\s+check\b|\bflake8\b|\bpylint\b|\bpre-commit\s+run\b|\bmake\s+lint\b"
    ),
    "format check": re.compile(
        r"\b(ruff\s+format|black)\b[^\n]*--(check|diff)|\bpre-commit\s+run\b|\bmake\s+lint\b"
    ),
    "type check": re.compile(r"\bmypy\b|\bpyright\b|\bpytype\b|\bmake\s+(lint|typecheck)\b"),
    "tests": re.compile(r"\bpytest\b|\bcoverage\s+run\b|\btox\b|\bnox\b|\bmake\s+test\b"),
    "coverage": re.compile(r"--cov\b|\bcoverage\s+(run|report|xml)\b"),
    "migration check": re.compile(r"\balembic\s+(upgrade|downgrade|check)\b|\bmake\s+migrate\b"),
    "image build": re.compile(
        r"\bdocker\s+(buildx\s+)?build\b|docker/build-push-action|\bkaniko\b"
        r"|\bbuildah\s+(bud|build)\b"
        r"|\bpodman\s+build\b|\bdocker\s+compose\s+build\b"
    ),
}
_GITLAB_RESERVED = frozenset(
    {
        "stages",
        "variables",
        "default",
        "workflow",
        "include",
        "image",
        "services",
        "before_script",
        "after_script",
        "cache",
        "pages",
    }
)


def _strings(node: object) -> list[str]:
    """Every string inside a YAML value."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, list):
        return [text for item in node for text in _strings(item)]
    if isinstance(node, dict):
        return [text for item in node.values() for text in _strings(item)]
    return []


def _github_jobs(path: str, document: object) -> list[_Job]:
    jobs = document.get("jobs") if isinstance(document, dict) else None
    found = []
    for name, job in (jobs or {}).items() if isinstance(jobs, dict) else []:
        if not isinstance(job, dict):
            continue
        item = _Job(path, str(name), services=bool(job.get("services")))
        for step in job.get("steps") or []:
            if isinstance(step, dict):
                item.commands += [
                    str(step.get(key, "")) for key in ("run", "uses") if step.get(key)
                ]
        if job.get("uses"):
            item.commands.append(str(job["uses"]))  # a reusable workflow
        found.append(item)
    return found


def _gitlab_jobs(path: str, document: object) -> list[_Job]:
    if not isinstance(document, dict):
        return []
    found_default = document.get("default")
    default: dict[str, Any] = found_default if isinstance(found_default, dict) else {}
    shared_services = bool(document.get("services") or default.get("services"))
    shared = _strings(document.get("before_script")) + _strings(default.get("before_script"))

    def resolve(job: dict[str, Any], depth: int = 0) -> tuple[list[str], bool]:
        commands = [
            text
            for key in ("before_script", "script", "after_script")
            for text in _strings(job.get(key))
        ]
        services = bool(job.get("services"))
        parents = job.get("extends") or []
        for parent in [parents] if isinstance(parents, str) else parents:
            base = document.get(parent)
            if isinstance(base, dict) and depth < 5:
                more, served = resolve(base, depth + 1)
                commands = more + commands
                services = services or served
        return commands, services

    found = []
    for name, job in document.items():
        if name in _GITLAB_RESERVED or str(name).startswith(".") or not isinstance(job, dict):
            continue
        commands, services = resolve(job)
        found.append(_Job(path, str(name), shared + commands, services or shared_services))
    return found


def ci_jobs(repo: Repository) -> tuple[list[_Job], list[str], list[str]]:
    """Return the CI jobs of every pipeline file, the files read and those that do not parse."""
    jobs: list[_Job] = []
    files: list[str] = []
    broken: list[str] = []
    github = [name for name in repo.under(".github/workflows") if name.endswith((".yml", ".yaml"))]
    others = [
        name
        for name in (
            ".gitlab-ci.yml",
            ".circleci/config.yml",
            "azure-pipelines.yml",
            "bitbucket-pipelines.yml",
        )
        if repo.exists(name)
    ]
    for name in [*github, *others]:
        documents = yaml_documents(repo, name)
        if documents is None:
            broken.append(name)
            continue
        files.append(name)
        for document in documents:
            if name in github:
                jobs += _github_jobs(name, document)
            elif name == ".gitlab-ci.yml":
                jobs += _gitlab_jobs(name, document)
            else:
                jobs.append(
                    _Job(
                        name,
                        name,
                        _strings(document),
                        "services" in json.dumps(document, default=str),
                    )
                )
    if repo.exists("Jenkinsfile"):
        files.append("Jenkinsfile")
        jobs.append(_Job("Jenkinsfile", "Jenkinsfile", repo.lines("Jenkinsfile"), False))
    return jobs, files, broken


def _coverage_configured(repo: Repository) -> bool:
    options = repo.tool("pytest", "ini_options") or {}
    addopts = options.get("addopts", "") if isinstance(options, dict) else ""
    return "--cov" in (" ".join(addopts) if isinstance(addopts, list) else str(addopts))


@rule("DEL-3")
def ci_pipeline(repo: Repository) -> Verdict:
    """Parses the CI files (GitHub workflows, ``.gitlab-ci.yml``, CircleCI, Azure, Bitbucket,
    Jenkinsfile) and finds, in their commands: lint, format check, type check, tests with
    coverage in a job that has service containers, a migration check (``alembic upgrade``)
    and an image build.
    """
    jobs, files, broken = ci_jobs(repo)
    if not files:
        if broken:
            return unknown(
                "DEL-3",
                "The CI configuration could not be parsed.",
                [problem_evidence(repo, name) for name in broken],
            )
        return failed(
            "DEL-3",
            "No CI pipeline found.",
            [Evidence("no .github/workflows, .gitlab-ci.yml or other CI file", path=".")],
            "Add a CI pipeline that lints, checks formatting and types, runs the tests with "
            "coverage against real service containers, checks the migrations and builds the image.",
        )
    found: dict[str, Evidence] = {}
    test_jobs: list[_Job] = []
    for job in jobs:
        text = "\n".join(job.commands)
        for what, pattern in _CI_CHECKS.items():
            match = pattern.search(text)
            if match and what not in found:
                line = line_matching(repo, job.path, re.escape(match.group(0).split("\n")[0]))
                found[what] = Evidence(f"{what} in job {job.name}", path=job.path, line=line)
        if _CI_CHECKS["tests"].search(text):
            test_jobs.append(job)
    if "coverage" not in found and test_jobs and _coverage_configured(repo):
        found["coverage"] = Evidence(
            "pytest addopts --cov", path="pyproject.toml", key="tool.pytest.ini_options.addopts"
        )
    served = [
        job
        for job in test_jobs
        if job.services
        or re.search(r"docker[\s-]compose\s+up|testcontainers", "\n".join(job.commands))
    ]
    if served:
        found["service containers"] = Evidence(
            f"job {served[0].name} runs service containers",
            path=served[0].path,
            line=line_matching(repo, served[0].path, r"^\s*services:"),
        )
    missing = [what for what in [*_CI_CHECKS, "service containers"] if what not in found]
    if missing:
        evidence = [*found.values()] or [Evidence(f"CI file {name}", path=name) for name in files]
        return failed(
            "DEL-3",
            f"The CI pipeline lacks: {', '.join(missing)}.",
            evidence,
            "Add the missing steps to CI: ruff check and ruff format --check, mypy, pytest "
            "--cov in a job with a PostgreSQL service container, alembic upgrade/downgrade, "
            "and a docker build.",
        )
    return passed(
        "DEL-3",
        "CI lints, type-checks, tests with coverage on real services, checks migrations and "
        "builds the image.",
        found.values(),
    )


# -- DEL-4: Kubernetes manifests ----------------------------------------------------------------

_WORKLOADS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Rollout"})
_NOT_MANIFESTS = re.compile(
    r"^(\.github/|\.gitlab-ci|\.pre-commit|\.circleci/|compose|docker-compose|mkdocs|renovate"
    r"|\.copier)"
)
_LIVENESS_PATHS = frozenset({"health", "healthz", "livez", "live"})
_READINESS_PATHS = frozenset({"ready", "readyz", "readiness"})


def _containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    spec: Any = document.get("spec") or {}
    if document.get("kind") == "CronJob":
        spec = ((spec.get("jobTemplate") or {}).get("spec") or {}) if isinstance(spec, dict) else {}
    template = spec.get("template") if isinstance(spec, dict) else None
    pod = template.get("spec") if isinstance(template, dict) else None
    containers = pod.get("containers") if isinstance(pod, dict) else None
    return (
        [item for item in containers or [] if isinstance(item, dict)]
        if isinstance(containers, list)
        else []
    )


def _probe_path(container: dict[str, Any], probe: str) -> str | None:
    found = container.get(probe)
    if not isinstance(found, dict):
        return None
    http = found.get("httpGet")
    if isinstance(http, dict):
        return str(http.get("path", ""))
    return "(non-HTTP probe)"


def _manifests(
    repo: Repository,
) -> tuple[list[tuple[str, dict[str, Any]]], list[str], list[str]]:
    """Return the Kubernetes documents, the YAML files that do not parse, the templated ones."""
    manifests: list[tuple[str, dict[str, Any]]] = []
    broken: list[str] = []
    templated: list[str] = []
    for name in repo.files:
        if (
            not name.endswith((".yaml", ".yml"))
            or _NOT_MANIFESTS.match(name)
            or name.startswith("tests/")
        ):
            continue
        content = repo.text(name)
        if content is None or "kind:" not in content:
            continue
        if "{{" in content:
            templated.append(name)  # Helm or other templates: not YAML until rendered
            continue
        documents = yaml_documents(repo, name)
        if documents is None:
            broken.append(name)
            continue
        manifests += [
            (name, document)
            for document in documents
            if isinstance(document, dict) and "apiVersion" in document and "kind" in document
        ]
    return manifests, broken, templated


def _where(repo: Repository, name: str, document: dict[str, Any]) -> Evidence:
    """Cite a manifest by its kind and name, at the line of its ``name:``."""
    metadata = document.get("metadata")
    title = metadata.get("name") if isinstance(metadata, dict) else None
    line = (
        line_matching(repo, name, rf"^\s*name:\s*[\"']?{re.escape(str(title))}[\"']?\s*$")
        if title
        else None
    )
    return Evidence(f"{document['kind']} {title or ''}".strip(), path=name, line=line)


def _check_probes(
    repo: Repository, found: _Findings, manifests: list[tuple[str, dict[str, Any]]]
) -> None:
    """Check that serving Deployments probe /health (liveness) and /ready (readiness)."""
    deployments = [
        (name, doc)
        for name, doc in manifests
        if doc["kind"] in {"Deployment", "StatefulSet", "Rollout"}
    ]
    if not deployments:
        found.problems.append("no Deployment")
        found.bad.append(Evidence("no Deployment manifest", path=manifests[0][0]))
    serving = [
        (name, doc)
        for name, doc in deployments
        if any(container.get("ports") for container in _containers(doc))
    ] or deployments
    for name, doc in serving:
        place = _where(repo, name, doc)
        for container in _containers(doc):
            title = container.get("name")
            live = _probe_path(container, "livenessProbe") or "none"
            ready = _probe_path(container, "readinessProbe") or "none"
            found.check(
                live.rstrip("/").rpartition("/")[2] in _LIVENESS_PATHS,
                Evidence(f"livenessProbe {live} ({title})", path=name, line=place.line),
                f"container {title} has no liveness probe on /health",
                Evidence(f"livenessProbe: {live} ({title})", path=name, line=place.line),
            )
            found.check(
                ready.rstrip("/").rpartition("/")[2] in _READINESS_PATHS,
                Evidence(f"readinessProbe {ready} ({title})", path=name, line=place.line),
                f"container {title} has no readiness probe on /ready",
                Evidence(f"readinessProbe: {ready} ({title})", path=name, line=place.line),
            )


def _check_limits(
    repo: Repository, found: _Findings, manifests: list[tuple[str, dict[str, Any]]]
) -> None:
    """Every container of every workload sets resources.limits."""
    for name, doc in manifests:
        if doc["kind"] not in _WORKLOADS:
            continue
        for container in _containers(doc):
            resources = container.get("resources")
            limits = resources.get("limits") if isinstance(resources, dict) else None
            if not isinstance(limits, dict) or not limits:
                found.problems.append(f"container {container.get('name')} has no resource limits")
                found.bad.append(
                    Evidence(
                        f"no resources.limits ({container.get('name')})",
                        path=name,
                        line=_where(repo, name, doc).line,
                    )
                )


@rule("DEL-4")
def kubernetes_manifests(repo: Repository) -> Verdict:
    """Parses every YAML document with ``apiVersion`` and ``kind``: a Deployment whose serving
    containers have a liveness probe on ``/health`` and a readiness probe on ``/ready``,
    resource limits on every workload container, a Service and a HorizontalPodAutoscaler.
    """
    manifests, broken, templated = _manifests(repo)
    if not manifests:
        if broken or templated:
            return unknown(
                "DEL-4",
                "Kubernetes manifests exist but cannot be judged statically (invalid YAML or "
                "templates).",
                [problem_evidence(repo, name) for name in broken]
                + [Evidence("templated manifest", path=name) for name in templated[:3]],
            )
        return failed(
            "DEL-4",
            "No Kubernetes manifests found.",
            [Evidence("no YAML document with apiVersion and kind", path=".")],
            "Add manifests: a Deployment with /health liveness and /ready readiness probes and "
            "resource limits, a Service and a HorizontalPodAutoscaler (or waive DEL-4 in an ADR).",
        )
    found = _Findings()
    _check_probes(repo, found, manifests)
    _check_limits(repo, found, manifests)
    kinds = {doc["kind"]: (name, doc) for name, doc in manifests}
    if "ScaledObject" in kinds and "HorizontalPodAutoscaler" not in kinds:
        kinds["HorizontalPodAutoscaler"] = kinds["ScaledObject"]  # KEDA makes the autoscaler
    for kind in ("Service", "HorizontalPodAutoscaler"):
        found.check(
            kind in kinds,
            _where(repo, *kinds[kind]) if kind in kinds else Evidence(kind),
            f"no {kind}",
            Evidence(f"no {kind} manifest", path=posixpath.dirname(manifests[0][0]) or "."),
        )
    if found.problems:
        return failed(
            "DEL-4",
            f"Kubernetes manifests incomplete: {'; '.join(found.problems)}.",
            found.bad,
            "Give the Deployment's container a livenessProbe on /health and a readinessProbe on "
            "/ready, set resources.limits on every container, and add a Service and a "
            "HorizontalPodAutoscaler.",
        )
    return passed(
        "DEL-4",
        "Deployment with probes and limits, Service and autoscaler are declared.",
        found.good[:6],
    )


# -- DEL-5: locked dependencies, one install command -------------------------------------------

_INSTALL_COMMAND = re.compile(
    r"\buv\s+sync\b|\bpoetry\s+install\b|\bpdm\s+(install|sync)\b|\bpipenv\s+(install|sync)\b"
    r"|\bpip-sync\b|\bpip3?\s+install\b[^\n]*(-r|--requirement)\b|\brye\s+sync\b|\bhatch\s+env\s+create\b"
)
_INSTALL_TARGETS = re.compile(r"^(install|setup|bootstrap|deps|dependencies|init|sync|dev)\s*:")


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_name(requirement: str) -> str:
    return _normalise(re.split(r"[\s\[<>=!~;@(]", requirement.strip(), maxsplit=1)[0])


def _declared(repo: Repository) -> set[str]:
    project = (repo.pyproject or {}).get("project") or {}
    names = {
        _requirement_name(item)
        for item in project.get("dependencies") or []
        if isinstance(item, str)
    }
    poetry = repo.tool("poetry", "dependencies")
    if isinstance(poetry, dict):
        names |= {_normalise(str(name)) for name in poetry if str(name).lower() != "python"}
    return {name for name in names if name}


def _lock_verdict(repo: Repository, lock: str) -> Evidence | Verdict:
    """Judge one lock file: evidence that it is sound, or a failing (unknown) verdict."""
    if lock == "Pipfile.lock":
        try:
            parsed = json.loads(repo.text(lock) or "")
        except ValueError:
            return unknown(
                "DEL-5", "Pipfile.lock could not be parsed.", [Evidence("invalid JSON", path=lock)]
            )
        default = parsed.get("default") if isinstance(parsed, dict) else None
        return Evidence(f"{len(default or {})} packages locked", path=lock)
    if lock.endswith((".lock", ".toml")):
        return _toml_lock(repo, lock)
    unpinned = [
        Evidence(f"not pinned with a hash: {line.strip()[:60]}", path=lock, line=number)
        for number, line in _requirements(repo.lines(lock))
        if line and not line.startswith(("#", "-")) and ("==" not in line or "--hash=" not in line)
    ]
    if unpinned:
        return failed(
            "DEL-5",
            f"{lock} pins {len(unpinned)} requirement(s) without an exact version and hash.",
            unpinned[:5],
            "Generate the requirements with hashes (`uv pip compile --generate-hashes` or "
            "pip-tools) and install with --require-hashes.",
        )
    return Evidence("every requirement pinned with hashes", path=lock)


def _toml_lock(repo: Repository, lock: str) -> Evidence | Verdict:
    """Judge uv.lock, poetry.lock, pdm.lock or pylock.toml: it locks what pyproject declares."""
    # A lock file is large (uv.lock of a service: ~0.5 MB): read its package names with a
    # pattern, and parse it as TOML only when the pattern finds none.
    content = repo.text(lock) or ""
    locked = {
        _normalise(found)
        for found in re.findall(r'(?m)^\[\[packages?\]\]\s*\nname\s*=\s*"([^"]+)"', content)
    }
    if not locked:
        data = repo.toml(lock)
        if data is None:
            return unknown("DEL-5", f"{lock} could not be parsed.", [problem_evidence(repo, lock)])
        packages = data.get("package") or data.get("packages") or []
        locked = {
            _normalise(str(item.get("name", ""))) for item in packages if isinstance(item, dict)
        }
    if not locked:
        return failed(
            "DEL-5",
            f"{lock} locks no package.",
            [Evidence("empty lock", path=lock)],
            "Regenerate the lock file (`uv lock`) and commit it.",
        )
    stale = sorted(_declared(repo) - locked)
    if stale:
        return failed(
            "DEL-5",
            f"{lock} does not match pyproject.toml: {', '.join(stale[:5])} not locked.",
            [
                Evidence("dependencies missing from the lock", path=lock),
                Evidence("declared", path="pyproject.toml", key="project.dependencies"),
            ],
            "Run `uv lock` (or your tool's lock command) and commit the lock file.",
        )
    return Evidence(f"{len(locked)} packages locked", path=lock)


def _requirements(lines: list[str]) -> list[tuple[int, str]]:
    """Split requirement lines (continuations joined), each with its first line number."""
    found = []
    pending = ""
    start = 0
    for number, line in enumerate(lines, start=1):
        if not pending:
            start = number
        pending = f"{pending} {line.strip()}" if pending else line.strip()
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip() or " "
            continue
        found.append((start, pending.strip()))
        pending = ""
    if pending.strip():
        found.append((start, pending.strip()))
    return found


def _install_command(repo: Repository) -> Evidence | None:
    for name in ("Makefile", "justfile", "Taskfile.yml"):
        lines = repo.lines(name)
        for number, line in enumerate(lines, start=1):
            if not _INSTALL_TARGETS.match(line.strip()):
                continue
            for offset, recipe in enumerate(lines[number : number + 15], start=number + 1):
                if recipe and not recipe[0].isspace():
                    break
                if _INSTALL_COMMAND.search(recipe):
                    return Evidence(
                        f"`{line.split(':')[0].strip()}` target installs", path=name, line=offset
                    )
    for name in ("README.md", "README.rst", "CONTRIBUTING.md", "docs/development.md"):
        for number, line in enumerate(repo.lines(name), start=1):
            if _INSTALL_COMMAND.search(line) or re.search(r"\bmake\s+install\b", line):
                return Evidence("documented install command", path=name, line=number)
    return None


@rule("DEL-5")
def locked_dependencies(repo: Repository) -> Verdict:
    """Looks for a lock file and parses it: ``uv.lock``, ``poetry.lock``, ``pdm.lock``,
    ``pylock.toml`` must lock every dependency of ``pyproject.toml``; ``requirements*.txt``
    must pin every line with ``==`` and ``--hash``; plus one install command (a make
    ``install`` target or a documented ``uv sync``).
    """
    candidates = [
        name
        for name in ("uv.lock", "poetry.lock", "pdm.lock", "pylock.toml", "Pipfile.lock")
        if repo.exists(name)
    ]
    candidates += [
        name
        for name in repo.files
        if re.fullmatch(r"(requirements/)?requirements[\w.-]*\.txt", name)
        and any("--hash=" in line for line in repo.lines(name))
    ]
    if not candidates:
        declared = "pyproject.toml" if repo.exists("pyproject.toml") else "."
        return failed(
            "DEL-5",
            "No lock file: the dependency versions installed are not pinned.",
            [Evidence("no uv.lock, poetry.lock, pdm.lock or hashed requirements", path=declared)],
            "Lock the dependencies (`uv lock`) and commit the lock file.",
        )
    judged = _lock_verdict(repo, candidates[0])
    if isinstance(judged, Verdict):
        return judged
    evidence = [judged]
    command = _install_command(repo)
    if command is None:
        return failed(
            "DEL-5",
            "The dependencies are locked, but no single install command is given.",
            evidence,
            "Add a `make install` target (e.g. `uv sync --locked`) and document it in the README.",
        )
    return passed(
        "DEL-5", "The dependencies are locked and one command installs them.", [*evidence, command]
    )
