"""Parse answers given on the command line and read them back from a project."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from svcforge.errors import BadDataError

ANSWERS_FILE = ".copier-answers.yml"


def parse_data_options(items: Iterable[str], *, option: str = "--data") -> dict[str, str]:
    """Turn repeated ``--data key=value`` (or ``--set``) options into a mapping (last wins)."""
    data: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise BadDataError(
                f"{option} expects key=value, got {item!r}.",
                hint=f"Example: {option} project_name='Billing API'",
            )
        if not key.isidentifier():
            raise BadDataError(f"{option} key {key!r} is not a valid question name.")
        data[key] = value
    return data


def load_data_file(path: Path) -> dict[str, Any]:
    """Read a YAML mapping of answers from ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BadDataError(f"Data file {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as err:
        raise BadDataError(f"Cannot read data file {path}: {err}") from None
    try:
        loaded = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise BadDataError(f"Data file {path} is not valid YAML: {err}") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise BadDataError(
            f"Data file {path} must contain a YAML mapping of question: answer, "
            f"not a {type(loaded).__name__}."
        )
    bad = [key for key in loaded if not isinstance(key, str) or not key.isidentifier()]
    if bad:
        raise BadDataError(f"Data file {path} has invalid question names: {bad!r}.")
    return {str(key): value for key, value in loaded.items()}


def read_answers(project: Path, answers_file: str = ANSWERS_FILE) -> dict[str, Any]:
    """Return the answers Copier recorded in a generated project."""
    loaded = yaml.safe_load((project / answers_file).read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        return {}
    return {str(key): value for key, value in loaded.items()}


def public_answers(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Drop Copier's bookkeeping keys (``_commit``, ``_src_path``...)."""
    return {key: value for key, value in answers.items() if not key.startswith("_")}


def _answer_text(value: object) -> str:
    if isinstance(value, str):
        return value
    # Non-strings (bools, numbers, lists) as YAML: that is how Copier parses --data.
    dumped: str = yaml.safe_dump(value, default_flow_style=True)
    return dumped.removesuffix("\n...\n").strip()


def replay_command(
    dest: str, answers: Mapping[str, Any], *, git: bool = True, lock: bool = True
) -> str:
    """Build the non-interactive ``svcforge new`` command that repeats a generation."""
    parts = ["svcforge", "new", shlex.quote(dest), "--defaults"]
    for key, value in public_answers(answers).items():
        parts += ["--data", f"{key}={shlex.quote(_answer_text(value))}"]
    if not git:
        parts.append("--no-git")
    if not lock:
        parts.append("--no-lock")
    return " ".join(parts)
