"""DATA rules: reversible migrations, the connection pool, indexes, seeding, units of work.

Alembic is found through ``alembic.ini`` (``script_location``), ``[tool.alembic]`` in
``pyproject.toml``, or any ``versions/`` folder next to an ``env.py``; models and
repositories are found in the Python AST wherever the team put them.
"""

from __future__ import annotations

import ast
import configparser
import posixpath
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from svcforge.check.engine import rule
from svcforge.check.model import Evidence, Verdict
from svcforge.check.repository import Repository
from svcforge.check.rules.ops import (
    calls,
    dotted_name,
    failed,
    keyword_names,
    last_name,
    line_matching,
    nodes_of,
    passed,
    problem_evidence,
    python_gate,
    source_modules,
    string_constants,
    unknown,
)

# -- finding Alembic -----------------------------------------------------------------------


def _alembic_ini_locations(repo: Repository, ini: str) -> list[str]:
    """Return the version folders an ``alembic.ini`` names (relative to the repository)."""
    content = repo.text(ini)
    if content is None:
        return []
    parser = configparser.RawConfigParser(strict=False)
    try:
        parser.read_string(content, source=ini)
    except configparser.Error as error:
        repo.problems[ini] = f"invalid INI: {' '.join(str(error).split())}"
        return []
    here = posixpath.dirname(ini)
    folders = []
    for section in parser.sections():
        if not parser.has_option(section, "script_location"):
            continue
        script = _resolve(here, parser.get(section, "script_location"))
        folders.append(posixpath.join(script, "versions"))
        if parser.has_option(section, "version_locations"):
            raw = parser.get(section, "version_locations")
            folders += [_resolve(here, part) for part in re.split(r"[\s,;:]+", raw) if part]
    return folders


def _resolve(here: str, value: str) -> str:
    """Return a path of ``alembic.ini`` (``%(here)s`` expanded, ``package:path`` reduced)."""
    value = value.strip().replace("%(here)s", here or ".")
    if ":" in value and not value.startswith("/"):
        value = value.split(":", 1)[1]  # "package:folder" names a folder inside a package
    return (
        posixpath.normpath(value.replace("\\", "/")).lstrip("./")
        if value not in {".", "./"}
        else ""
    )


def alembic_versions(repo: Repository) -> tuple[list[str], list[Evidence]]:
    """Return the Alembic revision files, and where the configuration that names them is."""
    folders: list[str] = []
    evidence: list[Evidence] = []
    for ini in repo.glob("alembic.ini"):
        found = _alembic_ini_locations(repo, ini)
        if found:
            line = line_matching(repo, ini, r"^\s*script_location\s*=")
            evidence.append(Evidence("script_location", path=ini, line=line, key="script_location"))
            folders += found
    location = ((repo.pyproject or {}).get("tool") or {}).get("alembic")
    if isinstance(location, dict) and isinstance(location.get("script_location"), str):
        folders.append(posixpath.join(_resolve("", location["script_location"]), "versions"))
        evidence.append(Evidence("[tool.alembic]", path="pyproject.toml", key="tool.alembic"))
    if not folders:
        for env in repo.glob("env.py"):
            folder = posixpath.join(posixpath.dirname(env), "versions")
            if any(name.endswith(".py") for name in repo.under(folder)):
                folders.append(folder)
                evidence.append(Evidence("Alembic environment", path=env))
    revisions = sorted(
        {
            name
            for folder in folders
            for name in (repo.under(folder) if folder else repo.files)
            if name.endswith(".py") and not name.rpartition("/")[2].startswith("__")
        }
    )
    return revisions, evidence


def _body_is_empty(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function does nothing: only a docstring, ``pass`` or ``...``."""
    for statement in function.body:
        if isinstance(statement, ast.Pass):
            continue
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # a docstring or an ellipsis
        return False
    return True


def _refuses(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function only raises (``raise NotImplementedError`` and the like)."""
    statements = [
        statement
        for statement in function.body
        if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant))
    ]
    return len(statements) == 1 and isinstance(statements[0], ast.Raise)


