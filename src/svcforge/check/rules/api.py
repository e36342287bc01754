"""API design (API): versioning, validation, status codes, errors, pagination, retries."""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from svcforge.check.engine import rule
from svcforge.check.model import Evidence, Verdict
from svcforge.check.repository import Repository
from svcforge.check.rules.python_code import (
    PAGE_POSITION_NAMES,
    PAGE_SIZE_NAMES,
    VERSION_SEGMENT,
    CodeIndex,
    Module,
    Route,
    annotation_parts,
    call_name,
    code_index,
    judged,
    keyword,
    no_fastapi,
    no_python,
    parameters,
    source_of,
    status_code,
    where,
)

#: FastAPI's parameter markers that are not the request body.
NOT_BODY = frozenset({"Depends", "Security", "Query", "Path", "Header", "Cookie", "Form", "File"})
#: Types FastAPI fills from the connection itself, never from the body.
CONNECTION_TYPES = frozenset(
    {"Request", "Response", "BackgroundTasks", "WebSocket", "HTTPConnection", "SecurityScopes"}
)
SCALARS = frozenset({"int", "str", "float", "bool", "UUID", "datetime", "date", "Decimal", "bytes"})
UNTYPED = frozenset({"dict", "Dict", "Any", "Mapping", "MutableMapping", "object", "list", "List"})
OPENAPI_FILE = re.compile(r"(^|/)(openapi|swagger)[\w.-]*\.(json|ya?ml)$", re.IGNORECASE)


def _routes_or_verdict(
    repo: Repository, standard_id: str, what: str
) -> tuple[CodeIndex, list[Route]] | Verdict:
    missing = no_python(standard_id, repo, what)
    if missing:
        return missing
    index = code_index(repo)
    missing = no_fastapi(standard_id, index, what)
    if missing:
        return missing
    return index, [route for route in index.routes if not route.is_operational]


def _exported_openapi(repo: Repository) -> tuple[str, dict[str, Any]] | None:
    for name in repo.files:
        if not OPENAPI_FILE.search(name) or name.startswith("tests/"):
            continue
        loaded = repo.yaml(name) if not name.endswith(".json") else None
        if name.endswith(".json"):
            text = repo.text(name)
            try:
                loaded = json.loads(text) if text is not None else None
            except ValueError:
                repo.problems[name] = "invalid JSON"
                loaded = None
        if (
            isinstance(loaded, dict)
            and "openapi" in loaded
            and isinstance(loaded.get("paths"), dict)
        ):
            return name, loaded
    return None


