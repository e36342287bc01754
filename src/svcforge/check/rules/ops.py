"""OPS rules: probes, structured logs, metrics, tracing, shutdown, outbound calls, settings.

Each rule reads the Python AST of the repository's own source (tests excluded), so it
finds the FastAPI routes, the logging set-up or the settings class wherever the team put
them. The small AST and verdict helpers at the top are shared with ``rules/data.py`` and
``rules/delivery.py``.
"""

from __future__ import annotations

import ast
import re
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar, cast

import yaml

from svcforge.check.engine import rule
from svcforge.check.model import Evidence, Status, Verdict
from svcforge.check.repository import Repository

# -- helpers shared by the data, ops and delivery rules -----------------------------------


def passed(standard_id: str, summary: str, evidence: Iterable[Evidence] = ()) -> Verdict:
    """Return a passing verdict."""
    return Verdict(standard_id, Status.PASS, summary, tuple(evidence))


def failed(
    standard_id: str, summary: str, evidence: Iterable[Evidence], remediation: str
) -> Verdict:
    """Return a failing verdict with what to do about it."""
    return Verdict(standard_id, Status.FAIL, summary, tuple(evidence), remediation)


def unknown(standard_id: str, summary: str, evidence: Iterable[Evidence] = ()) -> Verdict:
    """Return a verdict for what could not be judged (a file that does not parse...)."""
    return Verdict(standard_id, Status.UNKNOWN, summary, tuple(evidence))


def not_applicable(standard_id: str, summary: str, evidence: Iterable[Evidence] = ()) -> Verdict:
    """Return a verdict for a standard with nothing to apply to in this repository."""
    return Verdict(standard_id, Status.NOT_APPLICABLE, summary, tuple(evidence))


def problem_evidence(repo: Repository, path: str) -> Evidence:
    """Why ``path`` could not be used, as evidence."""
    return Evidence(repo.problems.get(path, "could not be read"), path=path)


def source_modules(repo: Repository) -> list[tuple[str, ast.Module]]:
    """Return the repository's own Python modules that parse (tests excluded), with their trees."""
    found = []
    for name in repo.python_files():
        tree = repo.python(name)
        if tree is not None:
            found.append((name, tree))
    return found


def python_gate(repo: Repository, standard_id: str) -> Verdict | None:
    """Return a verdict when there is no Python to judge: none at all (fail) or none parses."""
    names = repo.python_files()
    if not names:
        return failed(
            standard_id,
            "No Python source found: this standard is judged on a Python service's code.",
            (Evidence("no .py file outside tests", path="."),),
            "Check the folder of the Python service, or record a waiver in an ADR "
            f"(`Waives: {standard_id}`).",
        )
    if not source_modules(repo):
        return unknown(
            standard_id,
            "No Python module of the repository could be parsed.",
            [problem_evidence(repo, name) for name in names[:5]],
        )
    return None