def _top_level(tree: ast.Module, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef) and statement.name == name:
            return statement
    return None


def _round_trip(repo: Repository) -> Evidence | None:
    """Return a test or CI step that applies the migrations down (and so up again)."""
    candidates = [*repo.glob(".github/workflows/*"), *repo.glob(".gitlab-ci.yml"), "Makefile"]
    for name in candidates:
        line = line_matching(repo, name, r"alembic\s+downgrade")
        if line is not None:
            return Evidence("CI downgrades the migrations", path=name, line=line)
    for name in repo.python_files(tests=True):
        if "downgrade" not in (repo.text(name) or ""):
            continue  # parse only the tests that may do it
        tree = repo.python(name)
        if tree is None:
            continue
        for call in calls(tree):
            if last_name(call.func) == "downgrade":
                return Evidence("a test downgrades the migrations", path=name, line=call.lineno)
        for constant in string_constants(tree):
            if "alembic downgrade" in str(constant.value):
                return Evidence("a test downgrades the migrations", path=name, line=constant.lineno)
    return None


@rule("DATA-1")
def reversible_migrations(repo: Repository) -> Verdict:
    """Finds the Alembic revisions (``alembic.ini`` script_location, ``[tool.alembic]``, or a
    ``versions/`` folder next to ``env.py``) and parses each: every ``upgrade`` that does
    something needs a ``downgrade`` that is not only ``pass``, a docstring, ``...`` or a
    ``raise``; a test or CI step must apply them down again.
    """
    revisions, located = alembic_versions(repo)
    if not revisions:
        return failed(
            "DATA-1",
            "No Alembic migrations found.",
            located or [Evidence("no alembic.ini, [tool.alembic] or versions/ folder", path=".")],
            "Manage the schema with Alembic (`alembic init migrations`) and commit every "
            "revision with its upgrade and downgrade.",
        )
    broken = []
    irreversible = []
    for name in revisions:
        tree = repo.python(name)
        if tree is None:
            broken.append(problem_evidence(repo, name))
            continue
        upgrade = _top_level(tree, "upgrade")
        downgrade = _top_level(tree, "downgrade")
        if upgrade is None or _body_is_empty(upgrade):
            continue  # an empty or merge revision: nothing to revert
        if downgrade is None:
            irreversible.append(Evidence("no downgrade()", path=name, line=upgrade.lineno))
        elif _body_is_empty(downgrade) or _refuses(downgrade):
            irreversible.append(
                Evidence("downgrade() does nothing", path=name, line=downgrade.lineno)
            )
    if irreversible:
        return failed(
            "DATA-1",
            f"{len(irreversible)} migration(s) cannot be reverted.",
            irreversible,
            "Write a downgrade() that undoes exactly what upgrade() does (drop what it "
            "created, restore what it dropped).",
        )
    if broken:
        return unknown(
            "DATA-1",
            f"{len(broken)} migration file(s) could not be parsed.",
            broken,
        )
    trip = _round_trip(repo)
    evidence = [
        *located,
        Evidence(f"{len(revisions)} revision(s), each reversible", path=revisions[0]),
    ]
    if trip is None:
        return failed(
            "DATA-1",
            "Every migration has a downgrade, but nothing applies them down and up again.",
            evidence,
            "Add a test (or CI step) that runs `alembic upgrade head`, `downgrade base` and "
            "`upgrade head` on the real database engine.",
        )
    return passed(
        "DATA-1",
        f"All {len(revisions)} Alembic revisions are reversible and a round trip is tested.",
        [*evidence, trip],
    )


# -- DATA-2: repositories over a configured async pool --------------------------------------