@rule("API-1")
def versioned_api(repo: Repository) -> Verdict:
    """Parses the Python code: every route outside the probes, metrics and docs is served under
    a version segment (`/v1`), its full path built from `APIRouter(prefix=)` and
    `include_router(prefix=)` across modules; the app does not switch the OpenAPI document
    off (`openapi_url=None`); and an exported OpenAPI document (openapi.json/yaml) is
    committed.
    """
    found = _routes_or_verdict(repo, "API-1", "the API is versioned")
    if isinstance(found, Verdict):
        return found
    index, routes = found
    failures: list[Evidence] = []
    versioned = 0
    for route in routes:
        known = [path for path in route.full_paths if path is not None]
        bad = [path for path in known if not VERSION_SEGMENT.search(path)]
        if bad:
            failures.append(
                where(
                    route.module,
                    route.call,
                    f"route {route.describe()} is served at {bad[0] or '/'}, without a version "
                    "prefix",
                )
            )
        elif known:
            versioned += 1
    for module in index.web_modules:
        for call in module.calls:
            if (module.qualified(call.func) or "").rsplit(".", 1)[-1] in {
                "FastAPI",
                "ServiceApp",
            } or any(k.arg == "openapi_url" for k in call.keywords):
                value = keyword(call, "openapi_url")
                if isinstance(value, ast.Constant) and value.value is None:
                    failures.append(
                        where(
                            module, call, "the OpenAPI document is switched off (openapi_url=None)"
                        )
                    )
    exported = _exported_openapi(repo)
    evidence: list[Evidence] = []
    if exported is None:
        failures.append(
            Evidence(
                "no exported OpenAPI document (openapi.json or openapi.yaml) in the repository",
                path=".",
            )
        )
    else:
        name, document = exported
        paths = [str(path) for path in document["paths"]]
        api_paths = [p for p in paths if not re.match(r"^/(health|ready|metrics)", p)]
        unversioned = [p for p in api_paths if not VERSION_SEGMENT.search(p)]
        if unversioned:
            failures.append(
                Evidence(
                    f"the exported document lists unversioned paths: {', '.join(unversioned[:3])}",
                    path=name,
                    key="paths",
                )
            )
        evidence.append(
            Evidence(f"exported OpenAPI document, {len(paths)} paths", path=name, key="paths")
        )
    if not routes and not index.broken_in_app and not failures:
        failures.append(
            Evidence("no route found besides the probes", path=index.web_modules[0].path)
        )
    return judged(
        "API-1",
        failures,
        broken=index.broken_in_app,
        passed=f"{versioned} route(s) are served under a versioned prefix and the OpenAPI "
        "document is exported.",
        failed="The API is not fully versioned ({count} finding{s}): routes outside a versioned "
        "prefix, or no exported OpenAPI document.",
        remediation=(
            "Include the routers with a versioned prefix (`app.include_router(router, "
            'prefix="/api/v1")`) and commit the exported document (e.g. docs/openapi.json).'
        ),
        evidence=evidence + [where(r.module, r.call, r.describe()) for r in routes[:5]],
    )


# -- API-2 ----------------------------------------------------------------------------------


def _alias(index: CodeIndex, module: Module, node: ast.expr) -> tuple[Module, ast.expr]:
    """Return a type alias (``PrincipalDep``) replaced by what it stands for."""
    for _ in range(3):
        if not isinstance(node, ast.Name):
            break
        if node.id in module.constants:
            node = module.constants[node.id]
            continue
        qualified = module.imports.get(node.id)
        target = index.resolve_member(qualified) if qualified else None
        if target is None or target[1] not in target[0].constants:
            break
        module, node = target[0], target[0].constants[target[1]]
    return module, node


def _param_kind(
    index: CodeIndex, module: Module, arg: ast.arg, default: ast.expr | None
) -> tuple[str, Module, ast.expr | None, list[ast.expr]]:
    """Map a handler parameter to (marker, module of its type, its type, metadata calls)."""
    owner, annotation = (module, arg.annotation) if arg.annotation is not None else (module, None)
    if annotation is not None:
        owner, annotation = _alias(index, module, annotation)
    base, metadata = annotation_parts(annotation)
    markers = [call_name(item) for item in [*metadata, default] if isinstance(item, ast.Call)]
    marker = next((m for m in markers if m in NOT_BODY or m == "Body"), "")
    return marker or "", owner, base, [m for m in [*metadata, default] if isinstance(m, ast.Call)]


def _simple(node: ast.expr | None) -> str:
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return ""


def _extra_setting(  # noqa: PLR0912 - one branch per way pydantic spells `extra`
    index: CodeIndex, module: Module, node: ast.ClassDef, depth: int = 0
) -> str | None:
    """Return the ``extra`` policy of a pydantic model (``forbid``...), following its bases."""
    for item in node.keywords:
        if item.arg == "extra":
            return _simple(item.value).lower().rsplit(".", 1)[-1]
    for statement in node.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if (
                any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets)
                and statement.value is not None
            ):
                value = statement.value
                if isinstance(value, ast.Call):
                    extra = keyword(value, "extra")
                    if extra is not None:
                        return _simple(extra).lower()
                elif isinstance(value, ast.Dict):
                    for key, entry in zip(value.keys, value.values, strict=True):
                        if isinstance(key, ast.Constant) and key.value == "extra":
                            return _simple(entry).lower()
        elif isinstance(statement, ast.ClassDef) and statement.name == "Config":
            for inner in statement.body:
                if isinstance(inner, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "extra" for t in inner.targets
                ):
                    return _simple(inner.value).lower()
    if depth < 8:
        for base in node.bases:
            found = index.find_class(module, base)
            if found is not None and found[1] is not node:
                setting = _extra_setting(index, found[0], found[1], depth + 1)
                if setting is not None:
                    return setting
    return None


