"""Architecture (ARCH): layering, one-way dependencies, thin handlers, typed settings."""

from __future__ import annotations

import ast
import configparser
import re
from typing import Any

from svcforge.check.engine import rule
from svcforge.check.model import Evidence, Status, Verdict
from svcforge.check.repository import Repository
from svcforge.check.rules.python_code import (
    CodeIndex,
    Module,
    automation_runs,
    code_index,
    judged,
    looks_like_sql,
    no_fastapi,
    no_python,
    source_of,
    unknown,
    where,
)

#: SQLAlchemy's statement builders: building a query is data access.
SQL_BUILDERS = frozenset({"select", "insert", "update", "delete", "text", "union", "exists"})
#: Methods that send SQL, on any session or connection.
SQL_METHODS = frozenset(
    {
        "execute",
        "executemany",
        "exec_driver_sql",
        "scalars",
        "scalar",
        "fetch",
        "fetchrow",
        "fetchval",
        "query",
    }
)
#: Unit-of-work methods, flagged on a receiver named like a session or connection.
SESSION_METHODS = frozenset(
    {"add", "add_all", "commit", "delete", "flush", "refresh", "rollback", "merge", "get"}
)
_SESSION_NAME = re.compile(r"(^|_)(session|db|conn|connection|cursor|tx)$", re.IGNORECASE)


def sql_use(module: Module, scope: ast.AST) -> list[tuple[ast.AST, str]]:
    """Return places in ``scope`` that build or send SQL themselves."""
    found: list[tuple[ast.AST, str]] = []
    for node in module.calls if scope is module.tree else ast.walk(scope):
        if not isinstance(node, ast.Call):
            continue
        qualified = module.qualified(node.func) or ""
        if qualified.startswith("sqlalchemy.") and qualified.rsplit(".", 1)[-1] in SQL_BUILDERS:
            found.append((node, f"builds SQL: {source_of(node)}"))
        elif isinstance(node.func, ast.Attribute):
            method = node.func.attr
            receiver = node.func.value
            receiver_name = (
                receiver.id
                if isinstance(receiver, ast.Name)
                else receiver.attr
                if isinstance(receiver, ast.Attribute)
                else ""
            )
            if method in SQL_METHODS and receiver_name and not receiver_name[0].isupper():
                if method != "query" or _SESSION_NAME.search(receiver_name):
                    found.append((node, f"sends SQL: {source_of(node)}"))
            elif method in SESSION_METHODS and _SESSION_NAME.search(receiver_name):
                found.append((node, f"uses the session: {source_of(node)}"))
    return found


def _repository_names(index: CodeIndex, module: Module) -> tuple[set[str], set[str]]:
    """Return names ``module`` imports from repository modules: (classes, functions or modules)."""
    classes: set[str] = set()
    others: set[str] = set()
    for local, qualified in module.imports.items():
        target = index.module_named(qualified)
        if target is not None and target.is_repository:
            others.add(local)  # the module itself: `crud.get_items(...)`
            continue
        member = index.resolve_member(qualified)
        if member is not None and member[0].is_repository:
            (classes if member[1][:1].isupper() else others).add(local)
    return classes, others