_ASYNC_ENGINES = frozenset({"create_async_engine", "async_engine_from_config", "create_pool"})
_POOL_SIZE = frozenset({"pool_size", "max_overflow", "min_size", "max_size"})
_POOL_TIMEOUTS = frozenset(
    {"pool_timeout", "timeout", "command_timeout", "connect_timeout", "pool_recycle"}
)


def repository_locations(
    modules: Iterable[tuple[str, ast.Module]],
) -> tuple[set[str], list[tuple[str, ast.ClassDef]]]:
    """Modules named like repositories, and classes named ``...Repository`` (or ``...Repo``)."""
    module_names = set()
    classes = []
    for name, tree in modules:
        parts = name.removesuffix(".py").split("/")
        stem = parts[-1]
        if (
            stem in {"repository", "repositories", "repo", "repos"}
            or stem.endswith(("_repository", "_repositories", "_repo"))
            or "repositories" in parts[:-1]
        ):
            module_names.add(name)
        classes += [
            (name, node)
            for node in nodes_of(tree, ast.ClassDef)
            if node.name.endswith(("Repository", "Repo"))
        ]
    return module_names, classes


def _nested_keys(call: ast.Call) -> set[str]:
    """Keyword names of a call and the string keys of dict literals among its arguments."""
    keys = keyword_names(call)
    for node in ast.walk(call):
        if isinstance(node, ast.Dict):
            keys.update(str(key.value) for key in node.keys if isinstance(key, ast.Constant))
    return keys


@rule("DATA-2")
def configured_async_pool(repo: Repository) -> Verdict:
    """Reads the Python AST for repositories (``...Repository`` classes or ``repository``
    modules) and an async engine (``create_async_engine``, asyncpg ``create_pool``) created
    with a pool size (``pool_size``/``max_overflow``) and timeouts (``pool_timeout``, connect
    or command timeouts).
    """
    gate = python_gate(repo, "DATA-2")
    if gate is not None:
        return gate
    modules = source_modules(repo)
    revisions, _ = alembic_versions(repo)
    tools = {posixpath.dirname(name) for name in revisions}
    engines = [
        (name, call)
        for name, tree in modules
        if not name.startswith(("scripts/", "migrations/", "alembic/"))
        and not any(name.startswith(folder.rpartition("/")[0] + "/") for folder in tools)
        for call in calls(tree)
        if last_name(call.func) in _ASYNC_ENGINES
    ]
    # One-shot engines (``poolclass=NullPool``: migrations, scripts) keep no pool to size.
    engines = [
        (name, call)
        for name, call in engines
        if not any(
            keyword.arg == "poolclass" and last_name(keyword.value) == "NullPool"
            for keyword in call.keywords
        )
    ]
    module_names, classes = repository_locations(modules)
    evidence = [
        Evidence(f"repository {cls.name}", path=name, line=cls.lineno) for name, cls in classes[:3]
    ]
    evidence += [
        Evidence("repository module", path=name) for name in sorted(module_names)[:3] if not classes
    ]
    problems = []
    if not classes and not module_names:
        problems.append("no repository classes or modules")
    if not engines:
        sync = [
            Evidence("synchronous engine", path=name, line=call.lineno)
            for name, tree in modules
            for call in calls(tree)
            if last_name(call.func) == "create_engine"
        ]
        problems.append("no async engine or pool is created")
        evidence += sync[:1]
    for name, call in engines:
        keys = _nested_keys(call)
        size = sorted(keys & _POOL_SIZE)
        timeouts = sorted(keys & _POOL_TIMEOUTS)
        evidence.append(
            Evidence(
                f"{last_name(call.func)}(size: {', '.join(size) or 'default'}; "
                f"timeouts: {', '.join(timeouts) or 'default'})",
                path=name,
                line=call.lineno,
            )
        )
        if not size:
            problems.append("the pool size is left to the default")
        if not timeouts:
            problems.append("the pool has no timeouts")
    if problems:
        return failed(
            "DATA-2",
            f"Data access incomplete: {'; '.join(dict.fromkeys(problems))}.",
            evidence or [Evidence("no database code found", path=".")],
            "Create the engine with create_async_engine(pool_size=, max_overflow=, "
            "pool_timeout=, connect_args timeouts) from settings, and keep queries in "
            "repository classes.",
        )
    return passed(
        "DATA-2", "Repositories run over an async pool with size and timeouts set.", evidence
    )