def dotted_name(node: ast.AST) -> str:
    """``a.b.c`` for a name or attribute chain (calls shown as ``f()``), else ``""``."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        base = dotted_name(node.func)
        return f"{base}()" if base else ""
    return ""


def last_name(node: ast.AST) -> str:
    """Return the last part of a called name: ``commit`` for ``session.commit``."""
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


_Node = TypeVar("_Node", bound=ast.AST)

#: Each parsed module's nodes grouped by type, walked once: every rule of this package
#: looks through the same trees many times, and walking them dominates a check's time.
_INDEX: weakref.WeakKeyDictionary[ast.AST, dict[type[ast.AST], list[ast.AST]]] = (
    weakref.WeakKeyDictionary()
)


def nodes_of(tree: ast.AST, kind: type[_Node]) -> list[_Node]:
    """Every node of ``kind`` in ``tree`` (modules are indexed once, then looked up)."""
    index = _INDEX.get(tree) if isinstance(tree, ast.Module) else None
    if index is None:
        index = {}
        for node in ast.walk(tree):
            index.setdefault(type(node), []).append(node)
        if isinstance(tree, ast.Module):
            _INDEX[tree] = index
    found: list[_Node] = []
    for node_type, items in index.items():
        if issubclass(node_type, kind):
            found += cast("list[_Node]", items)
    return found


def imported_modules(tree: ast.Module) -> Iterator[tuple[str, int]]:
    """Every absolute module an ``import`` names, with its line."""
    for node in nodes_of(tree, ast.Import):
        for alias in node.names:
            yield alias.name, node.lineno
    for found in nodes_of(tree, ast.ImportFrom):
        if found.module and not found.level:
            yield found.module, found.lineno


def find_imports(
    modules: Iterable[tuple[str, ast.Module]], prefixes: Iterable[str]
) -> list[Evidence]:
    """Where a module named ``prefix`` (or below it) is imported, first place per module."""
    wanted = tuple(prefixes)
    found = []
    for name, tree in modules:
        for module, line in imported_modules(tree):
            if any(module == prefix or module.startswith(prefix + ".") for prefix in wanted):
                found.append(Evidence(f"imports {module}", path=name, line=line))
                break
    return found


def string_constants(tree: ast.AST) -> Iterator[ast.Constant]:
    """Every string literal of a tree."""
    for node in nodes_of(tree, ast.Constant):
        if isinstance(node.value, str):
            yield node


def calls(tree: ast.AST) -> Iterator[ast.Call]:
    """Every call of a tree."""
    yield from nodes_of(tree, ast.Call)


def keyword_names(call: ast.Call) -> set[str]:
    """Return the keyword arguments of a call, with the keys of ``**{...}`` literals."""
    names = set()
    for keyword in call.keywords:
        if keyword.arg is not None:
            names.add(keyword.arg)
        elif isinstance(keyword.value, ast.Dict):
            names.update(
                key.value
                for key in keyword.value.keys
                if isinstance(key, ast.Constant) and isinstance(key.value, str)
            )
    return names


def yaml_documents(repo: Repository, path: str) -> list[Any] | None:
    """Every YAML document of ``path`` (``None`` when unreadable or invalid, recorded)."""
    content = repo.text(path)
    if content is None:
        return None
    try:
        return [document for document in yaml.safe_load_all(content) if document is not None]
    except yaml.YAMLError as error:
        repo.problems[path] = f"invalid YAML: {' '.join(str(error).split())}"
        return None


def line_matching(repo: Repository, path: str, pattern: str) -> int | None:
    """Return the first line of ``path`` matching the regular expression ``pattern``."""
    compiled = re.compile(pattern)
    for number, text in enumerate(repo.lines(path), start=1):
        if compiled.search(text):
            return number
    return None


def functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    """Every function (methods and nested ones included) of a tree."""
    yield from nodes_of(tree, ast.FunctionDef)
    yield from nodes_of(tree, ast.AsyncFunctionDef)


def settings_classes(
    modules: Iterable[tuple[str, ast.Module]],
) -> list[tuple[str, ast.ClassDef]]:
    """Classes that read settings from the environment (pydantic ``BaseSettings``...)."""
    found = []
    for name, tree in modules:
        for node in nodes_of(tree, ast.ClassDef):
            if any(
                last_name(base) in {"BaseSettings", "Settings", "Env", "EnvSettings"}
                and dotted_name(base) != node.name
                for base in node.bases
            ):
                found.append((name, node))
    return found


def annotated_fields(cls: ast.ClassDef) -> Iterator[tuple[str, ast.AnnAssign]]:
    """Return the annotated attributes of a class body."""
    for statement in cls.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            yield statement.target.id, statement


# -- OPS-1: probes ---------------------------------------------------------------------

_ROUTE_DECORATORS = frozenset({"get", "head", "api_route", "route"})
_LIVENESS = frozenset({"health", "healthz", "livez", "live", "liveness", "alive", "livenessz"})
_READINESS = frozenset({"ready", "readyz", "readiness"})
#: Words of identifiers that name a database handle, split on ``_`` and camel case.
_DATABASE_WORDS = frozenset(
    {"db", "database", "engine", "session", "sessionmaker", "pool", "conn", "connection", "pg"}
)


@dataclass(frozen=True)
class _Route:
    path: str
    module: str
    line: int
    handler: ast.FunctionDef | ast.AsyncFunctionDef


def _router_prefixes(tree: ast.Module) -> dict[str, str]:
    """``router = APIRouter(prefix="/x")``: variable name to prefix."""
    prefixes = {}
    for node in nodes_of(tree, ast.Assign):
        if isinstance(node.value, ast.Call) and last_name(node.value.func) in {
            "APIRouter",
            "FastAPI",
            "Router",
        }:
            prefix = ""
            for keyword in node.value.keywords:
                if keyword.arg == "prefix" and isinstance(keyword.value, ast.Constant):
                    prefix = str(keyword.value.value)
            for target in node.targets:
                if isinstance(target, ast.Name):
                    prefixes[target.id] = prefix
    return prefixes


def _route_path(call: ast.Call) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    for keyword in call.keywords:
        if keyword.arg == "path" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return None


def http_routes(modules: Iterable[tuple[str, ast.Module]]) -> list[_Route]:
    """GET-able routes declared with decorators or ``add_api_route`` (prefix of the router)."""
    found = []
    for name, tree in modules:
        prefixes = _router_prefixes(tree)
        handlers = {function.name: function for function in functions(tree)}
        for function in handlers.values():
            for decorator in function.decorator_list:
                if not isinstance(decorator, ast.Call):
                    continue
                if last_name(decorator.func) not in _ROUTE_DECORATORS:
                    continue
                path = _route_path(decorator)
                if path is not None:
                    owner = dotted_name(decorator.func).rpartition(".")[0]
                    full = prefixes.get(owner, "") + path
                    found.append(_Route(full, name, decorator.lineno, function))
        for call in calls(tree):
            if last_name(call.func) not in {"add_api_route", "add_route", "Route", "APIRoute"}:
                continue
            path = _route_path(call)
            endpoint = call.args[1] if len(call.args) > 1 else None
            for keyword in call.keywords:
                if keyword.arg == "endpoint":
                    endpoint = keyword.value
            handler = handlers.get(last_name(endpoint)) if endpoint is not None else None
            if path is not None and handler is not None:
                found.append(_Route(path, name, call.lineno, handler))
    return found


def _last_segment(path: str) -> str:
    return path.rstrip("/").rpartition("/")[2].lower()


def _words(identifier: str) -> set[str]:
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", identifier)
    return {word.lower() for word in spaced.split("_") if word}


def _database_reference(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    project_functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]],
    depth: int = 2,
) -> int | None:
    """Line where ``function``'s body (or a project function it calls) touches a database."""
    seen: set[int] = set()
    pending: list[tuple[ast.FunctionDef | ast.AsyncFunctionDef, int]] = [(function, depth)]
    while pending:
        current, budget = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        for statement in current.body:
            for node in ast.walk(statement):
                name = ""
                if isinstance(node, ast.Name):
                    name = node.id
                elif isinstance(node, ast.Attribute):
                    name = node.attr
                elif (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and re.search(r"(?i)\bselect\s+1\b", node.value)
                ):
                    return node.lineno
                if name and _words(name) & _DATABASE_WORDS:
                    return getattr(node, "lineno", current.lineno)
                if budget and isinstance(node, ast.Call):
                    for callee in project_functions.get(last_name(node.func), []):
                        pending.append((callee, budget - 1))
    return None


