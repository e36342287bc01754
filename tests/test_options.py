"""The option catalogue (`svcforge options`), answer checks, and the derived matrix."""

from __future__ import annotations

import importlib.util
import json
import shutil
import textwrap
from pathlib import Path

import copier
import pytest

from svcforge.options import check_answers, load_catalogue
from tests.matrix import OptionMatrix, template_matrix, uncovered
from tests.support import svcforge

REPO_ROOT = Path(__file__).resolve().parents[1]


# The catalogue ----------------------------------------------------------------------------


def test_options_json_lists_every_question_with_choices_and_defaults():
    result = svcforge("options", "--json")

    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["version"] == 1
    questions = {question["name"]: question for question in document["questions"]}
    assert list(questions)[:3] == ["project_name", "project_slug", "package_name"]
    auth = questions["auth"]
    assert [choice["value"] for choice in auth["choices"]] == ["oidc", "jwt", "api_key", "none"]
    assert auth["default"] == "jwt", "secure by default: the default is not none"
    assert questions["rate_limiting"]["type"] == "bool"
    assert questions["rate_limiting"]["default"] is True
    assert "validator" in questions["project_slug"]


def test_options_text_names_each_choice_with_its_label():
    result = svcforge("options")

    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "auth (str)" in text
    assert "- api_key API keys (issued and revoked by an admin command)" in text
    assert "rate_limiting (bool)" in text
    assert "default: jwt" in text


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"auth": "none", "rate_limiting": "false"}, {"auth": "none", "rate_limiting": False}),
        ({"rate_limiting": "YES"}, {"rate_limiting": True}),
        ({"python_version": "3.12"}, {"python_version": "3.12"}),
        ({"unknown_question": "kept"}, {"unknown_question": "kept"}),
    ],
)
def test_check_answers_types_good_answers(data, expected):
    assert check_answers(load_catalogue(REPO_ROOT), data) == expected


@pytest.mark.parametrize(
    ("answer", "says"),
    [
        ("auth=bogus", "auth='bogus' is not one of its choices. Choose one of: oidc: OIDC"),
        ("auth=JWT", "auth='JWT' is not one of its choices"),
        ("rate_limiting=maybe", "rate_limiting='maybe' is not a yes/no answer"),
        ("python_version=3.10", "python_version='3.10' is not one of its choices"),
    ],
)
def test_new_refuses_a_wrong_choice_before_writing_anything(tmp_path, answer, says):
    dest = tmp_path / "svc"

    result = svcforge("new", str(dest), "--defaults", "--no-git", "--no-lock", "--data", answer)

    assert result.exit_code == 3, result.output
    assert says in " ".join(result.output.split())
    assert not dest.exists()


def test_plain_copier_refuses_a_wrong_choice_too(tmp_path):
    with pytest.raises(ValueError, match=r"Invalid choice for 'auth'.*'oidc', 'jwt', 'api_key'"):
        copier.run_copy(
            str(REPO_ROOT),
            str(tmp_path / "svc"),
            data={"auth": "bogus"},
            defaults=True,
            vcs_ref="HEAD",
            quiet=True,
        )
    assert not (tmp_path / "svc" / "pyproject.toml").exists()


# The matrix of this template ----------------------------------------------------------------


def test_the_matrix_covers_every_value_and_every_valid_pair():
    matrix = template_matrix()
    combinations = matrix.covering_set()

    assert list(uncovered(matrix, combinations)) == []
    assert [c.why for c in combinations[:3]] == ["defaults", "everything on", "everything off"]
    assert all(matrix.is_valid(c.data) for c in combinations)
    axes = {axis.name for axis in matrix.axes}
    assert {"python_version", "auth", "rate_limiting"} <= axes
    assert len({c.answers for c in combinations}) == len(combinations), "no duplicates"


def test_everything_off_turns_every_option_off():
    off = next(c for c in template_matrix().covering_set() if c.why == "everything off")

    assert off.data["auth"] == "none"
    assert off.data["rate_limiting"] is False


# The matrix of any template: derived from its copier.yml alone ------------------------------

SYNTHETIC = """\
name:
  type: str
  default: svc
store:
  type: str
  choices: [memory, disk, cloud]
  default: disk
encrypted:
  type: bool
  default: false
  when: "{{ store != 'memory' }}"
region:
  type: str
  choices:
    Europe: eu
    America: us
  default: eu
  validator: >-
    {% if store == 'memory' and region == 'us' %}memory stores live in eu only: choose region eu,
    or a disk or cloud store.{% endif %}
"""


def _template(tmp_path: Path, text: str) -> Path:
    root = tmp_path / "template"
    root.mkdir(exist_ok=True)
    (root / "copier.yml").write_text(text, encoding="utf-8")
    return root


def test_a_synthetic_template_gets_a_valid_covering_matrix(tmp_path):
    matrix = OptionMatrix(load_catalogue(_template(tmp_path, SYNTHETIC)))
    combinations = matrix.covering_set()

    assert list(uncovered(matrix, combinations)) == []
    data = [c.data for c in combinations]
    # `when` false: the question keeps its default, so memory is never encrypted.
    assert {"store": "memory", "encrypted": True, "region": "eu"} not in data
    # The validator's refusal is never generated.
    assert all(not (d["store"] == "memory" and d["region"] == "us") for d in data)
    assert {"store": "memory", "encrypted": False, "region": "eu"} in data
    assert matrix.catalogue.problems({"store": "memory", "region": "us"}) == {
        "region": "memory stores live in eu only: choose region eu, or a disk or cloud store."
    }


def test_a_new_question_joins_the_matrix_with_no_other_edit(tmp_path):
    before = OptionMatrix(load_catalogue(_template(tmp_path, SYNTHETIC))).covering_set()
    added = SYNTHETIC + textwrap.dedent(
        """\
        replicas:
          type: str
          choices: ["1", "3", "5"]
          default: "1"
        """
    )

    matrix = OptionMatrix(load_catalogue(_template(tmp_path, added)))
    after = matrix.covering_set()

    assert all("replicas" not in c.data for c in before)
    assert {c.data["replicas"] for c in after} == {"1", "3", "5"}
    assert list(uncovered(matrix, after)) == []


def test_a_required_combination_the_template_refuses_is_an_error(tmp_path):
    refusing = SYNTHETIC.replace("default: disk", "default: memory").replace(
        "default: eu\n", "default: us\n"
    )

    with pytest.raises(ValueError, match="defaults"):
        OptionMatrix(load_catalogue(_template(tmp_path, refusing))).covering_set()


def test_validators_can_import_the_templates_own_macros(tmp_path):
    root = _template(tmp_path, "")
    shutil.copytree(REPO_ROOT / "includes", root / "includes")
    shutil.copy(REPO_ROOT / "copier.yml", root / "copier.yml")
    catalogue = load_catalogue(root)

    problems = catalogue.problems({"package_name": "json"})

    assert "standard-library module" in problems["package_name"]


def test_every_api_changing_combination_has_its_openapi_snapshot():
    # Imported by path: scripts/ is not a package.
    spec = importlib.util.spec_from_file_location(
        "update_openapi_snapshots", REPO_ROOT / "scripts" / "update_openapi_snapshots.py"
    )
    assert spec is not None
    assert spec.loader is not None
    snapshots = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(snapshots)

    expected = {f"{snapshots.snapshot_name(c)}.json.jinja" for c in snapshots.combinations()}

    assert len(expected) == 8
    assert {p.name for p in (REPO_ROOT / "includes" / "openapi").iterdir()} == expected