# -- DATA-3: indexes for the lookups the code does ------------------------------------------


@dataclass
class _Table:
    """What is known of a table: its indexed leading columns and where they are declared."""

    name: str
    #: Attribute (model) or column (migration) name -> where it is indexed.
    indexed: dict[str, Evidence] = field(default_factory=dict)
    #: Model attribute -> column name (``mapped_column("col")``).
    columns: dict[str, str] = field(default_factory=dict)


def _true_keyword(call: ast.Call, *names: str) -> bool:
    return any(
        keyword.arg in names
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value is True
        for keyword in call.keywords
    )


def _string_args(call: ast.Call) -> list[str]:
    """Return the string positional arguments of a call, list elements flattened."""
    found = []
    for argument in call.args:
        items = argument.elts if isinstance(argument, ast.List | ast.Tuple) else [argument]
        for item in items:
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                found.append(item.value)
            elif isinstance(item, ast.Attribute):
                found.append(item.attr)  # Index("ix", Model.column)
    return found


def _model_tables(modules: list[tuple[str, ast.Module]]) -> dict[str, _Table]:
    """ORM classes (``__tablename__``) by class name, with their indexed columns."""
    tables: dict[str, _Table] = {}
    for name, tree in modules:
        for node in nodes_of(tree, ast.ClassDef):
            tablename = next(
                (
                    statement.value.value
                    for statement in node.body
                    if isinstance(statement, ast.Assign)
                    and any(
                        isinstance(target, ast.Name) and target.id == "__tablename__"
                        for target in statement.targets
                    )
                    and isinstance(statement.value, ast.Constant)
                ),
                None,
            )
            if not isinstance(tablename, str):
                continue
            table = tables.setdefault(node.name, _Table(tablename))
            for statement in node.body:
                target = None
                value = None
                if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    target, value = statement.target.id, statement.value
                elif (
                    isinstance(statement, ast.Assign)
                    and len(statement.targets) == 1
                    and isinstance(statement.targets[0], ast.Name)
                ):
                    target, value = statement.targets[0].id, statement.value
                if target == "__table_args__" and value is not None:
                    _table_args(table, value, name)
                elif (
                    target
                    and isinstance(value, ast.Call)
                    and last_name(value.func)
                    in {
                        "mapped_column",
                        "Column",
                    }
                ):
                    strings = _string_args(value)
                    table.columns[target] = strings[0] if strings else target
                    if _true_keyword(value, "primary_key", "index", "unique"):
                        table.indexed[target] = Evidence(
                            f"{node.name}.{target} indexed", path=name, line=statement.lineno
                        )
    return tables


def _table_args(table: _Table, value: ast.AST, path: str) -> None:
    for call in calls(value):
        called = last_name(call.func)
        columns = _string_args(call)
        if called == "Index" and len(columns) > 1:
            table.indexed.setdefault(
                columns[1], Evidence(f"index {columns[0]}", path=path, line=call.lineno)
            )
        elif called in {"UniqueConstraint", "PrimaryKeyConstraint"} and columns:
            table.indexed.setdefault(columns[0], Evidence(f"{called}", path=path, line=call.lineno))


def _migration_indexes(repo: Repository, revisions: list[str]) -> dict[str, dict[str, Evidence]]:
    """Map table names to the leading columns migrations index (indexes, unique, keys)."""
    indexed: dict[str, dict[str, Evidence]] = {}
    for name in revisions:
        tree = repo.python(name)
        if tree is None:
            continue
        for call in calls(tree):
            called = last_name(call.func)
            if called == "create_table":
                _created_table(call, name, indexed)
            elif called in {"create_index", "create_unique_constraint", "create_primary_key"}:
                _created_index(call, name, indexed)
    return indexed


