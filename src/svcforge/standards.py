"""The standards catalogue (``standards.yaml``): ids the template, ADRs and ``check`` cite."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

#: How a standard id looks wherever it is cited (``ARCH-1``, ``DATA-5``...).
STANDARD_ID = re.compile(r"\b(ARCH|API|SEC|DATA|OPS|DEL|QA|DOC)-\d+\b")

#: The levels, lowest first; each includes the ones before it.
LEVELS: tuple[str, ...] = ("bronze", "silver", "gold")


@dataclass(frozen=True)
class Standard:
    """One entry of the catalogue."""

    id: str
    area: str
    level: str
    title: str
    text: str
    #: Why a service should meet it (empty until written).
    rationale: str = ""

    def within(self, level: str) -> bool:
        """Whether checking up to ``level`` includes this standard."""
        return LEVELS.index(self.level) <= LEVELS.index(level)


@cache
def load_standards() -> dict[str, Standard]:
    """Return every standard of the catalogue shipped with svcforge, keyed by id."""
    return {entry["id"]: Standard(**entry) for entry in _catalogue()["standards"]}


@cache
def area_titles() -> dict[str, str]:
    """Each area id (``ARCH``...) with its title, in catalogue order."""
    return {area["id"]: area["title"] for area in _catalogue()["areas"]}


def catalogue_version() -> int:
    """Return the catalogue's version (raised when fields are added)."""
    return int(_catalogue()["version"])


@cache
def _catalogue() -> dict[str, Any]:
    raw = resources.files("svcforge").joinpath("standards.yaml").read_text(encoding="utf-8")
    loaded: dict[str, Any] = yaml.safe_load(raw)
    return loaded


def cited_ids(text: str) -> set[str]:
    """Return the standard ids mentioned in ``text``."""
    return {match.group(0) for match in STANDARD_ID.finditer(text)}
