"""What the code-level rules share: a once-per-repository index of the Python code.

Nothing here assumes svcforge's layout. The index finds the application by looking at
imports (modules importing FastAPI or Starlette), its routes by their decorators
(``@router.post("/items")``, ``add_api_route``), the prefixes they are served under by
following ``include_router`` calls across modules, and the layers by module names
(``service``, ``repository``...). Each file is parsed once (the :class:`Repository`
caches the trees) and the index is built once per repository, so every rule after the
first reads it for free.
"""

from __future__ import annotations

import ast
import re
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from http import HTTPStatus
from pathlib import PurePosixPath

from svcforge.check.model import Evidence, Status, Verdict
from svcforge.check.repository import Repository

#: HTTP methods FastAPI's routers and apps register routes with.
HTTP_METHODS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "trace"})

#: Module names (a file's stem or one of its packages) of each layer.
SERVICE_NAMES = frozenset(
    {"service", "services", "use_case", "use_cases", "usecase", "usecases", "interactors"}
)
REPOSITORY_NAMES = frozenset(
    {"repository", "repositories", "repo", "repos", "crud", "dal", "data_access"}
)

#: Paths served outside the versioned API on purpose: probes, metrics, the docs.
OPERATIONAL_PATH = re.compile(
    r"^/(health|healthz|ready|readyz|readiness|live|livez|liveness|ping|metrics|status"
    r"|docs|redoc|openapi\.json|favicon\.ico|\.well-known)(/.*)?$|^/?$"
)
VERSION_SEGMENT = re.compile(r"/v\d+(\.\d+)?(/|$)")

#: Parameter names that carry a page size.
PAGE_SIZE_NAMES = frozenset(
    {"limit", "page_size", "pagesize", "per_page", "size", "first", "last", "count", "top"}
)
#: Parameter names that say where a page starts.
PAGE_POSITION_NAMES = frozenset({"offset", "page", "cursor", "after", "before", "skip", "start"})

#: Handler names that create a resource.
CREATE_HANDLER = re.compile(r"^(create|add|insert|register|new|post|make|upload|submit)(_|$)")

_SQL_START = re.compile(
    r"^\s*(select|insert|update|delete|with|create|drop|alter|truncate|grant|merge|upsert)\b",
    re.IGNORECASE,
)
_SQL_SHAPE = re.compile(
    r"\b(from|into|set|where|table|values|database|index|schema|returning)\b", re.IGNORECASE
)


def looks_like_sql(text: str) -> bool:
    """Tell whether a string reads like SQL (``SELECT ... FROM``, ``UPDATE ... SET``)."""
    return bool(_SQL_START.match(text)) and bool(_SQL_SHAPE.search(text))


# -- verdicts -----------------------------------------------------------------------------


def no_python(standard_id: str, repo: Repository, what: str) -> Verdict | None:
    """Return a failing verdict when the repository has no Python code to judge, else ``None``."""
    if repo.is_empty:
        return Verdict(
            standard_id,
            Status.FAIL,
            "The repository has no files.",
            (Evidence("empty directory", path="."),),
            "Check the service's own folder, or start from `svcforge new`.",
        )
    if not repo.python_files():
        return Verdict(
            standard_id,
            Status.FAIL,
            "No Python source found: this standard is judged on a Python service's code.",
            (Evidence(f"no .py file outside the tests (looked for: {what})", path="."),),
            "This standard is written for Python (FastAPI) services: meet it in the "
            "service's code, or record in an ADR (`Waives:`) why it does not apply.",
        )
    return None


def no_fastapi(standard_id: str, index: CodeIndex, what: str) -> Verdict | None:
    """Return a failing (or unknown) verdict when no FastAPI/Starlette code was found."""
    if index.web_modules:
        return None
    if index.broken:
        return unknown(standard_id, index.broken, "no FastAPI application was found")
    return Verdict(
        standard_id,
        Status.FAIL,
        f"No FastAPI or Starlette application was found, so nothing shows how {what}.",
        (Evidence("no module imports fastapi or starlette", path="."),),
        "Serve the API with FastAPI (a `FastAPI()` app and `APIRouter` routes), or record "
        "in an ADR (`Waives:`) why this standard does not apply.",
    )


