"""Check a rendered project before it is kept: every file svcforge can parse must parse.

The template's validators decide which answers are accepted; this is the safety net
behind them. An answer they let through that still breaks the output (a control
character, a quote in the wrong place) must stop the run before anything is written,
locked or committed, with the file and the error named.
"""

from __future__ import annotations

import configparser
import functools
import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from svcforge.destination import display_path


def _python(data: bytes, name: str) -> None:
    # compile() does not run anything: it only parses and builds the code object.
    compile(data, name, "exec", dont_inherit=True)


def _toml(data: bytes, _name: str) -> None:
    tomllib.loads(data.decode("utf-8"))


def _json(data: bytes, _name: str) -> None:
    json.loads(data.decode("utf-8"))


def _yaml(data: bytes, _name: str) -> None:
    for _document in yaml.safe_load_all(data.decode("utf-8")):
        pass


def _ini(data: bytes, _name: str) -> None:
    configparser.ConfigParser(interpolation=None).read_string(data.decode("utf-8"))


_CHECKERS: dict[str, Callable[[bytes, str], None]] = {
    ".py": _python,
    ".pyi": _python,
    ".toml": _toml,
    ".json": _json,
    ".yml": _yaml,
    ".yaml": _yaml,
    ".ini": _ini,
    ".cfg": _ini,
}


# PEP 508 names (what pip, uv and every build backend accept).
_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)


class _InvalidNameError(ValueError):
    pass


def _name(value: object) -> None:
    if not isinstance(value, str) or not _NAME.match(value):
        raise _InvalidNameError("not a valid distribution name")


def _describe(error: Exception) -> str:
    if isinstance(error, SyntaxError):
        where = f"line {error.lineno}: " if error.lineno else ""
        return f"{where}{error.msg}"
    return " ".join(str(error).split()) or type(error).__name__


def _requirements(values: object) -> list[str]:
    return [value for value in values if isinstance(value, str)] if isinstance(values, list) else []


def _check_pyproject(data: dict[str, object]) -> list[str]:
    """Check the ``[project]`` fields that build backends and ``uv`` refuse when malformed."""
    project = data.get("project")
    if not isinstance(project, dict):
        return ["has no [project] table"]
    problems: list[str] = []
    checks: list[tuple[str, Callable[[], object]]] = []
    name = project.get("name")
    checks.append((f"project.name {name!r}", lambda: _name(name)))
    if "version" in project:
        version = str(project["version"])
        checks.append((f"project.version {version!r}", lambda: Version(version)))
    if "requires-python" in project:
        spec = str(project["requires-python"])
        checks.append((f"project.requires-python {spec!r}", lambda: SpecifierSet(spec)))
    requirements = _requirements(project.get("dependencies"))
    optional = project.get("optional-dependencies")
    if isinstance(optional, dict):
        for values in optional.values():
            requirements += _requirements(values)
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        for values in groups.values():
            requirements += _requirements(values)
    checks += [
        (f"requirement {requirement!r}", functools.partial(Requirement, requirement))
        for requirement in requirements
    ]
    for label, check in checks:
        try:
            check()
        except (_InvalidNameError, InvalidVersion, InvalidSpecifier, InvalidRequirement) as error:
            problems.append(f"invalid {label}: {_describe(error)}")
    return problems


def check_rendered(root: Path) -> list[str]:
    """Parse every Python, TOML, JSON, YAML and INI file below ``root``.

    Returns one ``path: problem`` line per broken file (empty when all parse),
    plus the ``pyproject.toml`` metadata that installers would refuse.
    """
    problems: list[str] = []
    for path in sorted(root.rglob("*")):
        checker = _CHECKERS.get(path.suffix)
        if checker is None or path.is_symlink() or not path.is_file():
            continue
        name = path.relative_to(root).as_posix()
        try:
            checker(path.read_bytes(), name)
        except (SyntaxError, ValueError, yaml.YAMLError, configparser.Error) as error:
            # ValueError covers JSON, TOML and UTF-8 decoding errors and NUL bytes in Python.
            problems.append(f"{display_path(name)}: {_describe(error)}")
    pyproject = root / "pyproject.toml"
    if pyproject.is_file() and not any(p.startswith("pyproject.toml:") for p in problems):
        loaded = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        problems += [f"pyproject.toml: {problem}" for problem in _check_pyproject(loaded)]
    return problems