@rule("OPS-1")
def liveness_and_readiness(repo: Repository) -> Verdict:
    """Finds the HTTP routes in the Python AST: a liveness route (``/health``, ``/healthz``...) that
    touches no dependency, and a readiness route (``/ready``, ``/readyz``...) whose handler, or a
    project function it calls, uses the database.

    Routes are found by their decorators (``@router.get("/ready")``) or ``add_api_route``,
    wherever they are declared.
    """
    gate = python_gate(repo, "OPS-1")
    if gate is not None:
        return gate
    modules = source_modules(repo)
    routes = http_routes(modules)
    liveness = [route for route in routes if _last_segment(route.path) in _LIVENESS]
    readiness = [route for route in routes if _last_segment(route.path) in _READINESS]
    project_functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
    for _, tree in modules:
        for function in functions(tree):
            project_functions.setdefault(function.name, []).append(function)
    evidence = []
    problems = []
    if not liveness:
        problems.append("no liveness route (/health)")
    for route in liveness:
        evidence.append(
            Evidence(f"liveness route {route.path}", path=route.module, line=route.line)
        )
        line = _database_reference(route.handler, {}, depth=0)
        if line is not None:
            problems.append(f"the liveness route {route.path} touches a dependency")
            evidence.append(
                Evidence("liveness handler uses a dependency", path=route.module, line=line)
            )
    if not readiness:
        problems.append("no readiness route (/ready)")
    checked = []
    for route in readiness:
        evidence.append(
            Evidence(f"readiness route {route.path}", path=route.module, line=route.line)
        )
        line = _database_reference(route.handler, project_functions)
        if line is not None:
            checked.append(route)
            evidence.append(Evidence("readiness checks the database", path=route.module, line=line))
    if readiness and not checked:
        problems.append("the readiness route never checks the database")
    if problems:
        return failed(
            "OPS-1",
            f"Probes incomplete: {'; '.join(problems)}.",
            evidence or [Evidence("no route matches /health or /ready", path=".")],
            "Serve GET /health answering without touching dependencies, and GET /ready that "
            "pings the database (and every other dependency) with a short timeout and "
            "answers 503 when one fails.",
        )
    return passed(
        "OPS-1",
        "Liveness and readiness routes exist; readiness checks the database.",
        evidence,
    )