@rule("API-2")
def validated_boundary(repo: Repository) -> Verdict:  # noqa: PLR0912 - one branch per finding the standard names
    """Parses the route handlers: request bodies of POST/PUT/PATCH routes are pydantic models
    that forbid unknown fields (`extra="forbid"`, directly or through a base class; form
    posts excepted), no handler takes an untyped body (`dict`, `Any`) or reads
    `request.json()` itself, and every route declares its response (a return annotation or
    `response_model=`, or 204).
    """
    found = _routes_or_verdict(repo, "API-2", "requests are validated")
    if isinstance(found, Verdict):
        return found
    index, routes = found
    failures: list[Evidence] = []
    models: dict[str, Evidence] = {}
    for route in routes:
        function = route.function
        if function is None:
            continue
        writes = bool({"post", "put", "patch"} & set(route.methods))
        for arg, default in parameters(function):
            marker, owner, base, _ = _param_kind(index, route.module, arg, default)
            name = _simple(base)
            if marker in NOT_BODY or name in CONNECTION_TYPES or arg.arg in {"self", "cls"}:
                continue
            if not writes and marker != "Body":
                continue
            if name in UNTYPED or base is None:
                failures.append(
                    where(
                        route.module,
                        arg,
                        f"handler {route.name} takes an unvalidated body: {arg.arg}: "
                        f"{source_of(arg.annotation) if arg.annotation else '(no type)'}",
                    )
                )
                continue
            if name in SCALARS and marker != "Body":
                continue  # a query parameter
            resolved = index.find_class(owner, base) if base is not None else None
            if resolved is None or not index.inherits(
                resolved[0], resolved[1], "pydantic.BaseModel", "BaseModel"
            ):
                continue
            models.setdefault(
                resolved[1].name,
                where(resolved[0], resolved[1], f"request model {resolved[1].name}"),
            )
            extra = _extra_setting(index, resolved[0], resolved[1])
            if extra != "forbid":
                failures.append(
                    where(
                        resolved[0],
                        resolved[1],
                        f"request model {resolved[1].name} (body of {route.describe()}) accepts "
                        f"unknown fields (extra={extra or 'ignore, the default'})",
                    )
                )
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in {"json", "body", "form"}
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"request", "req"}
            ):
                failures.append(
                    where(
                        route.module,
                        node,
                        f"handler {route.name} parses the body itself: {source_of(node)}",
                    )
                )
        declared = (
            function.returns is not None
            or route.keyword("response_model") is not None
            or route.keyword("response_class") is not None
            or status_code(route.keyword("status_code")) in {204, 304}
        )
        if not declared:
            failures.append(
                where(
                    route.module,
                    route.call,
                    f"route {route.describe()} declares no response model or return type",
                )
            )
    unique = {(e.path, e.line, e.note): e for e in failures}
    return judged(
        "API-2",
        list(unique.values()),
        broken=index.broken_in_app,
        passed=f"{len(routes)} route(s) declare their responses; {len(models)} request model(s) "
        "forbid unknown fields.",
        failed="Input or output is not validated at the boundary in {count} place{s}.",
        remediation=(
            "Type request bodies as pydantic models with `model_config = "
            'ConfigDict(extra="forbid")` '
            "and give every route a response model (return annotation)."
        ),
        evidence=list(models.values()),
    )


# -- API-3 ----------------------------------------------------------------------------------


def _mentions_location(function: ast.AST) -> bool:
    for node in ast.walk(function):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.lower() == "location"
        ):
            return True
        if isinstance(node, ast.keyword) and node.arg and "location" in node.arg.lower():
            return True
        if isinstance(node, ast.Name) and "location" in node.id.lower():
            return True
    return False


