"""Quality standards (QA): coverage gate, test tiers, load test, lint, format, types, hooks.

Every rule reads the configuration the tools themselves read, in the order they read it
(``.coveragerc`` before ``setup.cfg`` before ``pyproject.toml``, ``mypy.ini`` before
``pyproject.toml``...), so a verdict matches what the team's tools would do.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
import shlex
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from svcforge.check.engine import rule
from svcforge.check.model import Evidence, Status, Verdict
from svcforge.check.repository import Repository

#: The lowest coverage gate QA-1 accepts, in percent.
COVERAGE_MINIMUM = 80.0

#: Files where teams spell out the commands they run (make targets, CI jobs, hooks).
_TASK_FILES = (
    "Makefile",
    "makefile",
    "GNUmakefile",
    "justfile",
    "Justfile",
    "tox.ini",
    "noxfile.py",
    "Taskfile.yml",
    ".pre-commit-config.yaml",
    ".pre-commit-config.yml",
    ".gitlab-ci.yml",
    "azure-pipelines.yml",
    "Jenkinsfile",
)
_TASK_FOLDERS = (".github/workflows", ".circleci", ".woodpecker", ".buildkite")

_TRUE = {"true", "1", "yes", "on"}


# -- shared readers ---------------------------------------------------------------------


def is_python_project(repo: Repository) -> bool:
    """Whether there is Python to judge: a packaging file or any ``.py`` file."""
    return any(repo.exists(name) for name in ("pyproject.toml", "setup.py", "setup.cfg")) or any(
        name.endswith(".py") for name in repo.files
    )


def unparsable_pyproject(repo: Repository) -> bool:
    """Whether ``pyproject.toml`` exists but could not be read as TOML."""
    return repo.exists("pyproject.toml") and repo.pyproject is None


def ini(repo: Repository, name: str) -> configparser.ConfigParser | None:
    """``name`` parsed as an INI file, or ``None`` (missing or invalid, recorded)."""
    content = repo.text(name)
    if content is None:
        return None
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(content, source=name)
    except configparser.Error as error:
        repo.problems[name] = f"invalid INI: {' '.join(str(error).split())}"
        return None
    return parser


def key_line(repo: Repository, path: str, section: str, key: str | None = None) -> int | None:
    """Find the line of ``key`` in ``[section]`` of a TOML/INI file (the header without key)."""
    current = None
    for number, line in enumerate(repo.lines(path), start=1):
        stripped = line.strip()
        if stripped.startswith("["):
            current = stripped.strip("[]").strip().replace('"', "")
            if key is None and current == section:
                return number
            continue
        if (
            key is not None
            and current == section
            and re.match(rf"{re.escape(key)}\s*[=:]", stripped)
        ):
            return number
    return None


def task_files(repo: Repository) -> list[str]:
    """List the files that hold the team's commands: Makefile, tox, nox, hooks, CI."""
    found = [name for name in _TASK_FILES if repo.exists(name)]
    for folder in _TASK_FOLDERS:
        found += [name for name in repo.under(folder) if name.endswith((".yml", ".yaml"))]
    return found


def mention(repo: Repository, pattern: str, files: Iterable[str]) -> Evidence | None:
    """Find the first line of ``files`` matching the regex ``pattern``, as evidence."""
    compiled = re.compile(pattern)
    for name in files:
        for number, line in enumerate(repo.lines(name), start=1):
            if compiled.search(line):
                return Evidence(f"`{line.strip()[:120]}`", path=name, line=number)
    return None


def _requirement_name(spec: str) -> str:
    name = re.split(r"[\s<>=!~;\[(@,]", spec.strip(), maxsplit=1)[0]
    return re.sub(r"[-_.]+", "-", name).lower()


def _pyproject_requirements(pyproject: dict[str, Any]) -> Iterator[str]:
    """Yield every requirement string pyproject.toml declares, whatever the tool."""
    project = _table(pyproject.get("project"))
    yield from _strings(project.get("dependencies"))
    yield from _strings_in(project.get("optional-dependencies"))
    yield from _strings_in(pyproject.get("dependency-groups"))
    tool = _table(pyproject.get("tool"))
    for name in ("uv", "pdm"):
        dev = _table(tool.get(name)).get("dev-dependencies")
        yield from _strings(dev)
        yield from _strings_in(dev)
    poetry = _table(tool.get("poetry"))
    groups = [_table(group).get("dependencies") for group in _table(poetry.get("group")).values()]
    for table in (poetry.get("dependencies"), poetry.get("dev-dependencies"), *groups):
        yield from (str(key) for key in _table(table))


def _table(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, list):
        yield from (item for item in value if isinstance(item, str))


def _strings_in(value: object) -> Iterator[str]:
    for specs in _table(value).values():
        yield from _strings(specs)