# -- OPS-2: structured logs with request ids ------------------------------------------

_JSON_LOG_LIBRARIES = ("pythonjsonlogger", "json_log_formatter", "ecs_logging")
_REQUEST_ID_HEADERS = frozenset({"x-request-id", "x-correlation-id", "request-id"})


def _json_logging(modules: list[tuple[str, ast.Module]]) -> Evidence | None:
    for name, tree in modules:
        for attribute in nodes_of(tree, ast.Attribute):
            if attribute.attr == "JSONRenderer":
                return Evidence("structlog JSONRenderer", path=name, line=attribute.lineno)
        for alias in nodes_of(tree, ast.alias):
            if alias.name == "JSONRenderer":
                return Evidence("structlog JSONRenderer", path=name, line=alias.lineno)
        for call in calls(tree):
            if last_name(call.func) == "add" and any(
                keyword.arg == "serialize"
                and isinstance(keyword.value, ast.Constant)
                and keyword.value.value is True
                for keyword in call.keywords
            ):
                return Evidence("loguru serialize=True", path=name, line=call.lineno)
        for cls in nodes_of(tree, ast.ClassDef):
            if any(last_name(base) == "Formatter" for base in cls.bases) and any(
                last_name(call.func) == "dumps" for call in calls(cls)
            ):
                return Evidence("JSON log formatter", path=name, line=cls.lineno)
    found = find_imports(modules, _JSON_LOG_LIBRARIES)
    return found[0] if found else None


def _request_id_header(modules: list[tuple[str, ast.Module]]) -> Evidence | None:
    for name, tree in modules:
        for constant in string_constants(tree):
            if str(constant.value).strip().lower() in _REQUEST_ID_HEADERS:
                return Evidence(f"header {constant.value!s}", path=name, line=constant.lineno)
    found = find_imports(modules, ("asgi_correlation_id",))
    return found[0] if found else None


def _identifier_or_string(modules: list[tuple[str, ast.Module]], pattern: str) -> Evidence | None:
    compiled = re.compile(pattern, re.IGNORECASE)
    for name, tree in modules:
        texts: list[tuple[str, int]] = [(node.id, node.lineno) for node in nodes_of(tree, ast.Name)]
        texts += [(node.attr, node.lineno) for node in nodes_of(tree, ast.Attribute)]
        texts += [(node.arg, node.value.lineno) for node in nodes_of(tree, ast.keyword) if node.arg]
        texts += [(str(node.value), node.lineno) for node in string_constants(tree)]
        for text, line in texts:
            if compiled.fullmatch(text):
                return Evidence(text, path=name, line=line)
    return None


def _log_level_setting(modules: list[tuple[str, ast.Module]]) -> Evidence | None:
    """Return a settings field for the log level, else any ``log_level`` name or variable."""
    for name, cls in settings_classes(modules):
        for field, statement in annotated_fields(cls):
            if {"log", "level"} <= _words(field):
                return Evidence(f"setting {field}", path=name, line=statement.lineno)
    return _identifier_or_string(modules, r"log_?level|[a-z0-9_]*_log_level")


@rule("OPS-2")
def structured_logs(repo: Repository) -> Verdict:
    """Reads the Python AST for a JSON log renderer (structlog ``JSONRenderer``, python-json-logger,
    a ``Formatter`` that dumps JSON), the ``X-Request-ID`` header handled in code, a
    ``request_id`` bound to log lines and a log level read from settings.

    Each part found is cited with its file and line.
    """
    gate = python_gate(repo, "OPS-2")
    if gate is not None:
        return gate
    modules = source_modules(repo)
    parts = {
        "JSON log output": _json_logging(modules),
        "X-Request-ID handling": _request_id_header(modules),
        "request id in log lines": _identifier_or_string(modules, r"(request|correlation)_?id"),
        "log level from settings": _log_level_setting(modules),
    }
    evidence = [item for item in parts.values() if item is not None]
    missing = [what for what, item in parts.items() if item is None]
    if missing:
        return failed(
            "OPS-2",
            f"Structured logging incomplete: missing {', '.join(missing)}.",
            evidence or [Evidence("no logging set-up found in the Python source", path=".")],
            "Log JSON lines (structlog's JSONRenderer), accept or create an X-Request-ID per "
            "request, echo it back and bind it to every log line, and read the level from "
            "settings.",
        )
    return passed("OPS-2", "JSON logs with request ids and a configurable level.", evidence)