def _statuses_used(index: CodeIndex) -> set[int]:
    found: set[int] = set()
    for module in index.app_modules:
        for node in module.nodes:
            if isinstance(node, ast.Attribute | ast.Name):
                value = status_code(node)
                if value is not None and 100 <= value <= 599:
                    found.add(value)
            elif isinstance(node, ast.keyword) and node.arg in {"status_code", "status"}:
                value = status_code(node.value)
                if value is not None:
                    found.add(value)
    return found


@rule("API-3")
def status_codes(repo: Repository) -> Verdict:
    """Parses the route decorators: POST routes that create (create_/add_... handlers) declare
    201 and set a Location header, DELETE routes declare 204 (or 202), and an API with
    `/{id}` routes answers 404 somewhere.
    """
    found = _routes_or_verdict(repo, "API-3", "status codes are right")
    if isinstance(found, Verdict):
        return found
    index, routes = found
    failures: list[Evidence] = []
    for route in routes:
        declared = status_code(route.keyword("status_code"))
        if route.is_create:
            if declared not in {201, 202}:
                failures.append(
                    where(
                        route.module,
                        route.call,
                        f"create route {route.describe()} answers {declared or 200}, not 201 "
                        "Created",
                    )
                )
            elif (
                declared == 201
                and route.function is not None
                and not _mentions_location(route.function)
            ):
                failures.append(
                    where(
                        route.module,
                        route.call,
                        f"create route {route.describe()} sets no Location header",
                    )
                )
        if "delete" in route.methods and declared not in {202, 204}:
            failures.append(
                where(
                    route.module,
                    route.call,
                    f"delete route {route.describe()} answers {declared or 200}, not 204 No "
                    "Content",
                )
            )
    with_ids = [r for r in routes if r.path and "{" in r.path]
    if with_ids and 404 not in _statuses_used(index):
        route = with_ids[0]
        failures.append(
            where(
                route.module,
                route.call,
                f"route {route.describe()} names a resource, but no code answers 404",
            )
        )
    creates = sum(1 for r in routes if r.is_create)
    deletes = sum(1 for r in routes if "delete" in r.methods)
    return judged(
        "API-3",
        failures,
        broken=index.broken_in_app,
        passed=f"{creates} create route(s) answer 201 with Location, {deletes} delete route(s) "
        "answer 204.",
        failed="Status codes are wrong in {count} place{s}.",
        remediation=(
            "Declare `status_code=201` (and set Location) on routes that create, "
            "`status_code=204` on deletes, and raise a not-found error mapped to 404."
        ),
        evidence=[
            where(
                r.module, r.call, f"{r.describe()} answers {status_code(r.keyword('status_code'))}"
            )
            for r in routes
            if r.is_create or "delete" in r.methods
        ],
    )


# -- API-4 ----------------------------------------------------------------------------------


def _handler_registrations(index: CodeIndex) -> list[tuple[Module, ast.AST, str]]:
    """Map (module, node, exception name) of every exception-handler registration."""
    found: list[tuple[Module, ast.AST, str]] = []
    for module in index.web_modules:
        for call in module.calls:
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "add_exception_handler"
                and call.args
            ) or (
                isinstance(func, ast.Attribute) and func.attr == "exception_handler" and call.args
            ):
                found.append((module, call, _simple(call.args[0])))
            elif keyword(call, "exception_handlers") is not None:
                handlers = keyword(call, "exception_handlers")
                if isinstance(handlers, ast.Dict):
                    found += [
                        (module, call, _simple(key)) for key in handlers.keys if key is not None
                    ]
    return found