@rule("ARCH-1")
def layered_flow(repo: Repository) -> Verdict:  # noqa: PLR0912 - one branch per finding the standard names
    """Parses the Python code: a service layer exists (modules named service/use_cases), route
    handlers reach data only through it (no calls to repository functions or repository objects'
    methods in a handler), and services build no SQL themselves.

    The other steps of the request flow are judged by their own standards: rate limits
    (SEC-3), authentication (SEC-1), validation (API-2), status codes (API-3) and the
    central error handler (API-4).
    """
    missing = no_python("ARCH-1", repo, "the layering")
    if missing:
        return missing
    index = code_index(repo)
    missing = no_fastapi("ARCH-1", index, "requests flow through the layers")
    if missing:
        return missing
    failures: list[Evidence] = []
    services = index.service_modules
    if not services:
        if index.broken_in_app:
            return unknown("ARCH-1", index.broken_in_app, "no service layer was found")
        handlers = [route for route in index.routes if not route.is_operational]
        first = handlers[0] if handlers else None
        return Verdict(
            "ARCH-1",
            Status.FAIL,
            "No service layer was found: no module is named service(s) or use_cases, so "
            "route handlers hold the business rules themselves.",
            (
                Evidence(
                    f"route {first.describe()} has no service to call",
                    path=first.module.path,
                    line=first.line,
                ),
            )
            if first
            else (),
            "Move the use cases out of the route handlers into service modules (e.g. "
            "`<feature>/service.py`) that call repositories, and make handlers call them.",
        )
    for route in index.routes:
        if route.function is None or route.is_operational:
            continue
        classes, others = _repository_names(index, route.module)
        built: set[str] = set()
        for node in ast.walk(route.function):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                func = node.value.func
                if isinstance(func, ast.Name) and func.id in classes:
                    built |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        for node in ast.walk(route.function):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            direct = isinstance(func, ast.Name) and func.id in others
            through = (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id in (others | built)
            )
            chained = (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Call)
                and isinstance(func.value.func, ast.Name)
                and func.value.func.id in classes
            )
            if direct or through or chained:
                failures.append(
                    where(
                        route.module,
                        node,
                        f"handler {route.name} calls the repository directly: {source_of(node)}",
                    )
                )
    for module in services:
        for node, what in sql_use(module, module.tree):
            # Committing the unit of work is the use case's job; writing SQL is not.
            if not what.startswith("uses the session"):
                failures.append(where(module, node, f"service module {what}"))
    return judged(
        "ARCH-1",
        failures,
        broken=index.broken_in_app,
        passed=(
            f"Route handlers go through {len(services)} service module(s), which leave "
            "SQL to the repositories."
        ),
        failed="Layers are skipped in {count} place{s}: handlers calling repositories, or "
        "services running SQL.",
        remediation=(
            "Make the handler call a service function, and keep queries in the repository "
            "the service is given."
        ),
        evidence=[Evidence("service module", path=module.path) for module in services],
    )


def _import_linter_contracts(
    repo: Repository,
) -> tuple[str | None, list[dict[str, Any]], list[str]]:
    """Map (where the config is, its contracts, its root packages), from any of its homes."""
    table = repo.tool("importlinter")
    if isinstance(table, dict):
        contracts = [c for c in table.get("contracts", []) if isinstance(c, dict)]
        roots = table.get("root_packages") or [table.get("root_package")]
        return "pyproject.toml", contracts, [str(r) for r in roots if r]
    for name in (".importlinter", "setup.cfg", "tox.ini"):
        text = repo.text(name)
        if text is None or "importlinter" not in text:
            continue
        parser = configparser.ConfigParser()
        try:
            parser.read_string(text)
        except configparser.Error:
            repo.problems[name] = "invalid INI"
            continue
        if not parser.has_section("importlinter"):
            continue
        base = parser["importlinter"]
        roots = (base.get("root_packages") or base.get("root_package") or "").split()
        contracts = []
        for section in parser.sections():
            if section.startswith("importlinter:contract:"):
                contract: dict[str, Any] = dict(parser[section])
                for key in ("layers", "containers", "source_modules", "forbidden_modules"):
                    if key in contract:
                        contract[key] = [
                            line.strip() for line in contract[key].splitlines() if line.strip()
                        ]
                contracts.append(contract)
        return name, contracts, roots
    return None, [], []


def _module_exists(repo: Repository, dotted: str) -> bool:
    relative = dotted.replace(".", "/")
    return any(
        repo.exists(f"{base}{relative}{suffix}")
        for base in ("", "src/", "lib/")
        for suffix in (".py", "/__init__.py")
    ) or any(name.startswith((f"{relative}/", f"src/{relative}/")) for name in repo.files)