def unknown(standard_id: str, broken: Iterable[str], why: str) -> Verdict:
    """Return an ``unknown`` verdict: files the rule needs could not be parsed."""
    paths = sorted(broken)
    return Verdict(
        standard_id,
        Status.UNKNOWN,
        f"Could not be judged: {len(paths)} file(s) do not parse, and {why} in the rest.",
        tuple(
            Evidence(
                "does not parse as Python" if path.endswith(".py") else "does not parse", path=path
            )
            for path in paths[:10]
        ),
        "Fix the syntax errors, then check again.",
    )


def judged(
    standard_id: str,
    failures: list[Evidence],
    *,
    broken: Iterable[str] = (),
    passed: str,
    failed: str,
    remediation: str,
    evidence: Iterable[Evidence] = (),
) -> Verdict:
    """Return the verdict of a rule that looked for problems: fail on any, unknown when blind."""
    if failures:
        count = len(failures)
        return Verdict(
            standard_id,
            Status.FAIL,
            failed.format(count=count, s="" if count == 1 else "s"),
            tuple(failures[:25]),
            remediation,
        )
    broken = sorted(broken)
    if broken:
        return unknown(standard_id, broken, "no problem was found")
    return Verdict(standard_id, Status.PASS, passed, tuple(evidence)[:10])


def where(module: Module, node: ast.AST, note: str) -> Evidence:
    """Return evidence pointing at ``node`` in ``module``."""
    return Evidence(note, path=module.path, line=getattr(node, "lineno", None))


# -- modules ------------------------------------------------------------------------------