def _active(index: CodeIndex, module: Module, node: ast.AST) -> bool:
    """Tell whether the registration runs (module level, app factory, or a called function)."""
    line = getattr(node, "lineno", 0)
    enclosing = [f for f in module.functions if f.lineno <= line <= (f.end_lineno or f.lineno)]
    if not enclosing:
        return True
    function = max(enclosing, key=lambda f: f.lineno)
    if function.name in index.called:
        return True
    # The app factory (`create_app`) is called by the ASGI server, not by the code.
    return any(
        (module.qualified(call.func) or "").rsplit(".", 1)[-1] in {"FastAPI", "Starlette"}
        for call in ast.walk(function)
        if isinstance(call, ast.Call)
    ) or any(
        ref.module == module.path and index.routers[ref].is_app
        for ref in index.routers
        if index.routers[ref].call.lineno in range(function.lineno, (function.end_lineno or 0) + 1)
    )


@rule("API-4")
def problem_details(repo: Repository) -> Verdict:
    """Parses the Python code: exception handlers for HTTPException and RequestValidationError
    are registered on the app (the registering function is actually called), errors use the
    `application/problem+json` media type, the problem module carries the request id, and no
    response carries a traceback (`traceback.format_*`, `debug=True`).
    """
    found = _routes_or_verdict(repo, "API-4", "errors are reported")
    if isinstance(found, Verdict):
        return found
    index, _ = found
    failures: list[Evidence] = []
    registrations = _handler_registrations(index)
    active = [(m, n, e) for m, n, e in registrations if _active(index, m, n)]
    inactive = [(m, n, e) for m, n, e in registrations if (m, n, e) not in active]
    handled = {name for _, _, name in active}
    problem_modules = [
        module
        for module in index.app_modules
        if any("application/problem+json" in text for _, text in module.strings())
    ]
    for need, names in (
        ("HTTPException", {"HTTPException", "StarletteHTTPException", "Exception"}),
        ("RequestValidationError", {"RequestValidationError", "ValidationError", "Exception"}),
    ):
        if not handled & names:
            place = inactive[0] if inactive else None
            note = f"no handler for {need} is registered on the app" + (
                f" ({place[0].path}:{getattr(place[1], 'lineno', '?')} registers it in a "
                "function nothing calls)"
                if place
                else ""
            )
            failures.append(
                Evidence(
                    note,
                    path=(place[0].path if place else index.web_modules[0].path),
                    line=(getattr(place[1], "lineno", None) if place else None),
                )
            )
    if not problem_modules:
        failures.append(
            Evidence(
                "no error response uses the application/problem+json media type",
                path=index.web_modules[0].path,
            )
        )
    elif not any(
        re.search(r"request[_-]?id", text, re.IGNORECASE)
        for module in problem_modules
        for text in [
            *(t for _, t in module.strings()),
            *(n.id for n in module.nodes if isinstance(n, ast.Name)),
            *(n.attr for n in module.nodes if isinstance(n, ast.Attribute)),
        ]
    ):
        failures.append(
            Evidence("the problem responses carry no request id", path=problem_modules[0].path)
        )
    for module in index.web_modules:
        for call in module.calls:
            qualified = module.qualified(call.func) or ""
            if qualified.startswith("traceback.format"):
                failures.append(
                    where(
                        module,
                        call,
                        f"formats a traceback where responses are built: {source_of(call)}",
                    )
                )
            debug = keyword(call, "debug")
            if (
                isinstance(debug, ast.Constant)
                and debug.value is True
                and qualified.rsplit(".", 1)[-1] in {"FastAPI", "Starlette"}
            ):
                failures.append(where(module, call, "debug=True sends tracebacks to clients"))
    modules = sorted({m.path for m, _, _ in active})
    return judged(
        "API-4",
        failures,
        broken=index.broken_in_app if failures == [] and not active else [],
        passed=f"{len(active)} exception handler(s) in {', '.join(modules) or '?'} answer "
        "application/problem+json with the request id.",
        failed="Errors do not all share one problem+json format ({count} finding{s}).",
        remediation=(
            "Register one set of exception handlers (HTTPException, RequestValidationError, "
            "domain errors) that answer RFC 9457 application/problem+json with the request id."
        ),
        evidence=[where(m, n, f"handler for {e}") for m, n, e in active[:6]],
    )


# -- API-5 ----------------------------------------------------------------------------------