def declared_dependency(repo: Repository, *names: str) -> Evidence | None:
    """Where one of ``names`` is declared as a dependency (pyproject or requirements files)."""
    wanted = {_requirement_name(name) for name in names}
    if repo.pyproject is not None:
        for spec in _pyproject_requirements(repo.pyproject):
            name = _requirement_name(spec)
            if name in wanted:
                where = mention(repo, rf"""["']?{re.escape(name)}\b""", ["pyproject.toml"])
                at = where.line if where else None
                return Evidence(f"{name} is a declared dependency", "pyproject.toml", at)
    requirements = [
        name
        for name in repo.files
        if re.search(r"(^|/)requirements[^/]*\.(txt|in)$|^requirements/.*\.(txt|in)$", name)
    ]
    for path in [*requirements, "tox.ini", "setup.cfg", "setup.py"]:
        for number, line in enumerate(repo.lines(path), start=1):
            tokens = re.findall(r"[A-Za-z0-9][A-Za-z0-9._-]*", line.split("#", 1)[0])
            for token in tokens:
                if _requirement_name(token) in wanted:
                    return Evidence(f"{_requirement_name(token)} is required", path, number)
    return None


def find_test_modules(repo: Repository) -> list[str]:
    """List the test modules: ``test_*.py`` / ``*_test.py`` files."""
    return [
        name
        for name in repo.files
        if name.endswith(".py")
        and (
            PurePosixPath(name).name.startswith("test_")
            or PurePosixPath(name).name.endswith("_test.py")
        )
    ]