@dataclass
class Module:
    """One parsed Python file and what it imports."""

    path: str
    tree: ast.Module
    #: The module's import name (``pkg.sub.mod``), from the packages around it.
    dotted: str
    #: Local name -> what it stands for, fully qualified (``select`` -> ``sqlalchemy.select``).
    imports: dict[str, str] = field(default_factory=dict)

    @cached_property
    def nodes(self) -> list[ast.AST]:
        """Return every node of the tree, walked once: the rules filter this list, not the tree."""
        return list(ast.walk(self.tree))

    @cached_property
    def parts(self) -> tuple[str, ...]:
        """Return the path's components without the ``.py`` suffix (``__init__`` dropped)."""
        pure = PurePosixPath(self.path)
        parts = (*pure.parent.parts, pure.stem)
        return parts[:-1] if parts[-1] == "__init__" else parts

    @cached_property
    def imported(self) -> frozenset[str]:
        """Return every module or member it imports, fully qualified."""
        return frozenset(self.imports.values())

    def imports_any(self, *roots: str) -> bool:
        """Tell whether it imports ``root`` or anything below it, for any of ``roots``."""
        return any(
            name == root or name.startswith(root + ".") for name in self.imported for root in roots
        )

    def import_nodes(self, *roots: str) -> list[ast.stmt]:
        """Return the import statements bringing in ``root`` or anything below it."""
        found: list[ast.stmt] = []
        for node in self.nodes:
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            if any(name == root or name.startswith(root + ".") for name in names for root in roots):
                found.append(node)
        return found

    def qualified(self, node: ast.expr) -> str | None:
        """Map ``sa.text`` -> ``sqlalchemy.text`` when ``sa`` is ``import sqlalchemy as sa``."""
        attributes: list[str] = []
        while isinstance(node, ast.Attribute):
            attributes.append(node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        base = self.imports.get(node.id, node.id)
        return ".".join([base, *reversed(attributes)])

    @cached_property
    def docstrings(self) -> frozenset[int]:
        """Map ``id()`` of every docstring constant (a docstring is prose, not a value)."""
        found: set[int] = set()
        for node in [self.tree, *self.classes, *self.functions]:
            found |= _docstrings_of(node.body)
            if isinstance(node, ast.ClassDef | ast.Module):
                # Attribute docstrings: bare strings between the statements of a class.
                for statement in node.body:
                    if isinstance(statement, ast.Expr) and isinstance(
                        statement.value, ast.Constant
                    ):
                        found.add(id(statement.value))
        return frozenset(found)

    def strings(self) -> Iterator[tuple[ast.Constant, str]]:
        """Return every string constant that is a value (docstrings left out)."""
        skip = self.docstrings
        for node in self.nodes:
            if isinstance(node, ast.Constant) and id(node) not in skip:
                if isinstance(node.value, str):
                    yield node, node.value
                elif isinstance(node.value, bytes):
                    yield node, node.value.decode("latin-1")

    @cached_property
    def constants(self) -> dict[str, ast.expr]:
        """Return module-level ``NAME = value`` assignments."""
        found: dict[str, ast.expr] = {}
        for statement in self.tree.body:
            if isinstance(statement, ast.Assign):
                for target in statement.targets:
                    if isinstance(target, ast.Name):
                        found[target.id] = statement.value
            elif (
                isinstance(statement, ast.AnnAssign)
                and statement.value is not None
                and isinstance(statement.target, ast.Name)
            ):
                found[statement.target.id] = statement.value
        return found

    @cached_property
    def calls(self) -> list[ast.Call]:
        """Return every call in the module."""
        return [node for node in self.nodes if isinstance(node, ast.Call)]

    @cached_property
    def functions(self) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
        """Return every function and method, nested ones included."""
        return [
            node for node in self.nodes if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        ]

    @cached_property
    def classes(self) -> list[ast.ClassDef]:
        """Return every class, nested ones included."""
        return [node for node in self.nodes if isinstance(node, ast.ClassDef)]

    @cached_property
    def is_service(self) -> bool:
        """Tell whether it is named as a service module (``service.py``, ``services/``...)."""
        return _named(self.path, SERVICE_NAMES, "_service", "_services")

    @cached_property
    def is_repository(self) -> bool:
        """Tell whether it is named as a data-access module (``repository.py``, ``crud.py``...)."""
        return _named(self.path, REPOSITORY_NAMES, "_repository", "_repo")


def _docstrings_of(body: list[ast.stmt]) -> set[int]:
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        return {id(body[0].value)}
    return set()


def _named(path: str, names: frozenset[str], *suffixes: str) -> bool:
    # Exact names anywhere (``services/items.py``), suffixes on the file name only
    # (``item_service.py``): a package called ``example_service`` is not a service.
    lowered = [part.lower() for part in PurePosixPath(path).with_suffix("").parts]
    stem = PurePosixPath(path).stem.lower()
    return any(part in names for part in lowered) or stem.endswith(suffixes)


def _dotted_names(path: str, exists: frozenset[str]) -> list[str]:
    """Return import names of a file: from its enclosing packages, and from its path."""
    pure = PurePosixPath(path)
    parts = [*pure.parent.parts, pure.stem]
    if parts[-1] == "__init__":
        parts = parts[:-1]
    if not parts:
        return []
    # Walk up while the folder is a package (has __init__.py).
    start = len(pure.parent.parts)
    while start > 0 and "/".join([*pure.parent.parts[:start], "__init__.py"]) in exists:
        start -= 1
    names = [".".join(parts[start:])] if parts[start:] else []
    plain = parts[1:] if parts[0] in {"src", "lib", "python"} and len(parts) > 1 else parts
    for name in (".".join(plain), ".".join(parts)):
        if name and name not in names:
            names.append(name)
    return names


def _collect_imports(nodes: list[ast.AST], dotted: str, is_package: bool) -> dict[str, str]:
    imports: dict[str, str] = {}
    package = dotted.split(".") if is_package else dotted.split(".")[:-1]
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    imports[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    imports.setdefault(head, head)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                if alias.name != "*":
                    imports[alias.asname or alias.name] = f"{source}.{alias.name}".lstrip(".")
    return imports


# -- routes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouterRef:
    """A router or app object: the module it lives in and its variable's name."""

    module: str
    name: str


@dataclass
class Router:
    """An ``APIRouter()`` or ``FastAPI()`` (or subclass) object assigned to a name."""

    ref: RouterRef
    call: ast.Call
    is_app: bool
    #: Its own ``prefix=`` (``""`` when none), ``None`` when it cannot be read statically.
    prefix: str | None


@dataclass
class Include:
    """``parent.include_router(child, prefix=...)`` (or ``mount``)."""

    parent: RouterRef
    child: RouterRef
    prefix: str | None
    module: str
    line: int


@dataclass
class Route:
    """One route: a handler function registered for a method and a path."""

    module: Module
    function: ast.FunctionDef | ast.AsyncFunctionDef | None
    methods: tuple[str, ...]
    path: str | None
    router: RouterRef | None
    #: The decorator or ``add_api_route`` call (status_code=, response_model=...).
    call: ast.Call
    #: Full paths as served (prefixes of every include chain); ``None`` entries are unknown.
    full_paths: list[str | None] = field(default_factory=list)

    @property
    def line(self) -> int:
        """Return the line of the decorator (or registration call)."""
        return self.call.lineno

    @property
    def name(self) -> str:
        """Return the handler's name."""
        return self.function.name if self.function is not None else "<route>"

    def keyword(self, name: str) -> ast.expr | None:
        """Return a keyword argument of the registration call."""
        for keyword in self.call.keywords:
            if keyword.arg == name:
                return keyword.value
        return None

    @property
    def is_operational(self) -> bool:
        """Tell whether it is a probe, metrics or docs path (unversioned on purpose)."""
        paths = [path for path in self.full_paths if path is not None] or [self.path or ""]
        return all(OPERATIONAL_PATH.match(path) for path in paths)

    @property
    def is_create(self) -> bool:
        """Tell whether it is a POST that creates (by its handler's name or what it calls)."""
        if "post" not in self.methods or self.function is None:
            return False
        if CREATE_HANDLER.match(self.function.name.lower()):
            return True
        return any(
            CREATE_HANDLER.match(name.lower()) and name.lower().startswith(("create", "add"))
            for name in called_names(self.function)
        )

    def describe(self) -> str:
        """Map ``POST /api/v1/items (create_item)``."""
        paths = [path for path in self.full_paths if path is not None]
        shown = paths[0] if paths else (self.path if self.path is not None else "?")
        return f"{'/'.join(self.methods).upper()} {shown or '/'} ({self.name})"


def called_names(function: ast.AST) -> set[str]:
    """Return names of everything ``function`` calls (``f``, ``obj.method`` -> ``method``)."""
    names: set[str] = set()
    for node in ast.walk(function):
        if isinstance(node, ast.Call):
            if isinstance(node.func, ast.Name):
                names.add(node.func.id)
            elif isinstance(node.func, ast.Attribute):
                names.add(node.func.attr)
    return names


def status_code(node: ast.expr | None) -> int | None:
    """Map ``201``, ``HTTPStatus.CREATED``, ``status.HTTP_201_CREATED`` -> 201."""
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value
    name = (
        node.attr
        if isinstance(node, ast.Attribute)
        else node.id
        if isinstance(node, ast.Name)
        else None
    )
    if name is None:
        return None
    found = re.match(r"HTTP_(\d{3})(_|$)", name)
    if found:
        return int(found.group(1))
    try:
        return int(HTTPStatus[name])
    except KeyError:
        return None


# -- the index ----------------------------------------------------------------------------


class CodeIndex:
    """The parsed Python code of one repository: modules, layers, routers and routes."""

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        sources = repo.python_files()
        exists = frozenset(repo.files)
        self.modules: dict[str, Module] = {}
        #: Non-test Python files that do not parse.
        self.broken: list[str] = []
        self._by_name: dict[str, str] = {}
        for path in sources:
            tree = repo.python(path)
            if tree is None:
                if repo.text(path) is not None or path in repo.problems:
                    self.broken.append(path)
                continue
            names = _dotted_names(path, exists) or [PurePosixPath(path).stem]
            module = Module(path, tree, names[0])
            module.imports = _collect_imports(module.nodes, names[0], path.endswith("__init__.py"))
            self.modules[path] = module
            for name in names:
                self._by_name.setdefault(name, path)

    # -- modules --------------------------------------------------------------------------

    def module_named(self, dotted: str) -> Module | None:
        """Return the module imported as ``dotted``, when it is in the repository."""
        path = self._by_name.get(dotted)
        return self.modules.get(path) if path is not None else None

    def resolve_member(self, qualified: str) -> tuple[Module, str] | None:
        """Map ``pkg.mod.name`` -> (module ``pkg.mod``, ``name``) when the module is here."""
        head, _, member = qualified.rpartition(".")
        module = self.module_named(head) if head else None
        return (module, member) if module is not None else None

    @cached_property
    def web_modules(self) -> list[Module]:
        """Return modules importing FastAPI or Starlette: the HTTP edge of the application."""
        return [m for m in self.modules.values() if m.imports_any("fastapi", "starlette")]

    @cached_property
    def app_roots(self) -> tuple[str, ...]:
        """Return the top-level folders (or files) holding the web modules: the application."""
        roots: set[str] = set()
        for module in self.web_modules:
            parts = PurePosixPath(module.path).parts
            skip = 1 if parts[0] in {"src", "lib"} and len(parts) > 2 else 0
            roots.add("/".join(parts[: skip + 1]) if len(parts) > skip + 1 else module.path)
        return tuple(sorted(roots))

    @cached_property
    def app_modules(self) -> list[Module]:
        """Return the application's modules (below its roots); every module when no app is found."""
        if not self.app_roots:
            return list(self.modules.values())
        return [m for m in self.modules.values() if self.in_app(m.path)]

    def in_app(self, path: str) -> bool:
        """Tell whether ``path`` is part of the application's code."""
        return any(path == root or path.startswith(root + "/") for root in self.app_roots) or (
            not self.app_roots
        )

    @cached_property
    def broken_in_app(self) -> list[str]:
        """Return application files (or any, without a found app) that do not parse."""
        if not self.app_roots:
            return list(self.broken)
        return [path for path in self.broken if self.in_app(path)]

    @cached_property
    def service_modules(self) -> list[Module]:
        """Return application modules named as services that define no routes."""
        routed = {route.module.path for route in self.routes}
        return [m for m in self.app_modules if m.is_service and m.path not in routed]

    @cached_property
    def route_modules(self) -> list[Module]:
        """Return modules that register routes."""
        seen: dict[str, Module] = {}
        for route in self.routes:
            seen.setdefault(route.module.path, route.module)
        return list(seen.values())

    @cached_property
    def called(self) -> frozenset[str]:
        """Return names of every function called anywhere in the code (``f`` and ``x.f``)."""
        names: set[str] = set()
        for module in self.modules.values():
            for call in module.calls:
                if isinstance(call.func, ast.Name):
                    names.add(call.func.id)
                elif isinstance(call.func, ast.Attribute):
                    names.add(call.func.attr)
        return frozenset(names)

    # -- class hierarchy ----------------------------------------------------------------

    @cached_property
    def classes(self) -> dict[str, list[tuple[Module, ast.ClassDef]]]:
        """Return every class, by name."""
        found: dict[str, list[tuple[Module, ast.ClassDef]]] = {}
        for module in self.modules.values():
            for node in module.classes:
                found.setdefault(node.name, []).append((module, node))
        return found

    def find_class(self, module: Module, node: ast.expr) -> tuple[Module, ast.ClassDef] | None:
        """Return the class ``node`` names, seen from ``module`` (followed through imports)."""
        qualified = module.qualified(node)
        if qualified is None:
            return None
        target = self.resolve_member(qualified)
        if target is not None:
            for candidate in target[0].classes:
                if candidate.name == target[1]:
                    return target[0], candidate
        simple = qualified.rsplit(".", 1)[-1]
        for owner, candidate in self.classes.get(simple, []):
            if owner is module or "." not in qualified or qualified == simple:
                return owner, candidate
        candidates = self.classes.get(simple, [])
        return candidates[0] if len(candidates) == 1 else None

    def inherits(self, module: Module, node: ast.ClassDef, *bases: str, depth: int = 0) -> bool:
        """Tell whether the class derives (through classes found here) from one of ``bases``.

        ``bases`` are qualified names (``pydantic_settings.BaseSettings``) or bare names.
        """
        if depth > 10:
            return False
        for base in node.bases:
            qualified = module.qualified(base) or ""
            if qualified in bases or qualified.rsplit(".", 1)[-1] in bases:
                return True
            found = self.find_class(module, base)
            if (
                found is not None
                and found[1] is not node
                and self.inherits(found[0], found[1], *bases, depth=depth + 1)
            ):
                return True
        return False

    def settings_classes(self) -> list[tuple[Module, ast.ClassDef]]:
        """Return classes deriving from pydantic's ``BaseSettings``."""
        return [
            (module, node)
            for module in self.modules.values()
            for node in module.classes
            if self.inherits(
                module,
                node,
                "pydantic_settings.BaseSettings",
                "pydantic.BaseSettings",
                "pydantic.v1.BaseSettings",
                "BaseSettings",
            )
        ]

    # -- routers and routes -------------------------------------------------------------

    @cached_property
    def _app_classes(self) -> frozenset[str]:
        names = {"FastAPI", "Starlette"}
        for module in self.web_modules:
            for node in module.classes:
                if self.inherits(
                    module, node, "fastapi.FastAPI", "starlette.applications.Starlette"
                ):
                    names.add(node.name)
        return frozenset(names)

    @cached_property
    def routers(self) -> dict[RouterRef, Router]:
        """Return every router and app object, by module and variable name."""
        found: dict[RouterRef, Router] = {}
        for module in self.web_modules:
            for node in module.nodes:
                target: ast.expr | None = None
                value: ast.expr | None = None
                if isinstance(node, ast.Assign) and len(node.targets) == 1:
                    target, value = node.targets[0], node.value
                elif isinstance(node, ast.AnnAssign):
                    target, value = node.target, node.value
                if not (isinstance(target, ast.Name) and isinstance(value, ast.Call)):
                    continue
                kind = (module.qualified(value.func) or "").rsplit(".", 1)[-1]
                if kind == "APIRouter" or kind in self._app_classes:
                    prefix: str | None = ""
                    for keyword in value.keywords:
                        if keyword.arg == "prefix":
                            prefix = self.string_value(module, keyword.value)
                    ref = RouterRef(module.path, target.id)
                    found[ref] = Router(ref, value, kind != "APIRouter", prefix)
        return found

    def string_value(  # noqa: PLR0911 - one return per kind of expression
        self, module: Module, node: ast.expr, depth: int = 0
    ) -> str | None:
        """Return the value of a string expression built from constants, or ``None``."""
        if depth > 5:
            return None
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in module.constants:
                return self.string_value(module, module.constants[node.id], depth + 1)
            qualified = module.imports.get(node.id)
            target = self.resolve_member(qualified) if qualified else None
            if target is not None and target[1] in target[0].constants:
                return self.string_value(target[0], target[0].constants[target[1]], depth + 1)
            return None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left = self.string_value(module, node.left, depth + 1)
            right = self.string_value(module, node.right, depth + 1)
            return left + right if left is not None and right is not None else None
        if isinstance(node, ast.JoinedStr):
            parts: list[str] = []
            for value in node.values:
                part = (
                    self.string_value(module, value.value, depth + 1)
                    if isinstance(value, ast.FormattedValue)
                    else self.string_value(module, value, depth + 1)
                )
                if part is None:
                    return None
                parts.append(part)
            return "".join(parts)
        return None

    def _router_ref(self, module: Module, node: ast.expr) -> RouterRef | None:
        """Return the router object ``node`` names in ``module`` (a local, or imported)."""
        if isinstance(node, ast.Name) and RouterRef(module.path, node.id) in self.routers:
            return RouterRef(module.path, node.id)
        qualified = module.qualified(node)
        if qualified is None:
            return None
        target = self.resolve_member(qualified)
        if target is not None and RouterRef(target[0].path, target[1]) in self.routers:
            return RouterRef(target[0].path, target[1])
        return None

    @cached_property
    def includes(self) -> list[Include]:
        """Return every ``include_router`` / ``mount`` whose two sides are known routers."""
        found: list[Include] = []
        for module in self.web_modules:
            loops = _loop_elements(module.tree)
            for call in module.calls:
                if not isinstance(call.func, ast.Attribute):
                    continue
                method = call.func.attr
                if method not in {"include_router", "mount"}:
                    continue
                parent = self._router_ref(module, call.func.value)
                if parent is None:
                    continue
                child_node: ast.expr | None = None
                prefix_node: ast.expr | None = None
                if method == "include_router":
                    child_node = call.args[0] if call.args else None
                    prefix_node = next((k.value for k in call.keywords if k.arg == "prefix"), None)
                    if len(call.args) > 1:
                        prefix_node = call.args[1]
                else:
                    prefix_node = call.args[0] if call.args else None
                    child_node = call.args[1] if len(call.args) > 1 else None
                    child_node = child_node or next(
                        (k.value for k in call.keywords if k.arg == "app"), None
                    )
                if child_node is None:
                    continue
                prefix = "" if prefix_node is None else self.string_value(module, prefix_node)
                children = (
                    loops.get(child_node.id, [child_node])
                    if isinstance(child_node, ast.Name)
                    else [child_node]
                )
                for element in children:
                    child = self._router_ref(module, element)
                    if child is not None:
                        found.append(Include(parent, child, prefix, module.path, call.lineno))
        return found

    def _prefixes(self, ref: RouterRef, seen: frozenset[RouterRef]) -> list[str | None]:
        """Return every prefix the router's routes are served under (``None``: unknown)."""
        router = self.routers[ref]
        own = router.prefix
        parents = [include for include in self.includes if include.child == ref]
        if not parents:
            # An app serves at its root; a router nobody includes is not served statically.
            return [own] if router.is_app else [None]
        found: list[str | None] = []
        for include in parents:
            if include.parent in seen:
                continue
            for above in self._prefixes(include.parent, seen | {ref}):
                if above is None or include.prefix is None or own is None:
                    found.append(None)
                else:
                    found.append(above + include.prefix + own)
        return found or [None]

    @cached_property
    def routes(self) -> list[Route]:
        """Return every route of the application, with the full paths it is served under."""
        found: list[Route] = []
        for module in self.web_modules:
            for function in module.functions:
                for decorator in function.decorator_list:
                    route = self._decorated_route(module, function, decorator)
                    if route is not None:
                        found.append(route)
            found.extend(self._added_routes(module))
        prefixes: dict[RouterRef, list[str | None]] = {}
        for route in found:
            if route.router is None or route.path is None:
                route.full_paths = [None]
                continue
            if route.router not in prefixes:
                prefixes[route.router] = self._prefixes(route.router, frozenset())
            route.full_paths = [
                None if prefix is None else prefix + route.path for prefix in prefixes[route.router]
            ]
        return found

    def _decorated_route(
        self,
        module: Module,
        function: ast.FunctionDef | ast.AsyncFunctionDef,
        decorator: ast.expr,
    ) -> Route | None:
        if not (isinstance(decorator, ast.Call) and isinstance(decorator.func, ast.Attribute)):
            return None
        method = decorator.func.attr
        if method not in HTTP_METHODS and method != "api_route":
            return None
        ref = self._router_ref(module, decorator.func.value)
        path_node = decorator.args[0] if decorator.args else None
        path_node = path_node or next(
            (k.value for k in decorator.keywords if k.arg == "path"), None
        )
        path = self.string_value(module, path_node) if path_node is not None else None
        if ref is None and (path is None or (path and not path.startswith("/"))):
            return None  # not a router we know, and not shaped like a route either
        methods = (method,) if method != "api_route" else _methods(decorator)
        return Route(module, function, methods, path, ref, decorator)

    def _added_routes(self, module: Module) -> list[Route]:
        found: list[Route] = []
        handlers = {function.name: function for function in module.functions}
        for call in module.calls:
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "add_api_route"):
                continue
            ref = self._router_ref(module, call.func.value)
            path = self.string_value(module, call.args[0]) if call.args else None
            endpoint = call.args[1] if len(call.args) > 1 else None
            endpoint = endpoint or next(
                (k.value for k in call.keywords if k.arg == "endpoint"), None
            )
            function = handlers.get(endpoint.id) if isinstance(endpoint, ast.Name) else None
            found.append(Route(module, function, _methods(call), path, ref, call))
        return found


def _methods(call: ast.Call) -> tuple[str, ...]:
    for keyword in call.keywords:
        if keyword.arg == "methods" and isinstance(keyword.value, ast.List | ast.Tuple | ast.Set):
            return tuple(
                element.value.lower()
                for element in keyword.value.elts
                if isinstance(element, ast.Constant) and isinstance(element.value, str)
            )
    return ("get",)


def _loop_elements(tree: ast.Module) -> dict[str, list[ast.expr]]:
    """Map ``for r in (a, b):`` -> ``{"r": [a, b]}``, so routers included in a loop are found."""
    found: dict[str, list[ast.expr]] = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.For)
            and isinstance(node.target, ast.Name)
            and isinstance(node.iter, ast.List | ast.Tuple)
        ):
            found.setdefault(node.target.id, []).extend(node.iter.elts)
    return found


