"""The standards catalogue (``standards.yaml``): ids the template, ADRs and ``check`` cite."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

#: How a standard id looks wherever it is cited (``ARCH-1``, ``DATA-5``...).
STANDARD_ID = re.compile(r"\b(ARCH|API|SEC|DATA|OPS|DEL|QA|DOC)-\d+\b")


@dataclass(frozen=True)
class Standard:
    """One entry of the catalogue."""

    id: str
    area: str
    title: str
    text: str


@cache
def load_standards() -> dict[str, Standard]:
    """Return every standard of the catalogue shipped with svcforge, keyed by id."""
    raw = resources.files("svcforge").joinpath("standards.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(raw)
    return {entry["id"]: Standard(**entry) for entry in data["standards"]}


def cited_ids(text: str) -> set[str]:
    """Return the standard ids mentioned in ``text``."""
    return {match.group(0) for match in STANDARD_ID.finditer(text)}