@rule("ARCH-2")
def one_way_dependencies(repo: Repository) -> Verdict:
    """Parses the import-linter configuration (pyproject.toml `[tool.importlinter]`, `.importlinter`
    or setup.cfg): a `layers` contract over modules that exist, and `lint-imports` run by CI or a
    git hook.

    Running the contract (``lint-imports``) is done with ``--run``.
    """
    home, contracts, roots = _import_linter_contracts(repo)
    remediation = (
        "Add an import-linter `layers` contract (api -> services -> repositories -> models) "
        "to pyproject.toml and run `lint-imports` in CI."
    )
    if home is None:
        return _without_configuration(repo, remediation)
    failures: list[Evidence] = []
    layers = [c for c in contracts if str(c.get("type", "")).strip() == "layers"]
    if not layers:
        failures.append(
            Evidence("no contract of type 'layers'", path=home, key="tool.importlinter.contracts")
        )
    for root in roots:
        if not _module_exists(repo, root):
            failures.append(
                Evidence(
                    f"root package {root!r} is not in the repository", path=home, key="root_package"
                )
            )
    for contract in layers:
        containers = [str(c) for c in contract.get("containers", []) or []] or [""]
        for container in containers:
            if container and not _module_exists(repo, container):
                failures.append(
                    Evidence(
                        f"container {container!r} does not exist ({contract.get('name', '')})",
                        path=home,
                        key="containers",
                    )
                )
                continue
            for layer in contract.get("layers", []) or []:
                for part in str(layer).replace(":", "|").split("|"):
                    name = part.strip()
                    if not name or name.startswith("("):
                        continue  # optional layers may be missing
                    dotted = f"{container}.{name}" if container else name
                    if not _module_exists(repo, dotted):
                        failures.append(
                            Evidence(
                                f"layer {dotted!r} does not exist ({contract.get('name', '')})",
                                path=home,
                                key="layers",
                            )
                        )
    enforced = automation_runs(repo, re.compile(r"lint-imports|import-linter|importlinter"))
    if not enforced:
        failures.append(
            Evidence(
                "neither CI nor a git hook runs lint-imports", path=home, key="tool.importlinter"
            )
        )
    return judged(
        "ARCH-2",
        failures,
        passed=f"{len(layers)} import-linter layers contract(s) in {home}, run by CI or a git "
        "hook.",
        failed="The dependency contract is missing, stale or never run ({count} finding{s}).",
        remediation=remediation,
        evidence=[
            Evidence(
                f"layers contract: {c.get('name', '')}",
                path=home,
                key="tool.importlinter.contracts",
            )
            for c in layers
        ]
        + enforced[:3],
    )


def _without_configuration(repo: Repository, remediation: str) -> Verdict:
    """ARCH-2 when no import-linter configuration was found: unknown if pyproject is broken."""
    if repo.exists("pyproject.toml") and repo.pyproject is None:
        return unknown("ARCH-2", ["pyproject.toml"], "no other import-linter configuration")
    return Verdict(
        "ARCH-2",
        Status.FAIL,
        "No import-linter configuration was found, so nothing enforces the direction of "
        "dependencies.",
        (Evidence("no [tool.importlinter] table", path="pyproject.toml", key="tool.importlinter"),),
        remediation,
    )


@rule("ARCH-3")
def thin_handlers(repo: Repository) -> Verdict:
    """Parses the Python code: modules that register routes build or send no SQL and call no
    session methods, and service modules import nothing from FastAPI or Starlette.
    """
    missing = no_python("ARCH-3", repo, "thin handlers")
    if missing:
        return missing
    index = code_index(repo)
    missing = no_fastapi("ARCH-3", index, "handlers stay thin")
    if missing:
        return missing
    failures: list[Evidence] = []
    for module in index.route_modules:
        for node, what in sql_use(module, module.tree):
            failures.append(where(module, node, f"route module {what}"))
        for node, text in module.strings():
            if looks_like_sql(text):
                failures.append(where(module, node, f"route module holds SQL: {text[:60]!r}"))
    for module in index.service_modules:
        for node in module.import_nodes("fastapi", "starlette"):
            failures.append(
                where(module, node, f"service module imports HTTP types: {source_of(node)}")
            )
    return judged(
        "ARCH-3",
        failures,
        broken=index.broken_in_app,
        passed=(
            f"{len(index.route_modules)} route module(s) hold no SQL and "
            f"{len(index.service_modules)} service module(s) import no HTTP types."
        ),
        failed="Layering is breached in {count} place{s}: SQL or session use in route modules, "
        "or HTTP types in services.",
        remediation=(
            "Move queries into a repository called by a service, and raise domain errors in "
            "services (mapped to HTTP by the error handler) instead of HTTP exceptions."
        ),
        evidence=[Evidence("route module", path=m.path) for m in index.route_modules[:5]],
    )