_INDEXES: weakref.WeakKeyDictionary[Repository, CodeIndex] = weakref.WeakKeyDictionary()


def code_index(repo: Repository) -> CodeIndex:
    """Return the index of ``repo``'s Python code, built once and shared by every rule."""
    index = _INDEXES.get(repo)
    if index is None:
        index = CodeIndex(repo)
        _INDEXES[repo] = index
    return index


# -- handler parameters -------------------------------------------------------------------


def parameters(
    function: ast.FunctionDef | ast.AsyncFunctionDef,
) -> list[tuple[ast.arg, ast.expr | None]]:
    """Return each parameter of ``function`` with its default (``None`` when it has none)."""
    arguments = function.args
    positional = [*arguments.posonlyargs, *arguments.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults))
    defaults += list(arguments.defaults)
    pairs = list(zip(positional, defaults, strict=True))
    pairs += list(zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True))
    return pairs


def annotation_parts(node: ast.expr | None) -> tuple[ast.expr | None, list[ast.expr]]:
    """Map ``Annotated[T, Query(), Field(le=5)]`` -> (``T``, [``Query()``, ``Field(le=5)``])."""
    if (
        isinstance(node, ast.Subscript)
        and isinstance(node.value, ast.Name | ast.Attribute)
        and (node.value.attr if isinstance(node.value, ast.Attribute) else node.value.id)
        == "Annotated"
        and isinstance(node.slice, ast.Tuple)
        and node.slice.elts
    ):
        return node.slice.elts[0], list(node.slice.elts[1:])
    return node, []