def _created_table(call: ast.Call, path: str, indexed: dict[str, dict[str, Evidence]]) -> None:
    """Record the keys of ``op.create_table``: indexed columns and constraints."""
    strings = _string_args(call)
    if not strings:
        return
    table = indexed.setdefault(strings[0], {})
    for part in call.args[1:]:
        if not isinstance(part, ast.Call) or not _string_args(part):
            continue
        inner = last_name(part.func)
        first = _string_args(part)[0]
        if inner == "Column" and _true_keyword(part, "primary_key", "index", "unique"):
            table.setdefault(first, Evidence("indexed column", path=path, line=part.lineno))
        elif inner in {"UniqueConstraint", "PrimaryKeyConstraint"}:
            table.setdefault(first, Evidence(inner, path=path, line=part.lineno))


def _created_index(call: ast.Call, path: str, indexed: dict[str, dict[str, Evidence]]) -> None:
    """Record ``op.create_index(name, table, [columns])`` (the name may be ``op.f(...)``)."""
    for position, argument in enumerate(call.args):
        if not isinstance(argument, ast.List | ast.Tuple):
            continue
        table = call.args[position - 1] if position else None
        first = argument.elts[0] if argument.elts else None
        if isinstance(table, ast.Constant) and isinstance(first, ast.Constant):
            indexed.setdefault(str(table.value), {}).setdefault(
                str(first.value), Evidence(last_name(call.func), path=path, line=call.lineno)
            )
        return


def _equality_columns(node: ast.AST, models: dict[str, _Table]) -> list[tuple[str, str]]:
    """``Model.column == value`` and ``.in_()`` comparisons of a filter, as (model, column)."""
    found = []
    for part in ast.walk(node):
        sides: list[ast.AST] = []
        if isinstance(part, ast.Compare) and all(isinstance(op, ast.Eq) for op in part.ops):
            sides = [part.left, *part.comparators]
        elif isinstance(part, ast.Call) and last_name(part.func) == "in_":
            owner = part.func.value if isinstance(part.func, ast.Attribute) else None
            if isinstance(owner, ast.Call) and last_name(owner.func) == "tuple_":
                sides = list(owner.args)
            elif owner is not None:
                sides = [owner]
        for side in sides:
            if (
                isinstance(side, ast.Attribute)
                and isinstance(side.value, ast.Name)
                and side.value.id in models
                and side.attr in models[side.value.id].columns
            ):
                found.append((side.value.id, side.attr))
    return found


def _query_loops(modules: list[tuple[str, ast.Module]], repositories: set[str]) -> list[Evidence]:
    """Find the queries awaited inside a loop of a repository: one round trip per row (N+1)."""
    found: dict[tuple[str, int], Evidence] = {}
    for name, tree in modules:
        scopes: list[ast.AST] = (
            [tree]
            if name in repositories
            else [
                node
                for node in nodes_of(tree, ast.ClassDef)
                if node.name.endswith(("Repository", "Repo"))
            ]
        )
        for scope in scopes:
            loops: list[ast.AST] = [
                *nodes_of(scope, ast.For),
                *nodes_of(scope, ast.AsyncFor),
                *nodes_of(scope, ast.While),
            ]
            for loop in loops:
                for inner in nodes_of(loop, ast.Await):
                    if (
                        isinstance(inner.value, ast.Call)
                        and last_name(inner.value.func) in _QUERIES
                    ):
                        found[(name, inner.lineno)] = Evidence(
                            "query inside a loop (N+1)", path=name, line=inner.lineno
                        )
    return list(found.values())


_QUERIES = frozenset({"execute", "scalar", "scalars", "get", "refresh", "fetch", "fetchrow"})