_ENV_READS = frozenset(
    {
        "os.environ",
        "os.getenv",
        "os.environb",
        "os.putenv",
        "dotenv.load_dotenv",
        "dotenv.dotenv_values",
    }
)
_MUTATORS = frozenset(
    {
        "append",
        "extend",
        "insert",
        "add",
        "update",
        "setdefault",
        "pop",
        "popitem",
        "clear",
        "remove",
        "discard",
        "appendleft",
    }
)
_MUTABLE_CALLS = frozenset(
    {"list", "dict", "set", "defaultdict", "OrderedDict", "deque", "Counter"}
)
_CONNECTION_URL = re.compile(
    r"^(postgres(ql)?|mysql|mariadb|redis|rediss|amqps?|mongodb(\+srv)?|kafka|nats|mssql|oracle)"
    r"(\+\w+)?://[^/\s:@{}]*(:[^@/\s]*)?@?[A-Za-z0-9.-]+",
    re.IGNORECASE,
)
_HOST_LITERAL = re.compile(r"^(localhost|\d{1,3}(\.\d{1,3}){3})(:\d+)?$")


def _main_guard_nodes(tree: ast.Module) -> set[int]:
    """Map ``id()`` of everything under ``if __name__ == "__main__":`` (a developer's entry)."""
    found: set[int] = set()
    for statement in tree.body:
        if (
            isinstance(statement, ast.If)
            and isinstance(statement.test, ast.Compare)
            and isinstance(statement.test.left, ast.Name)
            and statement.test.left.id == "__name__"
        ):
            found |= {id(node) for node in ast.walk(statement)}
    return found


def _mutated_module_state(module: Module) -> list[tuple[ast.AST, str]]:  # noqa: PLR0912 - one branch per way of changing state
    """Return module-level containers (or ``global`` names) that functions change."""
    found: list[tuple[ast.AST, str]] = []
    # A set of asyncio tasks kept alive until they finish is the idiom asyncio's own
    # documentation asks for: not state the code reads, so it is left out.
    tasks = {
        statement.target.id
        for statement in module.tree.body
        if isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and re.search(r"\b(Task|Future)\b", ast.unparse(statement.annotation))
    }
    containers = {
        name
        for name, value in module.constants.items()
        if name not in tasks
        and (
            isinstance(
                value, ast.List | ast.Dict | ast.Set | ast.ListComp | ast.DictComp | ast.SetComp
            )
            or (
                isinstance(value, ast.Call)
                and (module.qualified(value.func) or "").rsplit(".", 1)[-1] in _MUTABLE_CALLS
            )
        )
    }
    if not containers and not any(isinstance(node, ast.Global) for node in module.nodes):
        return found
    for function in module.functions:
        local = {
            arg.arg
            for arg in [*function.args.args, *function.args.kwonlyargs, *function.args.posonlyargs]
        }
        for node in ast.walk(function):
            if isinstance(node, ast.Global):
                found.append(
                    (
                        node,
                        (
                            f"function {function.name} rebinds module state: global "
                            f"{', '.join(node.names)}"
                        ),
                    )
                )
            elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        local.add(target.id)
        for node in ast.walk(function):
            name: str | None = None
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in _MUTATORS
                and isinstance(node.func.value, ast.Name)
            ):
                name = node.func.value.id
            elif isinstance(node, ast.Assign | ast.AugAssign | ast.Delete):
                targets = (
                    node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
                )
                for target in targets:
                    if isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name):
                        name = target.value.id
            if name and name in containers and name not in local:
                found.append((node, f"function {function.name} changes module-level {name}"))
    return found