def call_name(node: ast.expr | None) -> str | None:
    """Return the simple name of a call's function (``fastapi.Query(...)`` -> ``Query``)."""
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id
        if isinstance(node.func, ast.Attribute):
            return node.func.attr
    return None


def keyword(call: ast.Call, name: str) -> ast.expr | None:
    """Return a keyword argument of ``call``."""
    return next((item.value for item in call.keywords if item.arg == name), None)


def source_of(node: ast.AST) -> str:
    """Return the node written back as code (short), for evidence notes."""
    text = ast.unparse(node)
    return text if len(text) <= 80 else text[:77] + "..."


# -- automation: CI and git hooks ---------------------------------------------------------

#: Where CI systems keep their pipelines.
CI_PATTERNS = (
    ".github/workflows/*.yml",
    ".github/workflows/*.yaml",
    ".gitlab-ci.yml",
    ".gitlab/*.yml",
    ".circleci/config.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    "Jenkinsfile",
    ".drone.yml",
    ".woodpecker.yml",
    ".woodpecker/*.yml",
    ".travis.yml",
    ".buildkite/*.yml",
)
PRE_COMMIT = ".pre-commit-config.yaml"


def ci_files(repo: Repository) -> list[str]:
    """Return the CI pipeline files of the repository."""
    found: list[str] = []
    for name in repo.files:
        pure = PurePosixPath(name)
        if any(
            pure.match(pattern) and name.count("/") == pattern.count("/") for pattern in CI_PATTERNS
        ):
            found.append(name)
    return found