def _bounded(calls: list[ast.Expr | ast.expr], annotation: ast.expr | None) -> bool:
    for call in calls:
        if isinstance(call, ast.Call) and any(k.arg in {"le", "lt"} for k in call.keywords):
            return True
    text = ast.unparse(annotation) if annotation is not None else ""
    return "Literal[" in text or bool(re.search(r"con(int|list)\([^)]*\b(le|lt)\s*=", text))


def _query_fields(index: CodeIndex, route: Route) -> list[tuple[str, bool, Module, ast.AST]]:
    """Map (name, bounded, module, node) of the route's query parameters (models flattened)."""
    fields: list[tuple[str, bool, Module, ast.AST]] = []
    function = route.function
    if function is None:
        return fields
    clamps = {
        arg.id
        for node in ast.walk(function)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "min"
        for arg in node.args
        if isinstance(arg, ast.Name)
    }
    for arg, default in parameters(function):
        marker, owner, base, calls = _param_kind(index, route.module, arg, default)
        if (
            marker in {"Path", "Header", "Cookie", "Form", "File", "Security"}
            or _simple(base) in CONNECTION_TYPES
        ):
            continue
        resolved = (
            index.find_class(owner, base)
            if base is not None and _simple(base) not in SCALARS
            else None
        )
        if resolved is not None and index.inherits(
            resolved[0], resolved[1], "pydantic.BaseModel", "BaseModel"
        ):
            if marker not in {"Query", "Depends", ""}:
                continue
            for statement in resolved[1].body:
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    _, field_type = _alias(index, resolved[0], statement.annotation)
                    field_base, metadata = annotation_parts(field_type)
                    bounded = _bounded(
                        [*metadata, *([statement.value] if statement.value else [])], field_base
                    )
                    fields.append((statement.target.id, bounded, resolved[0], statement))
            continue
        if marker == "Depends":
            continue
        if _simple(base) in SCALARS or base is None or marker == "Query":
            own_base, metadata = annotation_parts(arg.annotation)
            bounded = _bounded([*calls], own_base) or arg.arg in clamps
            fields.append((arg.arg, bounded, route.module, arg))
    return fields


def _is_collection(route: Route, fields: list[tuple[str, bool, Module, ast.AST]]) -> bool:
    if "get" not in route.methods or route.function is None or (route.path or "").endswith("}"):
        return False
    declared = route.function.returns or route.keyword("response_model")
    text = ast.unparse(declared) if declared is not None else ""
    if re.match(r"^(list|List|Sequence|Iterable|tuple|set)\[", text):
        return True
    if re.search(r"(Page|List|Collection|Listing)\b", text):
        return True
    if declared is None and (
        route.function.name.startswith(("list_", "all_", "search_"))
        or any(_returns_many(node) for node in ast.walk(route.function))
    ):
        return True  # undeclared, but named or built like a list
    return any(name in PAGE_SIZE_NAMES | PAGE_POSITION_NAMES for name, _, _, _ in fields)


def _returns_many(node: ast.AST) -> bool:
    """Whether ``node`` returns a list: a literal, a comprehension, ``list()``, ``.all()``..."""
    if not isinstance(node, ast.Return) or node.value is None:
        return False
    value = node.value
    if isinstance(value, ast.List | ast.ListComp):
        return True
    if not isinstance(value, ast.Call):
        return False
    if isinstance(value.func, ast.Name):
        return value.func.id in {"list", "sorted"}
    return isinstance(value.func, ast.Attribute) and value.func.attr in {"all", "fetchall"}