@rule("ARCH-4")
def typed_settings(repo: Repository) -> Verdict:  # noqa: PLR0912 - one branch per finding the standard names
    """Parses the Python code: one pydantic-settings `BaseSettings` class holds the configuration,
    no application module outside it reads the environment (os.environ/getenv), no function
    changes module-level state (`global`, mutated module containers), and no connection URL, IP
    address or localhost is written into application code outside the settings.

    Hard-coded secrets are SEC-5's part.
    """
    missing = no_python("ARCH-4", repo, "typed settings")
    if missing:
        return missing
    index = code_index(repo)
    failures: list[Evidence] = []
    settings = [
        (m, c) for m, c in index.settings_classes() if index.in_app(m.path)
    ] or index.settings_classes()
    if not settings:
        if index.broken_in_app:
            return unknown("ARCH-4", index.broken_in_app, "no settings class was found")
        return Verdict(
            "ARCH-4",
            Status.FAIL,
            "No typed settings object was found: no class derives from pydantic-settings' "
            "BaseSettings.",
            (Evidence("no BaseSettings subclass in the code", path="."),),
            "Read the configuration from the environment into one `Settings(BaseSettings)` "
            "class and pass it to the code that needs it.",
        )
    nested = {
        ast.unparse(statement.annotation).split("|")[0].strip()
        for _, node in settings
        for statement in node.body
        if isinstance(statement, ast.AnnAssign)
    }
    roots = [(m, c) for m, c in settings if c.name not in nested]
    # A base class others derive from is part of the same object.
    bases = {ast.unparse(base).rsplit(".", 1)[-1] for _, c in settings for base in c.bases}
    roots = [(m, c) for m, c in roots if c.name not in bases]
    if len(roots) > 1:
        failures += [
            where(
                m, c, f"settings class {c.name}: configuration is split over {len(roots)} objects"
            )
            for m, c in roots
        ]
    settings_modules = {m.path for m, _ in settings}
    for module in index.app_modules:
        main_guard = _main_guard_nodes(module.tree)
        if module.path not in settings_modules:
            for node in module.nodes:
                if isinstance(node, ast.Attribute | ast.Name) and id(node) not in main_guard:
                    qualified = module.qualified(node)
                    if qualified in _ENV_READS and not (
                        isinstance(node, ast.Name) and node.id not in module.imports
                    ):
                        failures.append(
                            where(
                                module,
                                node,
                                f"reads the environment outside the settings: {qualified}",
                            )
                        )
            for node, text in module.strings():
                if id(node) in main_guard:
                    continue
                if _CONNECTION_URL.match(text) or _HOST_LITERAL.match(text):
                    failures.append(where(module, node, f"hard-coded host: {text[:60]!r}"))
        for node, what in _mutated_module_state(module):
            failures.append(where(module, node, what))
    # Attribute reads like `os.environ.get` appear as nested Attribute nodes: keep one per line.
    unique: dict[tuple[str | None, int | None, str], Evidence] = {}
    for item in failures:
        unique.setdefault((item.path, item.line, item.note.split(":")[0]), item)
    module, node = roots[0] if roots else settings[0]
    return judged(
        "ARCH-4",
        list(unique.values()),
        broken=index.broken_in_app,
        passed=f"Configuration comes from the environment through {node.name} ({module.path}); "
        "no module state is changed.",
        failed="The typed settings are bypassed, or module state shared, in {count} place{s}.",
        remediation=(
            "Read every setting through the one settings class (add a field), pass values "
            "in as arguments, and keep state on objects the app owns (e.g. app.state)."
        ),
        evidence=[where(module, node, f"typed settings: class {node.name}")],
    )