def _make_targets(repo: Repository) -> dict[str, list[str]]:
    """Return makefile targets and their recipe lines (CI often runs ``make lint``)."""
    targets: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in repo.lines("Makefile"):
        header = re.match(r"^([A-Za-z0-9_.-]+)\s*:(?!=)(.*)$", line)
        if header:
            current = targets.setdefault(header.group(1), [])
            # Prerequisites run too: `check: lint test` runs lint's recipe.
            current.extend(f"make {name}" for name in header.group(2).split("#")[0].split())
        elif line.startswith("\t") and current is not None:
            current.append(line.strip())
        elif line.strip() and not line.startswith("#"):
            current = None
    return targets


def automation_runs(repo: Repository, pattern: re.Pattern[str]) -> list[Evidence]:
    """Return where CI or the git hooks run something matching ``pattern`` (``make`` followed).

    Each hit is a CI line (directly or through a Makefile target it runs) or a line of
    ``.pre-commit-config.yaml``.
    """
    targets = _make_targets(repo)

    def through_make(command: str, seen: frozenset[str]) -> bool:
        for target in re.findall(r"\bmake\s+(?:-\S+\s+)*([A-Za-z0-9_.-]+)", command):
            if target in seen:
                continue
            for recipe in targets.get(target, []):
                if pattern.search(recipe) or through_make(recipe, seen | {target}):
                    return True
        return False

    hooks = [
        (number, line)
        for number, line in enumerate(repo.lines(PRE_COMMIT), start=1)
        if pattern.search(line) and not line.lstrip().startswith("#")
    ]
    found: list[Evidence] = []
    for name in ci_files(repo):
        for number, line in enumerate(repo.lines(name), start=1):
            if line.lstrip().startswith("#"):
                continue
            if pattern.search(line):
                found.append(Evidence(f"CI runs: {line.strip()[:100]}", path=name, line=number))
            elif through_make(line, frozenset()):
                found.append(
                    Evidence(
                        f"CI runs it through `{line.strip()[:60]}` (Makefile)",
                        path=name,
                        line=number,
                    )
                )
            elif hooks and re.search(r"\bpre-commit\s+run\b", line):
                found.append(
                    Evidence(f"CI runs the git hooks: {line.strip()[:60]}", path=name, line=number)
                )
    found += [
        Evidence(f"git hook: {line.strip()[:100]}", path=PRE_COMMIT, line=number)
        for number, line in hooks
    ]
    return found