# -- OPS-3: metrics ---------------------------------------------------------------------

_METRICS_INTEGRATIONS = (
    "prometheus_fastapi_instrumentator",
    "starlette_exporter",
    "starlette_prometheus",
    "aioprometheus",
)
_EXPOSITION = frozenset(
    {"start_http_server", "start_wsgi_server", "make_asgi_app", "make_wsgi_app", "generate_latest"}
)


@rule("OPS-3")
def prometheus_metrics(repo: Repository) -> Verdict:
    """Reads the Python AST for Prometheus instrumentation: ``prometheus_client`` with a request
    ``Counter``, a latency ``Histogram`` and an exposition endpoint (``/metrics``,
    ``start_http_server``, ``make_asgi_app``), or an instrumentation library (prometheus-
    fastapi-instrumentator, starlette-exporter).
    """
    gate = python_gate(repo, "OPS-3")
    if gate is not None:
        return gate
    modules = source_modules(repo)
    integration = find_imports(modules, _METRICS_INTEGRATIONS)
    if integration:
        return passed(
            "OPS-3", "Prometheus metrics through an instrumentation library.", integration
        )
    client = find_imports(modules, ("prometheus_client",))
    if not client:
        return failed(
            "OPS-3",
            "No Prometheus client is used by the service.",
            [Evidence("no module imports prometheus_client", path=".")],
            "Count requests and time them by route with prometheus_client (Counter, Histogram) "
            "and serve them on /metrics.",
        )
    found: dict[str, Evidence] = {}
    for name, tree in modules:
        for call in calls(tree):
            called = last_name(call.func)
            if called in {"Counter", "Histogram"} and called not in found:
                found[called] = Evidence(f"{called} metric", path=name, line=call.lineno)
            if called in _EXPOSITION and "exposition" not in found:
                found["exposition"] = Evidence(f"served by {called}", path=name, line=call.lineno)
        for constant in string_constants(tree):
            if constant.value == "/metrics" and "exposition" not in found:
                found["exposition"] = Evidence("/metrics route", path=name, line=constant.lineno)
    missing = [what for what in ("Counter", "Histogram", "exposition") if what not in found]
    evidence = client + list(found.values())
    if missing:
        return failed(
            "OPS-3",
            f"Prometheus metrics incomplete: no {', '.join(missing)} found.",
            evidence,
            "Record a request Counter and a latency Histogram by route and expose them "
            "(a /metrics route or prometheus_client's start_http_server).",
        )
    return passed("OPS-3", "Request count and latency metrics are exposed to Prometheus.", evidence)


# -- OPS-4: tracing ---------------------------------------------------------------------

_TRACING_WORDS = frozenset({"tracing", "trace", "traces", "otel", "telemetry", "opentelemetry"})


@rule("OPS-4")
def switchable_tracing(repo: Repository) -> Verdict:
    """Reads the Python AST: OpenTelemetry is imported, the settings have a boolean switch for
    it (``tracing_enabled``, ``otel_enabled``...), and code branches on that switch.
    """
    gate = python_gate(repo, "OPS-4")
    if gate is not None:
        return gate
    modules = source_modules(repo)
    otel = find_imports(modules, ("opentelemetry",))
    if not otel:
        return failed(
            "OPS-4",
            "OpenTelemetry is not used by the service.",
            [Evidence("no module imports opentelemetry", path=".")],
            "Instrument the app, database and HTTP client with OpenTelemetry behind a "
            "boolean setting (e.g. tracing_enabled).",
        )
    switches: dict[str, Evidence] = {}
    for name, cls in settings_classes(modules):
        for field, statement in annotated_fields(cls):
            if "bool" in ast.unparse(statement.annotation) and _words(field) & _TRACING_WORDS:
                switches[field] = Evidence(f"setting {field}", path=name, line=statement.lineno)
    if not switches:
        return failed(
            "OPS-4",
            "OpenTelemetry is used but no boolean setting switches it.",
            otel,
            "Add a boolean setting (e.g. tracing_enabled, off by default) and instrument only "
            "when it is on.",
        )
    for name, tree in modules:
        branches: list[ast.If | ast.IfExp | ast.While] = [
            *nodes_of(tree, ast.If),
            *nodes_of(tree, ast.IfExp),
            *nodes_of(tree, ast.While),
        ]
        for node in branches:
            if any(
                isinstance(part, ast.Attribute | ast.Name) and last_name(part) in switches
                for part in ast.walk(node.test)
            ):
                used = Evidence("tracing switched by setting", path=name, line=node.lineno)
                return passed(
                    "OPS-4",
                    "OpenTelemetry tracing is switched on and off by a setting.",
                    [*otel, *switches.values(), used],
                )
    return failed(
        "OPS-4",
        "A tracing setting exists but no code branches on it.",
        [*otel, *switches.values()],
        "Create the tracer provider and instrument only `if settings.tracing_enabled:`.",
    )