def _imported_modules(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def _top_level(modules: Iterable[str]) -> set[str]:
    return {module.split(".")[0] for module in modules}


# -- QA-1 -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageGate:
    """The coverage settings the test run applies, each with where it is set."""

    fail_under: float | None
    fail_under_at: Evidence | None
    branch: bool
    branch_at: Evidence | None
    #: Config files that exist but could not be parsed.
    unreadable: tuple[str, ...]


def _coverage_sources(
    repo: Repository,
) -> Iterator[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(path, section prefix, [run], [report]) of each coverage config, coverage.py's order."""
    if repo.exists(".coveragerc"):
        parser = ini(repo, ".coveragerc")
        if parser is not None:
            yield (".coveragerc", "", _section(parser, "run"), _section(parser, "report"))
    for name in ("setup.cfg", "tox.ini"):
        parser = ini(repo, name)
        if parser is not None and any(s.startswith("coverage:") for s in parser.sections()):
            run, report = _section(parser, "coverage:run"), _section(parser, "coverage:report")
            yield (name, "coverage:", run, report)
    coverage = repo.tool("coverage")
    if isinstance(coverage, dict):
        yield (
            "pyproject.toml",
            "tool.coverage.",
            _table(coverage.get("run")),
            _table(coverage.get("report")),
        )


def _section(parser: configparser.ConfigParser, name: str) -> dict[str, Any]:
    return dict(parser.items(name)) if parser.has_section(name) else {}


def pytest_addopts(repo: Repository) -> tuple[list[str], Evidence | None]:
    """Read pytest's ``addopts`` from the config file pytest itself would pick, as args."""
    candidates: list[tuple[str, str, Any]] = []
    for name, section in (("pytest.ini", "pytest"), (".pytest.ini", "pytest")):
        parser = ini(repo, name)
        if parser is not None:
            candidates.append((name, section, parser.get(section, "addopts", fallback=None)))
    pytest_tool = repo.tool("pytest")
    if isinstance(pytest_tool, dict):
        options = pytest_tool.get("ini_options")
        if isinstance(options, dict):
            candidates.append(("pyproject.toml", "tool.pytest.ini_options", options.get("addopts")))
        else:
            candidates.append(("pyproject.toml", "tool.pytest", pytest_tool.get("addopts")))
    for name, section in (("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        parser = ini(repo, name)
        if parser is not None and parser.has_section(section):
            candidates.append((name, section, parser.get(section, "addopts", fallback=None)))
    if not candidates:
        return [], None
    path, section, value = candidates[0]
    if isinstance(value, list):
        args = [str(item) for item in value]
    elif isinstance(value, str):
        try:
            args = shlex.split(value)
        except ValueError:
            args = value.split()
    else:
        return [], None
    return args, Evidence(
        f"pytest addopts: {' '.join(args)}",
        path,
        key_line(repo, path, section, "addopts"),
        key=f"[{section}] addopts",
    )


def _option_value(args: list[str], option: str) -> str | None:
    for index, arg in enumerate(args):
        if arg.startswith(f"{option}="):
            return arg.split("=", 1)[1]
        if arg == option and index + 1 < len(args):
            return args[index + 1]
    return None


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def coverage_gate(repo: Repository) -> CoverageGate:
    """Find the fail-under threshold and branch setting a test run with coverage applies.

    ``--cov-fail-under`` in pytest's addopts wins over the coverage config's
    ``fail_under`` (as in pytest-cov); failing both, a ``--cov-fail-under`` or
    ``coverage report --fail-under`` in a Makefile, tox, nox or CI file counts.
    """
    unreadable = [
        name
        for name in ("pyproject.toml", "setup.cfg", "tox.ini", ".coveragerc", "pytest.ini")
        if repo.exists(name)
        and (
            (name == "pyproject.toml" and repo.pyproject is None)
            or (name != "pyproject.toml" and ini(repo, name) is None)
        )
    ]
    fail_under: float | None = None
    fail_under_at: Evidence | None = None
    branch = False
    branch_at: Evidence | None = None
    for path, prefix, run, report in _coverage_sources(repo):
        if "fail_under" in report:
            fail_under = _number(report["fail_under"])
            fail_under_at = Evidence(
                f"fail_under = {_shown(report['fail_under'])}",
                path,
                key_line(repo, path, f"{prefix}report" if prefix else "report", "fail_under"),
                key=f"[{prefix}report] fail_under",
            )
        if "branch" in run:
            branch = str(run["branch"]).strip().lower() in _TRUE
            branch_at = Evidence(
                f"branch = {_shown(run['branch'])}",
                path,
                key_line(repo, path, f"{prefix}run" if prefix else "run", "branch"),
                key=f"[{prefix}run] branch",
            )
        break  # coverage.py reads the first file that configures it, and only that one
    addopts, addopts_at = pytest_addopts(repo)
    from_addopts = _option_value(addopts, "--cov-fail-under")
    if from_addopts is not None and addopts_at is not None:
        fail_under = _number(from_addopts)
        fail_under_at = Evidence(
            f"--cov-fail-under={from_addopts} in pytest's addopts",
            addopts_at.path,
            addopts_at.line,
            key=addopts_at.key,
        )
    if "--cov-branch" in addopts and addopts_at is not None:
        branch = True
        branch_at = Evidence("--cov-branch in pytest's addopts", addopts_at.path, addopts_at.line)
    if fail_under is None:
        found = mention(
            repo,
            r"--cov-fail-under[= ]\d+|coverage\s+report\b.*--fail-under[= ]\d+",
            task_files(repo),
        )
        if found is not None:
            value = re.search(r"fail-under[= ](\d+(?:\.\d+)?)", found.note)
            fail_under = float(value.group(1)) if value else None
            fail_under_at = found
    if not branch:
        found = mention(repo, r"--cov-branch\b", task_files(repo))
        if found is not None:
            branch, branch_at = True, found
    return CoverageGate(fail_under, fail_under_at, branch, branch_at, tuple(unreadable))


def _shown(value: object) -> str:
    """Show a config value as the file spells it (TOML booleans in lower case)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _percent(value: float) -> str:
    return f"{value:g}%"


@rule("QA-1")
def coverage_gate_rule(repo: Repository) -> Verdict:
    """Reads the coverage config the test run uses (.coveragerc, setup.cfg, tox.ini or
    pyproject.toml [tool.coverage]; pytest addopts `--cov-fail-under`): fail_under >= 80, branch
    = true, and pytest-cov or coverage a declared dependency.

    Without ``--run`` the gate is judged from the configuration; ``--run`` runs the tests
    with coverage and compares the total with the gate.
    """
    if not is_python_project(repo):
        return Verdict(
            "QA-1",
            Status.FAIL,
            "No Python project here (no pyproject.toml, setup.cfg or .py file): "
            "no coverage gate to judge.",
            (Evidence("no pyproject.toml, setup.cfg, setup.py or .py file", path="."),),
            "Gate the test run on coverage: fail_under = 80 and branch = true in its config.",
        )
    gate = coverage_gate(repo)
    problems: list[str] = []
    evidence: list[Evidence] = []
    if gate.fail_under is None:
        problems.append("no coverage gate (fail_under) is configured")
    elif gate.fail_under < COVERAGE_MINIMUM:
        problems.append(f"the coverage gate is {_percent(gate.fail_under)}, below 80%")
    if gate.fail_under_at is not None:
        evidence.append(gate.fail_under_at)
    if not gate.branch:
        problems.append("branch coverage is not measured")
    if gate.branch_at is not None:
        evidence.append(gate.branch_at)
    tool = declared_dependency(repo, "pytest-cov", "coverage")
    if tool is None:
        problems.append("neither pytest-cov nor coverage is a declared dependency")
    else:
        evidence.append(tool)
    if not problems:
        return Verdict(
            "QA-1",
            Status.PASS,
            f"The test run fails below {_percent(gate.fail_under or 0)} coverage, "
            "branches included.",
            tuple(evidence),
        )
    if gate.unreadable:
        return Verdict(
            "QA-1",
            Status.UNKNOWN,
            f"The coverage gate cannot be judged: {', '.join(gate.unreadable)} does not parse.",
            (
                *evidence,
                *(Evidence(repo.problems.get(n, "unreadable"), n) for n in gate.unreadable),
            ),
            "Fix the syntax of the file so its settings can be read.",
        )
    return Verdict(
        "QA-1",
        Status.FAIL,
        f"The coverage gate is not enforced: {'; '.join(problems)}.",
        tuple(evidence) or (Evidence("no [tool.coverage] settings", path="pyproject.toml"),),
        "Set fail_under = 80 in [tool.coverage.report] and branch = true in [tool.coverage.run], "
        "and run the tests with pytest-cov (`pytest --cov`).",
    )


# -- QA-2 -------------------------------------------------------------------------------

_UNIT_WORDS = {"unit", "units", "unittests", "unit_tests", "unit-tests"}
_INTEGRATION_WORDS = {
    "integration",
    "integrations",
    "integration_tests",
    "integration-tests",
    "it",
    "db",
    "database",
}
_API_WORDS = {"api", "apis", "e2e", "http", "functional", "endpoints", "routes", "acceptance"}
_DB_MODULES = {
    "sqlalchemy",
    "sqlmodel",
    "asyncpg",
    "psycopg",
    "psycopg2",
    "psycopg_pool",
    "alembic",
    "testcontainers",
    "databases",
    "pymongo",
    "motor",
    "tortoise",
    "peewee",
    "piccolo",
    "django",
    "pymysql",
    "aiomysql",
    "aiosqlite",
    "sqlite3",
    "beanie",
    "odmantic",
    "pytest_postgresql",
}
_SERVER_DRIVERS = (
    "asyncpg",
    "psycopg",
    "psycopg2",
    "psycopg2-binary",
    "pymysql",
    "aiomysql",
    "mysqlclient",
    "oracledb",
    "pymongo",
    "motor",
)
_HTTP_MODULES = {
    "httpx",
    "requests",
    "aiohttp",
    "fastapi.testclient",
    "starlette.testclient",
    "litestar.testing",
    "flask.testing",
    "schemathesis",
}
_HTTP_VERBS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"}


@dataclass
class _TestModule:
    path: str
    tests: int
    hints: set[str]
    modules: set[str]
    client_calls: int


def _count_tests(tree: ast.Module) -> int:
    count = 0
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            count += 1
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            count += sum(
                1
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                and item.name.startswith("test")
            )
    return count


def _markers(tree: ast.Module) -> set[str]:
    """``pytest.mark.<name>`` used anywhere in the module (decorators or ``pytestmark``)."""
    found = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "mark"
        ):
            found.add(node.attr.lower())
    return found


def _client_calls(tree: ast.Module) -> int:
    """Count calls like ``client.get(...)``, ``await api_client.post(...)``: HTTP via a client."""
    count = 0
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr not in _HTTP_VERBS:
            continue
        receiver = node.func.value
        name = receiver.attr if isinstance(receiver, ast.Attribute) else getattr(receiver, "id", "")
        if "client" in str(name).lower():
            count += 1
    return count


def _hints(path: str, markers: set[str]) -> set[str]:
    """Name the tiers a test module's folders stand for; failing that, its name and markers."""
    parts = PurePosixPath(path).parts
    hints = _tier_words({part.lower() for part in parts[:-1]})
    if hints:
        return hints  # tests/unit/test_database_errors.py is a unit test
    words = set(re.split(r"[_\-]", PurePosixPath(path).stem.lower()))
    hints = _tier_words(words | markers)
    if markers & {"db", "database"}:
        hints.add("integration")
    if markers & {"e2e"}:
        hints.add("api")
    return hints


def _tier_words(words: set[str]) -> set[str]:
    hints = set()
    if words & _UNIT_WORDS:
        hints.add("unit")
    if words & _INTEGRATION_WORDS:
        hints.add("integration")
    if words & _API_WORDS:
        hints.add("api")
    return hints


def _conftests(repo: Repository, path: str) -> list[str]:
    """List the ``conftest.py`` files pytest loads for ``path`` (its folder and those above)."""
    found = []
    folder = PurePosixPath(path).parent
    while True:
        candidate = (folder / "conftest.py").as_posix().removeprefix("./")
        if repo.exists(candidate):
            found.append(candidate)
        if folder == folder.parent or str(folder) in {"", "."}:
            break
        folder = folder.parent
    return found


def _read_test_modules(repo: Repository) -> tuple[list[_TestModule], list[str]]:
    """Read the test modules that hold tests, and list the ones that do not parse."""
    modules: list[_TestModule] = []
    unparsable: list[str] = []
    for path in find_test_modules(repo):
        tree = repo.python(path)
        if tree is None:
            unparsable.append(path)
            continue
        tests = _count_tests(tree)
        if tests:
            hints = _hints(path, _markers(tree))
            modules.append(
                _TestModule(path, tests, hints, _imported_modules(tree), _client_calls(tree))
            )
    return modules, unparsable


def _tiers(
    repo: Repository, modules: list[_TestModule]
) -> tuple[list[_TestModule], list[_TestModule], list[_TestModule]]:
    """Sort the test modules into the unit, integration and API tiers (others dropped)."""
    conftest_modules: dict[str, set[str]] = {}
    for name in {c for module in modules for c in _conftests(repo, module.path)}:
        tree = repo.python(name)
        conftest_modules[name] = _imported_modules(tree) if tree is not None else set()

    def uses_http(module: _TestModule) -> bool:
        return bool(module.modules & _HTTP_MODULES) or module.client_calls > 0

    def uses_db(module: _TestModule) -> bool:
        reached = set(module.modules)
        for name in _conftests(repo, module.path):
            reached |= conftest_modules.get(name, set())
        return bool(_top_level(reached) & _DB_MODULES)

    api = [m for m in modules if "api" in m.hints and uses_http(m)]
    # API tests often need the database too (and carry its marker): they are not the
    # integration tier, which exercises the data layer itself.
    integration = [
        m for m in modules if "integration" in m.hints and "api" not in m.hints and uses_db(m)
    ]
    unit = [m for m in modules if "unit" in m.hints and not ({"api", "integration"} & m.hints)]
    if not unit:  # no unit folder: tests that need neither database nor HTTP are unit tests
        unit = [
            m
            for m in modules
            if not m.hints and not uses_http(m) and not (_top_level(m.modules) & _DB_MODULES)
        ]
    return unit, integration, api


@rule("QA-2")
def three_test_tiers(repo: Repository) -> Verdict:
    """Classifies the test modules by folder, file name and pytest marker, then by what they do:
    unit tests that need neither database nor HTTP, integration tests that reach a database
    library (in the module or its conftest.py) rather than SQLite in place of a server database,
    and API tests that call the app through an HTTP client (httpx, TestClient).

    A tier counts only when its modules hold test functions.
    """
    if not is_python_project(repo):
        return Verdict(
            "QA-2",
            Status.FAIL,
            "No Python project here: no unit, integration or API tests to judge.",
            (Evidence("no .py file", path="."),),
            "Add unit tests for the services, integration tests against the real database "
            "and API tests through HTTP.",
        )
    modules, unparsable = _read_test_modules(repo)
    unit, integration, api = _tiers(repo, modules)
    problems: list[str] = []
    evidence: list[Evidence] = []
    for tier, found, missing in (
        ("unit", unit, "no unit tests (tests/unit/, needing neither database nor HTTP)"),
        (
            "integration",
            integration,
            "no integration tests against a database (tests/integration/ using the database)",
        ),
        ("API", api, "no API tests through HTTP (tests/api/ calling the app with a client)"),
    ):
        if found:
            tests = sum(m.tests for m in found)
            evidence.append(
                Evidence(
                    f"{tier} tier: {tests} tests in {len(found)} modules, e.g. {found[0].path}",
                    path=found[0].path,
                )
            )
        else:
            problems.append(missing)
    if integration and not problems:
        fake = _sqlite_stand_in(repo, integration)
        if fake is not None:
            problems.append("the integration tests run on SQLite, not the service's database")
            evidence.append(fake)
    if not problems:
        return Verdict(
            "QA-2",
            Status.PASS,
            "Unit, integration and API test tiers are all there.",
            tuple(evidence),
        )
    if unparsable:
        evidence += [Evidence(repo.problems.get(p, "does not parse"), path=p) for p in unparsable]
        return Verdict(
            "QA-2",
            Status.UNKNOWN,
            f"The test tiers cannot be judged: {len(unparsable)} test modules do not parse.",
            tuple(evidence),
            "Fix the syntax errors in the test modules.",
        )
    return Verdict(
        "QA-2",
        Status.FAIL,
        f"A test tier is missing: {'; '.join(problems)}.",
        tuple(evidence) or (Evidence(f"{len(modules)} test modules with tests", path="."),),
        "Keep three tiers: unit tests for the services, integration tests against the real "
        "database, API tests through the HTTP layer (httpx or TestClient).",
    )


def _sqlite_stand_in(repo: Repository, integration: list[_TestModule]) -> Evidence | None:
    """Evidence that SQLite stands in for a server database the service depends on."""
    if declared_dependency(repo, *_SERVER_DRIVERS) is None:
        return None
    files = {m.path for m in integration}
    files |= {c for m in integration for c in _conftests(repo, m.path)}
    text = "\n".join(repo.text(name) or "" for name in sorted(files))
    if re.search(r"postgres|asyncpg|psycopg|mysql|mariadb|testcontainers|mongo", text, re.I):
        return None
    return mention(repo, r"sqlite", sorted(files))


# -- QA-3 -------------------------------------------------------------------------------

_LOCUST_USERS = {"HttpUser", "FastHttpUser", "User", "TaskSet", "SequentialTaskSet"}


def _locust_scenario(tree: ast.Module) -> tuple[str, int] | None:
    """(class name, line) of a Locust user class with at least one task."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.ClassDef):
            continue
        bases = {
            b.attr if isinstance(b, ast.Attribute) else getattr(b, "id", "") for b in node.bases
        }
        if not bases & _LOCUST_USERS:
            continue
        for item in node.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                for decorator in item.decorator_list:
                    target = decorator.func if isinstance(decorator, ast.Call) else decorator
                    name = (
                        target.attr
                        if isinstance(target, ast.Attribute)
                        else getattr(target, "id", "")
                    )
                    if name == "task":
                        return node.name, node.lineno
            if isinstance(item, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "tasks" for t in item.targets
            ):
                return node.name, node.lineno
    return None


def _locust_file(repo: Repository, path: str, unparsable: list[str]) -> Evidence | None:
    """Evidence of a Locust scenario in ``path`` (noting it in ``unparsable`` if need be)."""
    content = repo.text(path)
    if content is None or "locust" not in content:
        return None
    tree = repo.python(path)
    if tree is None:
        unparsable.append(path)
        return None
    if "locust" not in _top_level(_imported_modules(tree)):
        return None
    found = _locust_scenario(tree)
    if found is None:
        return None
    return Evidence(f"Locust user class {found[0]} with tasks", path, found[1])


@rule("QA-3")
def load_test(repo: Repository) -> Verdict:
    """Looks for a load-test scenario: a Locust file (a User class with at least one @task, Locust a
    declared dependency), a k6 script (imports k6, exports a default function) or an Artillery
    config with scenarios.

    A test module that merely mentions a load tool does not count.
    """
    unparsable: list[str] = []
    locust_without_dependency: Evidence | None = None
    tests = set(find_test_modules(repo))
    for path in repo.files:
        scenario: Evidence | None = None
        if path.endswith(".py") and path not in tests:
            scenario = _locust_file(repo, path, unparsable)
            if scenario is not None:
                dependency = declared_dependency(repo, "locust")
                if dependency is None:
                    locust_without_dependency = scenario
                    continue
                return Verdict(
                    "QA-3",
                    Status.PASS,
                    f"A Locust scenario ({path}) is ready to run against the service.",
                    (scenario, dependency),
                )
        elif path.endswith((".js", ".ts", ".mjs")):
            scenario = _k6_script(repo, path)
        elif path.endswith((".yml", ".yaml")):
            scenario = _artillery(repo, path)
        if scenario is not None:
            return Verdict(
                "QA-3",
                Status.PASS,
                f"A load-test scenario ({path}) is there: {scenario.note}.",
                (scenario,),
            )
    if locust_without_dependency is not None and unparsable_pyproject(repo):
        return Verdict(
            "QA-3",
            Status.UNKNOWN,
            "A Locust scenario exists, but whether Locust is installed cannot be read: "
            "pyproject.toml does not parse.",
            (
                locust_without_dependency,
                Evidence(repo.problems["pyproject.toml"], "pyproject.toml"),
            ),
            "Fix the syntax of pyproject.toml.",
        )
    if locust_without_dependency is not None:
        return Verdict(
            "QA-3",
            Status.FAIL,
            "A Locust scenario exists but Locust is not a declared dependency, so it cannot run.",
            (locust_without_dependency,),
            "Add locust to the development dependencies (e.g. `uv add --dev locust`).",
        )
    if unparsable:
        return Verdict(
            "QA-3",
            Status.UNKNOWN,
            "No load-test scenario found, and some files that mention Locust do not parse.",
            tuple(Evidence(repo.problems.get(p, "does not parse"), path=p) for p in unparsable),
            "Fix the syntax errors in the load-test files.",
        )
    return Verdict(
        "QA-3",
        Status.FAIL,
        "No load-test scenario (Locust, k6 or Artillery) was found.",
        (Evidence("no locustfile with a task, no k6 script, no Artillery scenario", path="."),),
        "Add a load-test scenario, e.g. loadtest/locustfile.py with an HttpUser and @task methods.",
    )


def _k6_script(repo: Repository, path: str) -> Evidence | None:
    content = repo.text(path)
    if content is None or "k6" not in content:
        return None
    imports = re.search(r"""^\s*import\b.*from\s+['"]k6(/[\w/-]+)?['"]""", content, re.M)
    default = re.search(r"^\s*export\s+default\s+(async\s+)?function", content, re.M)
    if imports is None or default is None:
        return None
    line = content.count("\n", 0, default.start()) + 1
    return Evidence("k6 script with a default function", path, line)


def _artillery(repo: Repository, path: str) -> Evidence | None:
    content = repo.text(path)
    if content is None or "scenarios" not in content or "config" not in content:
        return None
    loaded = repo.yaml(path)
    if not isinstance(loaded, dict):
        return None
    config, scenarios = loaded.get("config"), loaded.get("scenarios")
    if (
        isinstance(config, dict)
        and "target" in config
        and isinstance(scenarios, list)
        and scenarios
    ):
        return Evidence(f"Artillery config with {len(scenarios)} scenarios", path)
    return None


# -- QA-4 -------------------------------------------------------------------------------


def _ruff_settings(repo: Repository) -> tuple[str, dict[str, Any], str] | None:
    """(path, settings, table prefix) of the ruff config ruff would read at the root."""
    for name in (".ruff.toml", "ruff.toml"):
        if repo.exists(name):
            loaded = repo.toml(name)
            return (name, loaded, "") if loaded is not None else None
    ruff = repo.tool("ruff")
    if isinstance(ruff, dict):
        return "pyproject.toml", ruff, "tool.ruff"
    return None


def linter(repo: Repository) -> tuple[Evidence | None, str | None]:
    """(evidence of a linter with rules selected, or the problem found)."""
    ruff = _ruff_settings(repo)
    if ruff is not None:
        path, settings, prefix = ruff
        lint = settings.get("lint") if isinstance(settings.get("lint"), dict) else {}
        for table, section in ((lint, "lint"), (settings, "")):
            for key in ("select", "extend-select"):
                selected = table.get(key) if isinstance(table, dict) else None
                if isinstance(selected, list) and selected:
                    where = ".".join(part for part in (prefix, section) if part)
                    return (
                        Evidence(
                            f"ruff selects {', '.join(map(str, selected[:8]))}",
                            path,
                            key_line(repo, path, where, key),
                            key=f"[{where}] {key}",
                        ),
                        None,
                    )
        return None, f"ruff is configured ({path}) but selects no rules beyond its defaults"
    for name, section in ((".flake8", "flake8"), ("setup.cfg", "flake8"), ("tox.ini", "flake8")):
        parser = ini(repo, name)
        if parser is not None and parser.has_section(section):
            return Evidence("flake8 is configured", name, key_line(repo, name, section)), None
    if isinstance(repo.tool("pylint"), dict) or repo.exists(".pylintrc"):
        where = ".pylintrc" if repo.exists(".pylintrc") else "pyproject.toml"
        return Evidence("pylint is configured", where), None
    return None, "no linter is configured (no [tool.ruff.lint] select)"


def formatter(repo: Repository) -> Evidence | None:
    """Find the formatter: ruff format or black, configured or run by hooks, make or CI."""
    ruff = _ruff_settings(repo)
    if ruff is not None and isinstance(ruff[1].get("format"), dict):
        path, _, prefix = ruff
        where = ".".join(p for p in (prefix, "format") if p)
        return Evidence("ruff format is configured", path, key_line(repo, path, where))
    if isinstance(repo.tool("black"), dict):
        return Evidence(
            "black is configured", "pyproject.toml", key_line(repo, "pyproject.toml", "tool.black")
        )
    return mention(repo, r"ruff[- ]format|\bruff\b.*\bformat\b|\bblack\b(?!list)", task_files(repo))


def strict_types(repo: Repository) -> tuple[Evidence | None, Evidence | None]:
    """(evidence of a strict type checker, evidence of a non-strict one)."""
    lenient: Evidence | None = None
    mypy_sources: list[tuple[str, str, Any]] = []
    for name in ("mypy.ini", ".mypy.ini"):
        parser = ini(repo, name)
        if parser is not None and parser.has_section("mypy"):
            mypy_sources.append((name, "mypy", parser.get("mypy", "strict", fallback=None)))
    mypy = repo.tool("mypy")
    if isinstance(mypy, dict):
        mypy_sources.append(("pyproject.toml", "tool.mypy", mypy.get("strict")))
    parser = ini(repo, "setup.cfg")
    if parser is not None and parser.has_section("mypy"):
        mypy_sources.append(("setup.cfg", "mypy", parser.get("mypy", "strict", fallback=None)))
    if mypy_sources:  # mypy reads the first of these files and no other
        path, section, value = mypy_sources[0]
        if str(value).strip().lower() in _TRUE:
            line = key_line(repo, path, section, "strict")
            return Evidence("mypy strict = true", path, line, key=f"[{section}] strict"), None
        line = key_line(repo, path, section, "strict") or key_line(repo, path, section)
        lenient = Evidence(f"mypy strict = {value}", path, line, key=f"[{section}] strict")
    for table in ("pyright", "basedpyright"):
        settings = repo.tool(table)
        if isinstance(settings, dict) and settings.get("typeCheckingMode") in {"strict", "all"}:
            line = key_line(repo, "pyproject.toml", f"tool.{table}", "typeCheckingMode")
            return Evidence(f"{table} in strict mode", "pyproject.toml", line), None
    content = repo.text("pyrightconfig.json")
    if content is not None:
        try:
            loaded = json.loads(content)
        except ValueError:
            loaded = None
        if isinstance(loaded, dict) and loaded.get("typeCheckingMode") == "strict":
            return Evidence("pyright in strict mode", "pyrightconfig.json"), None
    return None, lenient


_HOOK_TOOLS = re.compile(r"ruff|black|flake8|pylint|mypy|pyright|isort", re.I)


def _hooks(repo: Repository) -> tuple[Evidence | None, str | None]:
    for name in (".pre-commit-config.yaml", ".pre-commit-config.yml"):
        if not repo.exists(name):
            continue
        loaded = repo.yaml(name)
        repos = loaded.get("repos") if isinstance(loaded, dict) else None
        if not isinstance(repos, list):
            return None, f"{name} does not parse to a list of repos"
        hooks = [
            hook
            for entry in repos
            if isinstance(entry, dict) and isinstance(entry.get("hooks"), list)
            for hook in entry["hooks"]
            if isinstance(hook, dict) and "id" in hook
        ]
        quality = [
            str(hook["id"])
            for hook in hooks
            if _HOOK_TOOLS.search(f"{hook.get('id')} {hook.get('entry', '')}")
        ]
        if not quality:
            return None, f"the hooks of {name} run no linter, formatter or type checker"
        return Evidence(f"pre-commit hooks: {', '.join(quality)}", name), None
    return None, "no pre-commit hooks (.pre-commit-config.yaml)"


@rule("QA-4")
def lint_format_types_hooks(repo: Repository) -> Verdict:
    """Reads the tools' own config: a linter with rules selected ([tool.ruff.lint] select,
    ruff.toml, flake8), a formatter (ruff format or black, configured or run by
    hooks/Makefile/CI), strict typing (mypy strict = true in mypy.ini/pyproject.toml/setup.cfg,
    or pyright strict) and pre-commit hooks that run them.

    With ``--run`` the linter, the formatter check and mypy are run and must pass.
    """
    if not is_python_project(repo):
        return Verdict(
            "QA-4",
            Status.FAIL,
            "No Python project here: no linter, formatter or type checker to judge.",
            (Evidence("no pyproject.toml or .py file", path="."),),
            "Configure ruff (rules selected), ruff format, mypy --strict and pre-commit hooks.",
        )
    problems: list[str] = []
    evidence: list[Evidence] = []
    found_linter, lint_problem = linter(repo)
    if found_linter is None:
        problems.append(lint_problem or "no linter")
    else:
        evidence.append(found_linter)
    found_formatter = formatter(repo)
    if found_formatter is None:
        problems.append("no formatter (ruff format or black) is configured or run")
    else:
        evidence.append(found_formatter)
    strict, lenient = strict_types(repo)
    if strict is None:
        problems.append("the type checker is not strict" if lenient else "no type checker")
        if lenient is not None:
            evidence.append(lenient)
    else:
        evidence.append(strict)
    hooks, hook_problem = _hooks(repo)
    if hooks is None:
        problems.append(hook_problem or "no pre-commit hooks")
    else:
        evidence.append(hooks)
    if not problems:
        return Verdict(
            "QA-4",
            Status.PASS,
            "A linter, a formatter, strict type checking and pre-commit hooks are configured.",
            tuple(evidence),
        )
    unreadable = [
        name
        for name in ("pyproject.toml", "ruff.toml", ".ruff.toml", ".pre-commit-config.yaml")
        if name in repo.problems
    ]
    if unreadable:
        return Verdict(
            "QA-4",
            Status.UNKNOWN,
            f"Lint and type settings cannot be judged: {', '.join(unreadable)} does not parse.",
            (*evidence, *(Evidence(repo.problems[n], path=n) for n in unreadable)),
            "Fix the syntax of the file so its settings can be read.",
        )
    return Verdict(
        "QA-4",
        Status.FAIL,
        f"Code quality tooling is incomplete: {'; '.join(problems)}.",
        tuple(evidence) or (Evidence("no tool configuration", path="pyproject.toml"),),
        "Select ruff rules in [tool.ruff.lint], format with ruff format, set strict = true in "
        "[tool.mypy] and run them from .pre-commit-config.yaml hooks.",
    )
