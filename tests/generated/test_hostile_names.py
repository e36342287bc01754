"""Hostile human texts in the answers: every generated file keeps them, and the project works.

One project is rendered with quotes, backslashes (one trailing), Jinja and shell syntax,
Markdown markup, non-ASCII and emoji in its name, description and author; its package
name sorts after `tests` (import order). Every TOML, YAML, JSON and Python file must
parse and give the texts back unchanged, the Markdown must show them verbatim, and the
project's own ruff, mypy, import contracts and test suite must pass.

The reserved package names (includes/python_names.jinja) are checked against the
default project's lock file and virtual environment: a dependency added to the template
without re-running scripts/update_python_names.py fails here.
"""

from __future__ import annotations

import ast
import json
import re
import tomllib
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from markdown_it import MarkdownIt

from tests.generated.conftest import DEFAULT_VERSION
from tests.generated.support import REPO_ROOT, GeneratedProject, find_python, render

HOSTILE = {
    "project_name": 'Zürich "Orders" O\'Neil {{x}} #1 $HOME `ls` \u2013 😀 \\',
    "description": (
        'The "orders" service: {{ 7*7 }} {% if %} # not a comment, $PATH, `code`, *bold*, '
        "<b>html</b>, &amp; [link](x) | ~~gone~~ \u2013 Zürich 😀 C:\\temp\\"
    ),
    "author_name": 'O\'Brien "Ops" & Co. <team> \\',
    "author_email": "o'brien+ops@example.co.uk",
}
PACKAGE = "zurich_orders_oneil_x_1_home_l"

# Runs inside a synced project: every installed distribution's top-level import names.
INSTALLED_NAMES = """
import importlib.metadata, json
names = {}
for dist in importlib.metadata.distributions():
    top = set((dist.read_text("top_level.txt") or "").split())
    for file in dist.files or []:
        # A folder is imported by its whole name: "pyzmq.libs" (shared libraries) is none.
        if len(file.parts) > 1:
            top.add(file.parts[0])
        elif file.suffix in (".py", ".so", ".pyd"):
            top.add(file.parts[0].split(".")[0])
    names[dist.metadata["Name"]] = sorted(top)
print(json.dumps(names))
"""


@pytest.fixture(scope="module")
def hostile_project(tmp_path_factory: pytest.TempPathFactory) -> GeneratedProject:
    dest = tmp_path_factory.mktemp("hostile") / "orders"
    render(dest, HOSTILE)
    return GeneratedProject(dest, python=find_python(DEFAULT_VERSION), package=PACKAGE)


def _strings(node: Any) -> list[str]:
    """Every string inside a parsed document."""
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for key, value in node.items() for s in _strings(key) + _strings(value)]
    if isinstance(node, list):
        return [s for item in node for s in _strings(item)]
    return []


def _parsed_strings(path: Path) -> list[str]:
    """Parse a TOML, YAML, JSON or Python file; return the strings it holds."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".toml":
        return _strings(tomllib.loads(text))
    if path.suffix in {".yml", ".yaml"}:
        return [s for document in yaml.safe_load_all(text) for s in _strings(document)]
    if path.suffix == ".json":
        return _strings(json.loads(text))
    tree = ast.parse(text, filename=str(path))
    return [
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


@pytest.mark.slow
@pytest.mark.xdist_group("hostile_project")
def test_every_structured_file_parses_and_keeps_the_texts(
    hostile_project: GeneratedProject,
) -> None:
    root = hostile_project.root
    found: dict[str, set[str]] = {}
    for path in hostile_project.files():
        if path.suffix in {".toml", ".yml", ".yaml", ".json", ".py"}:
            for value in _parsed_strings(path):
                found.setdefault(value, set()).add(path.relative_to(root).as_posix())
    main = f"src/{PACKAGE}/main.py"
    assert {"pyproject.toml", "docs/openapi.json", ".copier-answers.yml"} <= found[
        HOSTILE["description"]
    ]
    assert {main, "docs/openapi.json", ".copier-answers.yml"} <= found[HOSTILE["project_name"]]
    assert {"pyproject.toml", ".copier-answers.yml"} <= found[HOSTILE["author_name"]]
    assert {"pyproject.toml", ".copier-answers.yml"} <= found[HOSTILE["author_email"]]
    answers = yaml.safe_load((root / ".copier-answers.yml").read_text(encoding="utf-8"))
    assert {key: answers[key] for key in HOSTILE} == HOSTILE
    assert answers["package_name"] == PACKAGE


@pytest.mark.slow
@pytest.mark.xdist_group("hostile_project")
def test_markdown_shows_the_texts_verbatim(hostile_project: GeneratedProject) -> None:
    def text_of(markdown: str) -> list[str]:
        """The plain text of each heading and paragraph as CommonMark renders it."""
        tokens = MarkdownIt("commonmark").parse(markdown)
        return [
            "".join(child.content for child in token.children or [] if child.type == "text")
            for token in tokens
            if token.type == "inline"
        ]

    readme = text_of((hostile_project.root / "README.md").read_text(encoding="utf-8"))
    assert readme[:2] == [HOSTILE["project_name"], HOSTILE["description"]]
    assert readme[2].startswith(f"Owned by {HOSTILE['author_name']} ")
    changelog = text_of((hostile_project.root / "CHANGELOG.md").read_text(encoding="utf-8"))
    assert f"All notable changes to {HOSTILE['project_name']} are" in changelog[1]
    adr = (hostile_project.root / "docs/adr/0001-record-architecture-decisions.md").read_text()
    assert any(t.startswith(f"{HOSTILE['project_name']} will be changed") for t in text_of(adr))


@pytest.mark.slow
@pytest.mark.xdist_group("hostile_project")
def test_the_project_passes_its_own_checks(hostile_project: GeneratedProject) -> None:
    hostile_project.sync()
    hostile_project.uv_run("ruff", "check", ".")
    hostile_project.uv_run("ruff", "format", "--check", ".")
    assert "Success" in hostile_project.uv_run("mypy").stdout
    assert "0 broken" in hostile_project.uv_run("lint-imports").stdout
    result = hostile_project.uv_run("pytest", "-q", "-p", "no:cacheprovider")
    assert re.search(r"\b\d+ passed\b", result.stdout)
    assert " failed" not in result.stdout


def _reserved() -> Any:
    # Copier renders without autoescape; the test must render the macros exactly as it does.
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(REPO_ROOT), autoescape=False)  # noqa: S701 - renders Markdown, not HTML
    return env.get_template("includes/python_names.jinja").module


@pytest.mark.slow
def test_reserved_names_cover_the_default_projects_lock(default_project: GeneratedProject) -> None:
    reserved = _reserved()
    root = default_project.root
    own = yaml.safe_load((root / ".copier-answers.yml").read_text(encoding="utf-8"))["project_slug"]
    lock = tomllib.loads((root / "uv.lock").read_text(encoding="utf-8"))
    locked = {package["name"] for package in lock["package"]} - {own}
    stale = "includes/python_names.jinja is stale: run scripts/update_python_names.py"
    assert locked - set(reserved.locked_distributions) == set(), stale
    installed = json.loads(default_project.uv_run("python", "-c", INSTALLED_NAMES).stdout)
    modules = {
        name
        for distribution, names in installed.items()
        if re.sub(r"[-_.]+", "-", distribution).lower() != own
        for name in names
        if name.isidentifier() and name[0].isalpha()
    }
    assert "yaml" in modules  # the check sees import names, not distribution names
    assert modules - set(reserved.installed_modules) - set(reserved.stdlib_modules) == set(), stale
