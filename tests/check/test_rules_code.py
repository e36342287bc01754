"""The code-level rules (ARCH, API, SEC): generated projects pass, each realistic breach is caught.

Each hostile case edits a private copy of the default project in one place, the way a
team might, and asserts that exactly that standard fails, with evidence at the edit.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from svcforge.check.engine import applicability, static_rules
from svcforge.check.model import Status, Verdict
from svcforge.check.repository import Repository
from svcforge.check.rules import api, arch, sec
from svcforge.check.rules.python_code import code_index

RULES: dict[str, Callable[[Repository], Verdict]] = {
    "ARCH-1": arch.layered_flow,
    "ARCH-2": arch.one_way_dependencies,
    "ARCH-3": arch.thin_handlers,
    "ARCH-4": arch.typed_settings,
    "API-1": api.versioned_api,
    "API-2": api.validated_boundary,
    "API-3": api.status_codes,
    "API-4": api.problem_details,
    "API-5": api.paginated_collections,
    "API-6": api.idempotent_retries,
    "SEC-1": sec.authentication,
    "SEC-2": sec.authorization,
    "SEC-3": sec.shared_rate_limits,
    "SEC-4": sec.http_edge,
    "SEC-5": sec.environment_secrets,
    "SEC-6": sec.parameterised_queries,
}

PACKAGE = "src/example_service"
#: How the generated items router deletes: through the use case.
DELETE_CALL = (
    "        await service.delete_item(item_id, actor=actor, items=items, reads=reads, uow=session)"
)


def judge_all(root: Path) -> dict[str, Verdict]:
    """Every static rule of every area on one fresh repository view (waivers applied).

    All areas, not only this module's: a realistic breach must be flagged once, under its
    own standard, and nowhere else.
    """
    repo = Repository(root)
    waived = applicability(repo)
    return {sid: function(repo) for sid, function in static_rules().items() if sid not in waived}


def failing(verdicts: dict[str, Verdict]) -> set[str]:
    return {sid for sid, verdict in verdicts.items() if verdict.status is not Status.PASS}


def edit(root: Path, relative: str, old: str, new: str, *, count: int = 1) -> int:
    """Replace ``old`` (must be there) in a file of the copy; return the line it starts on."""
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {relative}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, count), encoding="utf-8")
    return line


def line_of(root: Path, relative: str, needle: str) -> int:
    lines = (root / relative).read_text(encoding="utf-8").splitlines()
    return next(number for number, line in enumerate(lines, start=1) if needle in line)


def assert_only(root: Path, standard_id: str, path: str, line: int | None = None) -> Verdict:
    """Exactly ``standard_id`` fails, with evidence at ``path`` (and ``line``)."""
    verdicts = judge_all(root)
    assert failing(verdicts) == {standard_id}, {
        sid: v.summary for sid, v in verdicts.items() if v.status is not Status.PASS
    }
    verdict = verdicts[standard_id]
    assert verdict.status is Status.FAIL
    assert verdict.remediation
    places = {(item.path, item.line) for item in verdict.evidence}
    if line is None:
        assert path in {place for place, _ in places}, places
    else:
        assert (path, line) in places, places
    return verdict


# -- generated projects -----------------------------------------------------------------


@pytest.mark.parametrize("which", ["defaults", "everything on", "everything off"])
def test_generated_projects_pass_every_code_standard(
    rendered_projects: dict[str, Path], which: str
) -> None:
    verdicts = judge_all(rendered_projects[which])
    assert failing(verdicts) == set(), {
        sid: (v.summary, v.evidence[:3])
        for sid, v in verdicts.items()
        if v.status is not Status.PASS
    }
    for verdict in verdicts.values():
        assert verdict.summary.endswith(".")


def test_everything_off_waives_auth_and_rate_limits(rendered_projects: dict[str, Path]) -> None:
    waived = applicability(Repository(rendered_projects["everything off"]))
    assert {"SEC-1", "SEC-2", "SEC-3"} <= set(waived)


def test_every_rule_says_how_it_checks() -> None:
    for function in RULES.values():
        first = (function.__doc__ or "").strip().split("\n\n")[0]
        assert len(first) > 40
        assert first.endswith(".")


# -- one breach at a time ---------------------------------------------------------------


def test_route_running_sql_through_its_session(service_copy: Path) -> None:
    router = f"{PACKAGE}/items/router.py"
    edit(
        service_copy,
        router,
        "from fastapi import",
        "from sqlalchemy import delete\nfrom fastapi import",
    )
    line = edit(
        service_copy,
        router,
        DELETE_CALL,
        "        await session.execute(delete(Item).where(Item.id == item_id))",
    )
    verdict = assert_only(service_copy, "ARCH-3", router, line)
    assert "route module" in verdict.evidence[0].note


def test_service_importing_fastapi(service_copy: Path) -> None:
    module = f"{PACKAGE}/items/service.py"
    edit(
        service_copy,
        module,
        "from uuid import UUID\n",
        "from uuid import UUID\n\nfrom fastapi import HTTPException\n",
    )
    edit(
        service_copy,
        module,
        "        raise ItemNotFoundError(item_id)\n    return item\n\n\nasync def list_items",
        "        raise HTTPException(status_code=404)\n    return item\n\n\nasync def list_items",
    )
    assert_only(
        service_copy, "ARCH-3", module, line_of(service_copy, module, "from fastapi import")
    )


def test_handler_calling_the_repository_directly(service_copy: Path) -> None:
    router = f"{PACKAGE}/items/router.py"
    line = edit(
        service_copy,
        router,
        DELETE_CALL,
        "        await items.delete(await items.get(item_id))",
    )
    verdict = assert_only(service_copy, "ARCH-1", router, line)
    assert "repository" in verdict.evidence[0].note


def test_import_contract_removed(service_copy: Path) -> None:
    pyproject = service_copy / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    kept = re.sub(
        r"\[tool\.importlinter\].*?(?=\n\[(?!\[?tool\.importlinter)|\Z)", "", text, flags=re.S
    )
    kept = re.sub(
        r"\[\[tool\.importlinter\.contracts\]\].*?(?=\n\[(?!\[tool\.importlinter)|\Z)",
        "",
        kept,
        flags=re.S,
    )
    assert "importlinter" not in kept
    pyproject.write_text(kept, encoding="utf-8")
    verdict = assert_only(service_copy, "ARCH-2", "pyproject.toml")
    assert "import-linter" in verdict.summary


def test_environment_read_outside_the_settings(service_copy: Path) -> None:
    module = f"{PACKAGE}/core/database.py"
    text = (service_copy / module).read_text(encoding="utf-8")
    anchor = next(line for line in text.splitlines() if line.startswith(("import ", "from ")))
    line = edit(service_copy, module, anchor, f"import os\n{anchor}")
    edit(
        service_copy,
        module,
        "\n\n\n",
        "\n\n# Echo every statement while debugging.\n"
        'SQL_ECHO = os.getenv("SQL_ECHO") == "1"\n\n\n',
    )
    verdict = assert_only(
        service_copy, "ARCH-4", module, line_of(service_copy, module, "os.getenv")
    )
    assert line > 0
    assert "environment" in verdict.evidence[0].note


def test_unversioned_router_prefix(service_copy: Path) -> None:
    main = f"{PACKAGE}/main.py"
    edit(
        service_copy,
        main,
        "app.include_router(items_router, prefix=API_PREFIX, ",
        "app.include_router(items_router, ",
    )
    verdict = assert_only(service_copy, "API-1", f"{PACKAGE}/items/router.py")
    assert "/items" in verdict.evidence[0].note


def test_request_model_accepting_unknown_fields(service_copy: Path) -> None:
    fields = f"{PACKAGE}/core/fields.py"
    edit(
        service_copy,
        fields,
        'model_config = ConfigDict(extra="forbid")',
        "model_config = ConfigDict()",
    )
    verdict = assert_only(service_copy, "API-2", f"{PACKAGE}/items/schemas.py")
    assert "unknown fields" in verdict.evidence[0].note


def test_create_route_without_201(service_copy: Path) -> None:
    router = f"{PACKAGE}/items/router.py"
    edit(
        service_copy,
        router,
        "    status_code=HTTPStatus.CREATED,\n    response_model=ItemRead,",
        "    response_model=ItemRead,",
    )
    line = line_of(service_copy, router, "@router.post(")
    verdict = assert_only(service_copy, "API-3", router, line)
    assert "201" in verdict.evidence[0].note


def test_problem_handlers_never_installed(service_copy: Path) -> None:
    edit(service_copy, f"{PACKAGE}/main.py", "    install_problem_handlers(app)\n", "")
    verdict = assert_only(service_copy, "API-4", f"{PACKAGE}/core/problems.py")
    assert "nothing calls" in verdict.evidence[0].note


def test_unbounded_page_size(service_copy: Path) -> None:
    schemas = f"{PACKAGE}/items/schemas.py"
    line = edit(
        service_copy,
        schemas,
        "Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)",
        "Field(default=DEFAULT_PAGE_SIZE, ge=1)",
    )
    verdict = assert_only(service_copy, "API-5", schemas, line)
    assert "limit" in verdict.evidence[0].note


def test_create_without_idempotency_key(service_copy: Path) -> None:
    router = f"{PACKAGE}/items/router.py"
    edit(service_copy, router, "    idempotency_key: IdempotencyKeyDep,\n", "")
    edit(service_copy, router, "            idempotency_key,\n", "            None,\n")
    assert_only(service_copy, "API-6", router, line_of(service_copy, router, "@router.post("))


def test_jwt_decoded_without_pinned_algorithms(service_copy: Path) -> None:
    tokens = f"{PACKAGE}/core/auth/tokens.py"
    edit(service_copy, tokens, "                algorithms=[ALGORITHM],\n", "")
    verdict = assert_only(
        service_copy, "SEC-1", tokens, line_of(service_copy, tokens, "jwt.decode(")
    )
    assert "algorithms" in verdict.evidence[0].note


def test_use_case_without_role_check(service_copy: Path) -> None:
    module = f"{PACKAGE}/items/service.py"
    edit(
        service_copy,
        module,
        '    """Create an item; its name must be unique."""\n'
        "    authorize(actor, Permission.WRITE_ITEMS)\n",
        '    """Create an item; its name must be unique."""\n',
    )
    verdict = assert_only(
        service_copy, "SEC-2", module, line_of(service_copy, module, "async def create_item")
    )
    assert "create_item" in verdict.evidence[0].note


def test_rate_limits_in_process_memory(service_copy: Path) -> None:
    module = f"{PACKAGE}/core/rate_limit.py"
    edit(
        service_copy,
        module,
        "from limits.aio.storage import RedisStorage",
        "from limits.aio.storage import MemoryStorage",
    )
    line = edit(
        service_copy,
        module,
        'storage = RedisStorage(\n            "async+redis://",\n'
        '            implementation="redispy",\n'
        "            key_prefix=settings.rate_limit_key_prefix,\n            **options,\n        )",
        "storage = MemoryStorage()",
    )
    verdict = assert_only(service_copy, "SEC-3", module, line)
    assert "memory" in verdict.evidence[0].note.lower()


def test_cors_open_to_every_origin(service_copy: Path) -> None:
    main = f"{PACKAGE}/main.py"
    edit(service_copy, main, "allow_origins=settings.cors_allowed_origins", 'allow_origins=["*"]')
    verdict = assert_only(
        service_copy, "SEC-4", main, line_of(service_copy, main, "allow_origins=")
    )
    assert "*" in verdict.evidence[0].note


def test_hard_coded_secret_in_code(service_copy: Path) -> None:
    module = f"{PACKAGE}/core/http_client.py"
    text = (service_copy / module).read_text(encoding="utf-8")
    (service_copy / module).write_text(
        text
        + '\n\n# The payment provider\'s key.\nPAYMENTS_API_KEY = "pk_live_9fQ27xLm4RtB8vWc1ZkD"\n',
        encoding="utf-8",
    )
    verdict = assert_only(
        service_copy, "SEC-5", module, line_of(service_copy, module, "PAYMENTS_API_KEY")
    )
    assert "PAYMENTS_API_KEY" in verdict.evidence[0].note


def test_aws_key_in_a_config_file(service_copy: Path) -> None:
    (service_copy / "deploy").mkdir(exist_ok=True)
    (service_copy / "deploy" / "backup.yaml").write_text(
        "bucket: backups\naws_access_key_id: AKIAQ3EGRT5LW7XB2MZP\n", encoding="utf-8"
    )
    assert_only(service_copy, "SEC-5", "deploy/backup.yaml", 2)


def test_placeholders_and_tests_are_not_secrets(service_copy: Path) -> None:
    tests = service_copy / "tests" / "unit" / "test_fixture_secrets.py"
    tests.write_text('API_KEY = "sk_9f8e7d6c5b4a3f2e1d0c"\n', encoding="utf-8")
    module = service_copy / PACKAGE / "core" / "defaults.py"
    module.write_text(
        '"""Defaults."""\n\nAPI_TOKEN = "changeme-in-production"\n'
        'TOKEN_URL = "/api/v1/auth/token"\n'
        'API_KEY_HEADER = "X-API-Key"\nSECRET_LENGTH = "32"\n',
        encoding="utf-8",
    )
    assert failing(judge_all(service_copy)) == set()


#: Repository functions a careless change adds: SQL built from the caller's values.
COUNT_NAMED = (
    "\n\nasync def count_named(session: AsyncSession, name: str) -> int:\n"
    '    """How many items carry this name."""\n'
    "    result = await session.execute(\n"
    "        text(f\"SELECT count(*) FROM items WHERE name = '{name}'\")\n"
    "    )\n"
    "    return int(result.scalar_one())\n"
)
RENAME_ALL = (
    "\n\nasync def rename_all(session: AsyncSession, old: str, new: str) -> None:\n"
    '    """Rename every item called `old`."""\n'
    '    statement = "UPDATE items SET name = \'" + new + "\' WHERE name = \'" + old + "\'"\n'
    "    await session.execute(text(statement))\n"
)


def test_f_string_sql(service_copy: Path) -> None:
    module = service_copy / PACKAGE / "items" / "repository.py"
    module.write_text(module.read_text(encoding="utf-8") + COUNT_NAMED, encoding="utf-8")
    relative = f"{PACKAGE}/items/repository.py"
    verdict = assert_only(
        service_copy, "SEC-6", relative, line_of(service_copy, relative, "SELECT count(*)")
    )
    assert "f-string" in verdict.evidence[0].note


def test_concatenated_sql_through_a_variable(service_copy: Path) -> None:
    module = service_copy / PACKAGE / "items" / "repository.py"
    module.write_text(module.read_text(encoding="utf-8") + RENAME_ALL, encoding="utf-8")
    relative = f"{PACKAGE}/items/repository.py"
    verdict = assert_only(
        service_copy, "SEC-6", relative, line_of(service_copy, relative, "text(statement)")
    )
    assert "concatenation" in verdict.evidence[0].note


def test_dependency_audit_dropped_from_ci(service_copy: Path) -> None:
    ci = ".github/workflows/ci.yml"
    text = (service_copy / ci).read_text(encoding="utf-8")
    (service_copy / ci).write_text(text.replace("pip-audit", "pip-licenses"), encoding="utf-8")
    verdict = assert_only(service_copy, "SEC-6", ci)
    assert "dependency audit" in verdict.evidence[0].note


# -- robustness ---------------------------------------------------------------------------


def test_syntax_error_gives_unknown_not_a_crash(service_copy: Path) -> None:
    router = f"{PACKAGE}/items/router.py"
    (service_copy / router).write_text("def broken(:\n    pass\n", encoding="utf-8")
    verdicts = judge_all(service_copy)
    statuses = {sid: v.status for sid, v in verdicts.items()}
    assert set(statuses.values()) <= {Status.PASS, Status.UNKNOWN}, statuses
    for needed in ("ARCH-1", "ARCH-3", "API-1", "API-3", "SEC-6"):
        assert statuses[needed] is Status.UNKNOWN, needed
        assert router in {item.path for item in verdicts[needed].evidence}
    assert statuses["ARCH-2"] is Status.PASS  # judged from pyproject.toml alone


def test_empty_directory_fails_clearly(tmp_path: Path) -> None:
    repo = Repository(tmp_path)
    for sid, function in RULES.items():
        verdict = function(repo)
        assert verdict.status is Status.FAIL, sid
        assert verdict.summary
        assert verdict.remediation


def test_go_service_fails_with_a_clear_message(tmp_path: Path) -> None:
    (tmp_path / "go.mod").write_text("module example.com/svc\n\ngo 1.22\n", encoding="utf-8")
    (tmp_path / "main.go").write_text(
        'package main\n\nimport "net/http"\n\nfunc main() { http.ListenAndServe(":8080", nil) }\n',
        encoding="utf-8",
    )
    repo = Repository(tmp_path)
    for sid, function in RULES.items():
        verdict = function(repo)
        assert verdict.status is Status.FAIL, sid
        assert verdict.remediation
    assert "No Python source found" in arch.thin_handlers(repo).summary
    assert "import-linter" in arch.one_way_dependencies(repo).summary


def test_flat_main_module_is_judged(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(
        "from fastapi import FastAPI\n"
        "from sqlalchemy import text\n\n"
        "app = FastAPI()\n\n\n"
        '@app.get("/items")\n'
        "async def list_items(db) -> list[dict[str, str]]:\n"
        '    rows = await db.execute(text("SELECT id, name FROM items"))\n'
        "    return [dict(row) for row in rows]\n",
        encoding="utf-8",
    )
    repo = Repository(tmp_path)
    versioned = api.versioned_api(repo)
    assert versioned.status is Status.FAIL
    assert ("main.py", 7) in {(e.path, e.line) for e in versioned.evidence}
    thin = arch.thin_handlers(repo)
    assert thin.status is Status.FAIL
    assert ("main.py", 9) in {(e.path, e.line) for e in thin.evidence}
    assert arch.layered_flow(repo).status is Status.FAIL
    assert api.paginated_collections(repo).status is Status.FAIL


def test_app_package_layout_with_relative_imports(tmp_path: Path) -> None:
    app = tmp_path / "app"
    (app / "api").mkdir(parents=True)
    (app / "__init__.py").write_text("", encoding="utf-8")
    (app / "api" / "__init__.py").write_text("", encoding="utf-8")
    (app / "api" / "routes.py").write_text(
        "from fastapi import APIRouter\n\nrouter = APIRouter(prefix='/orders')\n\n\n"
        "@router.delete('/{order_id}')\n"
        "async def delete_order(order_id: int) -> None:\n    return None\n",
        encoding="utf-8",
    )
    (app / "main.py").write_text(
        "from fastapi import FastAPI\n\nfrom .api.routes import router\n\nPREFIX = '/api/v2'\n"
        "app = FastAPI()\napp.include_router(router, prefix=PREFIX)\n",
        encoding="utf-8",
    )
    repo = Repository(tmp_path)
    routes = code_index(repo).routes
    assert [path for route in routes for path in route.full_paths] == ["/api/v2/orders/{order_id}"]
    codes = api.status_codes(repo)
    assert codes.status is Status.FAIL
    assert ("app/api/routes.py", 6) in {(e.path, e.line) for e in codes.evidence}


def test_non_ascii_file_and_identifier_names(service_copy: Path) -> None:
    module = service_copy / PACKAGE / "items" / "übersicht.py"
    module.write_text(
        '"""Zusammenfassungen der Artikel: Größen und Grüße."""\n\n'
        "GRÖSSE_MAX = 10\n\n\ndef größe(anzahl: int) -> int:\n"
        '    """Die Größe, höchstens GRÖSSE_MAX."""\n    return min(anzahl, GRÖSSE_MAX)\n',
        encoding="utf-8",
    )
    assert failing(judge_all(service_copy)) == set()
    secret = service_copy / PACKAGE / "clé_privée.py"
    secret.write_text('"""Clés."""\n\nmot_de_passe_secret = "Zk9#mQ2$vL7!pR4x"\n', encoding="utf-8")
    assert_only(service_copy, "SEC-5", f"{PACKAGE}/clé_privée.py", 3)


@pytest.mark.parametrize(
    ("name", "returns"),
    [
        ("orders", "[dict(row._mapping) for row in rows]"),
        ("orders", "rows.all()"),
        ("orders", "list(rows)"),
        ("list_orders", "rows"),
    ],
)
def test_an_undeclared_list_endpoint_is_still_a_collection(
    tmp_path: Path, name: str, returns: str
) -> None:
    """No annotation, no response model: what the handler returns or is called says it."""
    (tmp_path / "main.py").write_text(
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        '@app.get("/api/v1/orders")\n'
        f"async def {name}(customer: str, db):\n"
        "    rows = await db.execute(customer)\n"
        f"    return {returns}\n",
        encoding="utf-8",
    )
    verdict = api.paginated_collections(Repository(tmp_path))

    assert verdict.status is Status.FAIL
    assert any("has no page-size parameter" in e.note for e in verdict.evidence)