@rule("DATA-3")
def lookup_indexes(repo: Repository) -> Verdict:
    """Reads the ORM models (``__tablename__`` classes) and the Alembic revisions for indexed
    columns (primary keys, ``unique``, ``index=True``, ``Index``, ``create_index``), then
    every ``where``/``filter`` of the code: each equality lookup on a model's columns must
    hit an index's leading column; repositories must not query inside a loop (N+1).
    """
    gate = python_gate(repo, "DATA-3")
    if gate is not None:
        return gate
    modules = source_modules(repo)
    models = _model_tables(modules)
    revisions, _ = alembic_versions(repo)
    migrated = _migration_indexes(repo, revisions)
    if not models and not migrated:
        return failed(
            "DATA-3",
            "No table definitions found (no ORM models, no migrations creating tables).",
            [Evidence("no class with __tablename__, no op.create_table", path=".")],
            "Declare the tables as SQLAlchemy models (or Alembic migrations) with an index "
            "for every column the code looks rows up by.",
        )
    unindexed: dict[tuple[str, str], Evidence] = {}
    lookups = 0
    for name, tree in modules:
        for call in calls(tree):
            if last_name(call.func) not in {"where", "filter", "filter_by"}:
                continue
            columns = [found for arg in call.args for found in _equality_columns(arg, models)]
            if not columns:
                continue
            lookups += 1
            by_model: dict[str, set[str]] = {}
            for model, column in columns:
                by_model.setdefault(model, set()).add(column)
            for model, attributes in by_model.items():
                table = models[model]
                names = {table.columns.get(attribute, attribute) for attribute in attributes}
                covered = attributes & set(table.indexed) or names & set(
                    migrated.get(table.name, {})
                )
                if not covered:
                    key = (model, ",".join(sorted(attributes)))
                    unindexed.setdefault(
                        key,
                        Evidence(
                            f"lookup by {model}.{'/'.join(sorted(attributes))} has no index",
                            path=name,
                            line=call.lineno,
                        ),
                    )
    module_names, _ = repository_locations(modules)
    loops = _query_loops(modules, module_names)
    if unindexed or loops:
        return failed(
            "DATA-3",
            f"{len(unindexed)} lookup(s) without an index, {len(loops)} query loop(s).",
            [*unindexed.values(), *loops],
            "Add an index (or unique constraint) on the columns the code filters by, in the "
            "model and a migration, and load related rows in one query instead of per row.",
        )
    evidence = [item for table in models.values() for item in table.indexed.values()][:4]
    return passed(
        "DATA-3",
        f"All {lookups} equality lookup(s) on {len(models)} model(s) hit an index; no query loops.",
        evidence
        or [Evidence("indexes declared in migrations", path=revisions[0] if revisions else ".")],
    )


# -- DATA-4: seeding script -------------------------------------------------------------------


def _seed_commands(repo: Repository) -> Iterator[Evidence]:
    """Make targets and project scripts that seed."""
    for name in ("Makefile", "justfile"):
        line = line_matching(repo, name, r"^seed[\w-]*\s*:")
        if line is not None:
            yield Evidence("seed target", path=name, line=line)
    scripts = ((repo.pyproject or {}).get("project") or {}).get("scripts") or {}
    if isinstance(scripts, dict):
        for script in scripts:
            if "seed" in str(script):
                yield Evidence(
                    "seed script", path="pyproject.toml", key=f"project.scripts.{script}"
                )