@rule("API-5")
def paginated_collections(repo: Repository) -> Verdict:
    """Parses the GET routes that return collections (a list, a *Page model, or paging
    parameters): each has a page-size parameter (limit, page_size...) with an upper bound
    (`le=`, `Literal`, or `min()` in the handler), parameters of query models included, and
    at least one filter or sort parameter.
    """
    found = _routes_or_verdict(repo, "API-5", "collections are paginated")
    if isinstance(found, Verdict):
        return found
    index, routes = found
    failures: list[Evidence] = []
    collections = 0
    evidence: list[Evidence] = []
    for route in routes:
        fields = _query_fields(index, route)
        if not _is_collection(route, fields):
            continue
        collections += 1
        evidence += [
            where(module, node, f"page size {name!r} of {route.describe()} is bounded")
            for name, bounded, module, node in fields
            if name in PAGE_SIZE_NAMES and bounded
        ]
        sizes = [
            (name, bounded, module, node)
            for name, bounded, module, node in fields
            if name in PAGE_SIZE_NAMES
        ]
        if not sizes:
            failures.append(
                where(
                    route.module,
                    route.call,
                    f"collection {route.describe()} has no page-size parameter: it returns "
                    "everything",
                )
            )
        for name, bounded, module, node in sizes:
            if not bounded:
                failures.append(
                    where(
                        module,
                        node,
                        f"page size {name!r} of {route.describe()} has no upper bound (le=...)",
                    )
                )
        others = [
            name for name, _, _, _ in fields if name not in PAGE_SIZE_NAMES | PAGE_POSITION_NAMES
        ]
        if not others:
            failures.append(
                where(
                    route.module,
                    route.call,
                    f"collection {route.describe()} can neither filter nor sort",
                )
            )
    return judged(
        "API-5",
        failures,
        broken=index.broken_in_app,
        passed=f"{collections} collection endpoint(s) paginate with a bounded page size and can "
        "filter or sort.",
        failed="Collections are unpaginated, unbounded or unfilterable ({count} finding{s}).",
        remediation=(
            "Give each list endpoint a `limit` query parameter with a default and an upper "
            "bound (`Query(20, ge=1, le=100)`), a cursor or page, and filter/sort parameters."
        ),
        evidence=evidence,
    )


# -- API-6 ----------------------------------------------------------------------------------


@rule("API-6")
def idempotent_retries(repo: Repository) -> Verdict:
    """Parses the routes: every POST that creates takes an `Idempotency-Key` header (a handler
    parameter or dependency named for it, or an idempotency middleware), and the header name
    appears in the code.
    """
    found = _routes_or_verdict(repo, "API-6", "retries are idempotent")
    if isinstance(found, Verdict):
        return found
    index, routes = found
    failures: list[Evidence] = []
    header = [
        (module, node)
        for module in index.app_modules
        for node, text in module.strings()
        if text.lower() == "idempotency-key"
    ]
    middleware = [
        (module, call)
        for module in index.web_modules
        for call in module.calls
        if isinstance(call.func, ast.Attribute)
        and call.func.attr == "add_middleware"
        and call.args
        and "idempot" in _simple(call.args[0]).lower()
    ]
    creates = [route for route in routes if route.is_create]
    for route in creates:
        if middleware or route.function is None:
            continue
        takes = (
            any(
                "idempot" in arg.arg.lower()
                or (arg.annotation is not None and "idempot" in ast.unparse(arg.annotation).lower())
                for arg, _ in parameters(route.function)
            )
            or "idempot" in ast.unparse(route.call).lower()
        )
        if not takes:
            failures.append(
                where(
                    route.module,
                    route.call,
                    f"create route {route.describe()} takes no Idempotency-Key: a retried POST "
                    "creates twice",
                )
            )
    if creates and not header and not failures:
        route = creates[0]
        failures.append(where(route.module, route.call, "no code reads an Idempotency-Key header"))
    evidence = [where(m, n, "Idempotency-Key header") for m, n in header[:2]]
    return judged(
        "API-6",
        failures,
        broken=index.broken_in_app,
        passed=(
            f"{len(creates)} create route(s) accept an Idempotency-Key."
            if creates
            else "No POST route creates a resource, so no Idempotency-Key is needed."
        ),
        failed="{count} create route{s} cannot be retried safely.",
        remediation=(
            "Accept an `Idempotency-Key` header on POSTs that create, store the first "
            "response under it, and replay it for a retry with the same key."
        ),
        evidence=evidence,
    )
