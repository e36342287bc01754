"""The catalogue is well-formed and everything the template cites exists in it."""

from __future__ import annotations

from pathlib import Path

from svcforge.standards import cited_ids, load_standards

REPO_ROOT = Path(__file__).resolve().parents[1]


def test_catalogue_has_unique_ids_in_known_areas():
    standards = load_standards()
    assert len(standards) >= 40
    for standard_id, standard in standards.items():
        assert standard.id == standard_id
        assert standard_id.startswith(f"{standard.area}-")
        assert standard.title
        assert standard.text


def test_every_id_the_template_cites_is_in_the_catalogue():
    known = set(load_standards())
    cited: dict[str, set[str]] = {}
    for path in (REPO_ROOT / "template").rglob("*"):
        if path.is_file():
            ids = cited_ids(path.read_text(encoding="utf-8"))
            if ids:
                cited[str(path.relative_to(REPO_ROOT))] = ids
    unknown = {path: ids - known for path, ids in cited.items() if ids - known}
    assert unknown == {}
    # The generated ADRs must cite the standards they implement (DOC-1).
    adrs = [path for path in cited if "/docs/adr/" in path]
    assert len(adrs) >= 7


def test_unknown_ids_are_detected():
    assert cited_ids("meets ARCH-2 and DATA-1, not ARCH-99x") == {"ARCH-2", "DATA-1"}