# -- OPS-5: graceful shutdown -------------------------------------------------------------

_TEARDOWN_CALLS = frozenset(
    {"dispose", "close", "aclose", "disconnect", "shutdown", "shut_down", "stop", "terminate"}
)
_GRACEFUL_TIMEOUT = re.compile(r"timeout[-_]graceful[-_]shutdown|graceful[-_]timeout")


def _lifespan_functions(
    modules: list[tuple[str, ast.Module]],
) -> list[tuple[str, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """Functions given to ``FastAPI(lifespan=...)`` (or named like one), with a ``yield``."""
    named: set[str] = set()
    for _, tree in modules:
        for call in calls(tree):
            for keyword in call.keywords:
                if keyword.arg == "lifespan":
                    value = (
                        keyword.value.func if isinstance(keyword.value, ast.Call) else keyword.value
                    )
                    named.add(last_name(value))
    found = []
    for name, tree in modules:
        for function in functions(tree):
            if function.name not in named and "lifespan" not in function.name.lower():
                continue
            candidates = [function, *functions(function)]
            for candidate in candidates:
                if any(isinstance(node, ast.Yield) for node in ast.walk(candidate)):
                    found.append((name, candidate))
    return found


def _teardown(
    function: ast.FunctionDef | ast.AsyncFunctionDef, *, database: bool
) -> ast.Call | None:
    """Return the call after the lifespan's ``yield`` that closes the pool (or a resource).

    With ``database`` (the service creates an engine or pool), only a call that disposes
    the engine or closes the database counts.
    """
    yields = [node.lineno for node in ast.walk(function) if isinstance(node, ast.Yield)]
    if not yields:
        return None
    after = min(yields)
    closing = [
        call
        for call in sorted(calls(function), key=lambda item: item.lineno)
        if call.lineno > after and last_name(call.func) in _TEARDOWN_CALLS
    ]
    if database:
        closing = [
            call
            for call in closing
            if last_name(call.func) == "dispose"
            or _words(dotted_name(call.func).rpartition(".")[0]) & _DATABASE_WORDS
        ]
    # The engine's dispose() is the evidence that matters most: cite it when it is there.
    closing.sort(key=lambda call: last_name(call.func) != "dispose")
    return closing[0] if closing else None


def _graceful_timeout(repo: Repository) -> Evidence | None:
    """Where the server is given time for in-flight requests at shutdown."""
    dockerfile = repo.dockerfile
    if dockerfile is not None:
        for instruction in dockerfile.instructions:
            if _GRACEFUL_TIMEOUT.search(instruction.arguments):
                return Evidence(
                    f"{instruction.keyword} sets a graceful shutdown timeout",
                    path=dockerfile.path,
                    line=instruction.line,
                )
    for name in repo.files:
        base = name.rpartition("/")[2]
        wanted = (
            base in {"Procfile", "Makefile", "justfile"}
            or base.endswith((".yml", ".yaml", ".sh", ".toml", ".cfg", ".ini", ".conf"))
            or (base.endswith(".py") and "gunicorn" in base)
        )
        if not wanted or name.startswith("tests/") or "graceful" not in (repo.text(name) or ""):
            continue
        line = line_matching(repo, name, _GRACEFUL_TIMEOUT.pattern)
        if line is not None:
            return Evidence("graceful shutdown timeout", path=name, line=line)
    for name, tree in source_modules(repo):
        for keyword in nodes_of(tree, ast.keyword):
            if keyword.arg in {"timeout_graceful_shutdown", "graceful_timeout"}:
                return Evidence(f"{keyword.arg}=", path=name, line=keyword.value.lineno)
    return None


@rule("OPS-5")
def graceful_shutdown(repo: Repository) -> Verdict:
    """Reads the Python AST for the app's lifespan (``FastAPI(lifespan=...)``): after its
    ``yield`` it must dispose the engine or close its pools; and the server must get a
    graceful shutdown timeout (``--timeout-graceful-shutdown`` in the Dockerfile or compose,
    gunicorn ``graceful_timeout``).
    """
    gate = python_gate(repo, "OPS-5")
    if gate is not None:
        return gate
    modules = source_modules(repo)
    evidence = []
    problems = []
    lifespans = _lifespan_functions(modules)
    database = any(
        last_name(call.func) in {"create_async_engine", "create_engine", "create_pool"}
        for _, tree in modules
        for call in calls(tree)
    )
    closing = None
    for name, function in lifespans:
        call = _teardown(function, database=database)
        if call is not None:
            closing = Evidence(
                f"lifespan closes resources ({dotted_name(call.func)})", path=name, line=call.lineno
            )
            break
    if not lifespans:
        problems.append("no lifespan handler")
    elif closing is None:
        name, function = lifespans[0]
        evidence.append(Evidence("lifespan", path=name, line=function.lineno))
        problems.append(
            "the lifespan does not dispose the database engine after its yield"
            if database
            else "the lifespan closes nothing after its yield"
        )
    else:
        evidence.append(closing)
    timeout = _graceful_timeout(repo)
    if timeout is None:
        problems.append("no graceful shutdown timeout for the server")
    else:
        evidence.append(timeout)
    if problems:
        return failed(
            "OPS-5",
            f"Graceful shutdown incomplete: {'; '.join(problems)}.",
            evidence or [Evidence("no lifespan found in the Python source", path=".")],
            "Give FastAPI a lifespan that disposes the engine (and closes clients) after its "
            "yield, and start uvicorn with --timeout-graceful-shutdown.",
        )
    return passed(
        "OPS-5", "The lifespan closes the pools and the server drains in-flight requests.", evidence
    )


# -- OPS-6: resilient outbound calls --------------------------------------------------------

_HTTP_CLIENTS = ("httpx", "aiohttp", "requests", "urllib3")
_CLIENT_CONSTRUCTORS = frozenset({"AsyncClient", "Client", "ClientSession"})
_REQUESTS_CALLS = frozenset({"get", "post", "put", "patch", "delete", "head", "request"})
_RETRY_LIBRARIES = ("stamina", "tenacity", "backoff", "aiohttp_retry", "retrying")
_BREAKER_LIBRARIES = ("pybreaker", "aiobreaker", "purgatory", "circuitbreaker", "aiocircuitbreaker")


def _missing_timeouts(modules: list[tuple[str, ast.Module]]) -> list[Evidence]:
    """HTTP clients or ``requests`` calls built without a ``timeout``."""
    missing = []
    for name, tree in modules:
        aliases = {module for module, _ in imported_modules(tree)}
        for call in calls(tree):
            called = dotted_name(call.func)
            base = called.partition(".")[0]
            unbounded = "timeout" not in keyword_names(call)
            is_client = last_name(call.func) in _CLIENT_CONSTRUCTORS and base in {
                "httpx",
                "aiohttp",
            }
            is_requests = (
                base == "requests"
                and "requests" in aliases
                and last_name(call.func) in _REQUESTS_CALLS
            )
            if (is_client or is_requests) and unbounded:
                missing.append(Evidence(f"{called}() without timeout", path=name, line=call.lineno))
    return missing


@rule("OPS-6")
def resilient_outbound_calls(repo: Repository) -> Verdict:
    """Reads the Python AST of code that imports an HTTP client (httpx, aiohttp, requests): every
    client or call sets a ``timeout``, retries use a backoff library (stamina, tenacity,
    backoff), and a circuit breaker exists (pybreaker, purgatory... or a ``CircuitBreaker``
    class).

    Not applicable when the service makes no outbound HTTP calls.
    """
    gate = python_gate(repo, "OPS-6")
    if gate is not None:
        return gate
    modules = source_modules(repo)
    clients = find_imports(modules, _HTTP_CLIENTS)
    if not clients:
        return not_applicable(
            "OPS-6",
            "The service makes no outbound HTTP calls (no HTTP client is imported).",
            [Evidence("no module imports httpx, aiohttp, requests or urllib3", path=".")],
        )
    evidence = list(clients[:1])
    problems = []
    missing = _missing_timeouts(modules)
    if missing:
        problems.append("HTTP calls without a timeout")
        evidence += missing
    retries = find_imports(modules, _RETRY_LIBRARIES)
    if not retries:
        retries = [
            Evidence("transport retries", path=name, line=call.lineno)
            for name, tree in modules
            for call in calls(tree)
            if last_name(call.func) in {"Retry", "AsyncHTTPTransport", "HTTPTransport"}
            and ("retries" in keyword_names(call) or "backoff_factor" in keyword_names(call))
        ]
    if retries:
        evidence.append(retries[0])
    else:
        problems.append("no retries with backoff")
    breakers = find_imports(modules, _BREAKER_LIBRARIES) or [
        Evidence(f"class {node.name}", path=name, line=node.lineno)
        for name, tree in modules
        for node in nodes_of(tree, ast.ClassDef)
        if "breaker" in node.name.lower()
    ]
    if breakers:
        evidence.append(breakers[0])
    else:
        problems.append("no circuit breaker")
    if problems:
        return failed(
            "OPS-6",
            f"Outbound HTTP is not resilient: {'; '.join(problems)}.",
            evidence,
            "Give every HTTP client explicit timeouts, retry idempotent calls with exponential "
            "backoff and jitter (stamina or tenacity), and put a circuit breaker per host.",
        )
    return passed(
        "OPS-6",
        "Outbound HTTP calls have timeouts, retries with backoff and a circuit breaker.",
        evidence,
    )


# -- OPS-7: environment configuration and feature flags -------------------------------------

_ENVIRONMENT_FIELDS = frozenset(
    {"environment", "env", "app_env", "stage", "deployment_environment", "runtime_environment"}
)
_ENVIRONMENT_NAMES = frozenset(
    {"dev", "development", "local", "test", "testing", "staging", "stage", "prod", "production"}
)
_FLAG_LIBRARIES = ("UnleashClient", "ldclient", "flagsmith", "openfeature", "growthbook")


def _environment_enums(modules: list[tuple[str, ast.Module]]) -> set[str]:
    """Enum classes whose members name deployment environments (dev, staging, prod...)."""
    found = set()
    for _, tree in modules:
        for node in nodes_of(tree, ast.ClassDef):
            members = {
                str(statement.value.value).lower()
                for statement in node.body
                if isinstance(statement, ast.Assign)
                and isinstance(statement.value, ast.Constant)
                and isinstance(statement.value.value, str)
            }
            if len(members & _ENVIRONMENT_NAMES) >= 2:
                found.add(node.name)
    return found


def _environment_field(name: str, cls: ast.ClassDef, enums: set[str]) -> Evidence | None:
    for field, statement in annotated_fields(cls):
        annotation = ast.unparse(statement.annotation)
        literals = {
            str(node.value).lower()
            for node in ast.walk(statement.annotation)
            if isinstance(node, ast.Constant)
        }
        typed = any(enum in annotation for enum in enums) or len(literals & _ENVIRONMENT_NAMES) >= 2
        if field.lower() in _ENVIRONMENT_FIELDS or typed:
            return Evidence(f"setting {field}: {annotation}", path=name, line=statement.lineno)
    return None


@rule("OPS-7")
def environment_configuration(repo: Repository) -> Verdict:
    """Reads the Python AST for a settings class built from the environment (pydantic-settings
    ``BaseSettings``) with an environment field (``environment: Environment`` with
    dev/test/staging/prod, or a ``Literal`` of them) and boolean feature flags (or a feature-
    flag client such as Unleash or OpenFeature).
    """
    gate = python_gate(repo, "OPS-7")
    if gate is not None:
        return gate
    modules = source_modules(repo)
    classes = settings_classes(modules)
    if not classes:
        return failed(
            "OPS-7",
            "No settings class reads the configuration from the environment.",
            [Evidence("no subclass of BaseSettings", path=".")],
            "Read every setting from environment variables with a pydantic-settings "
            "BaseSettings class, including the environment name and feature flags.",
        )
    enums = _environment_enums(modules)
    evidence = [
        Evidence(f"settings class {cls.name}", path=name, line=cls.lineno) for name, cls in classes
    ]
    environment = next(
        (found for name, cls in classes if (found := _environment_field(name, cls, enums))), None
    )
    flags = [
        Evidence(f"feature flag {field}", path=name, line=statement.lineno)
        for name, cls in classes
        for field, statement in annotated_fields(cls)
        if re.fullmatch(r"bool(\s*\|\s*None)?|Optional\[bool\]", ast.unparse(statement.annotation))
    ] or find_imports(modules, _FLAG_LIBRARIES)
    problems = []
    if environment is None:
        problems.append("no environment setting (dev, test, staging, prod)")
    else:
        evidence.append(environment)
    if not flags:
        problems.append("no feature flags")
    else:
        evidence += flags[:3]
    if problems:
        return failed(
            "OPS-7",
            f"Configuration incomplete: {'; '.join(problems)}.",
            evidence,
            "Add an `environment` setting (an enum of dev, test, staging, prod) and boolean "
            "settings that switch features on and off.",
        )
    return passed(
        "OPS-7",
        "Settings come from the environment, name the environment and carry flags.",
        evidence,
    )