@rule("DATA-4")
def seeding_script(repo: Repository) -> Verdict:
    """Looks for a seeding script (a ``seed*.py`` module or ``*seed*.sql`` file outside tests)
    that parses and can be run (a ``__main__`` block, or a ``seed`` make target or project
    script).
    """
    candidates = [
        name
        for name in repo.files
        if "seed" in name.rpartition("/")[2].lower()
        and name.endswith((".py", ".sql"))
        and name in {*repo.python_files(), *repo.glob("*.sql")}
    ]
    commands = list(_seed_commands(repo))
    if not candidates:
        return failed(
            "DATA-4",
            "No seeding script found.",
            commands or [Evidence("no seed*.py or *seed*.sql outside tests", path=".")],
            "Add a seed script (e.g. src/<package>/seed.py with a __main__ block and a `make "
            "seed` target) that fills a development database with example data.",
        )
    broken = []
    for name in candidates:
        if name.endswith(".sql"):
            return passed(
                "DATA-4", "A SQL seed file exists.", [Evidence("seed data", path=name), *commands]
            )
        tree = repo.python(name)
        if tree is None:
            broken.append(problem_evidence(repo, name))
            continue
        main = next(
            (
                node
                for node in tree.body
                if isinstance(node, ast.If) and "__main__" in ast.unparse(node.test)
            ),
            None,
        )
        if main is not None or commands:
            found = Evidence("seeding script", path=name, line=main.lineno if main else None)
            return passed("DATA-4", "A runnable seeding script exists.", [found, *commands])
    if broken:
        return unknown("DATA-4", "The seeding script could not be parsed.", broken)
    return failed(
        "DATA-4",
        "A seed module exists but nothing runs it.",
        [Evidence("seed module without entry point", path=candidates[0])],
        'Give the seed module an `if __name__ == "__main__":` block or a `seed` make target.',
    )


# -- DATA-5: unit of work ------------------------------------------------------------------------

_TRANSACTION_CALLS = frozenset({"commit", "begin"})


def _transaction_calls(tree: ast.AST) -> Iterator[ast.Call]:
    for call in calls(tree):
        if (
            isinstance(call.func, ast.Attribute)
            and call.func.attr in _TRANSACTION_CALLS
            and not call.args
        ):
            yield call


@rule("DATA-5")
def unit_of_work(repo: Repository) -> Verdict:
    """Reads the Python AST: repositories (``...Repository`` classes, ``repository`` modules)
    never ``commit()`` or ``begin()`` a transaction; the use cases outside them do, once per
    unit of work.
    """
    gate = python_gate(repo, "DATA-5")
    if gate is not None:
        return gate
    modules = source_modules(repo)
    module_names, classes = repository_locations(modules)
    if not module_names and not classes:
        return failed(
            "DATA-5",
            "No repositories found, so transactions cannot be told apart from queries.",
            [Evidence("no ...Repository class or repository module", path=".")],
            "Keep queries in repositories that never commit, and commit once per use case "
            "in the service layer (a unit of work).",
        )
    inside: list[Evidence] = []
    class_lines = {(name, call.lineno) for name, cls in classes for call in _transaction_calls(cls)}
    for name, tree in modules:
        for call in _transaction_calls(tree):
            if name in module_names or (name, call.lineno) in class_lines:
                inside.append(
                    Evidence(
                        f"repository calls {dotted_name(call.func)}()", path=name, line=call.lineno
                    )
                )
    if inside:
        return failed(
            "DATA-5",
            f"Repositories end transactions themselves ({len(inside)} place(s)).",
            inside,
            "Let repositories only add and flush; commit once at the end of the use case "
            "(the unit of work), so an error leaves no partial write.",
        )
    boundaries = [
        Evidence(f"unit of work ends: {dotted_name(call.func)}()", path=name, line=call.lineno)
        for name, tree in modules
        if name not in module_names
        for call in _transaction_calls(tree)
    ]
    if not boundaries:
        return failed(
            "DATA-5",
            "Nothing commits a transaction outside the repositories.",
            [Evidence("no commit() or begin() in the service layer", path=".")],
            "Commit once at the end of each use case that writes (or wrap it in "
            "`async with session.begin():`).",
        )
    return passed(
        "DATA-5",
        f"Repositories never commit; {len(boundaries)} use-case boundary(ies) do.",
        boundaries[:4],
    )
