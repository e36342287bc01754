"""The template's questions as data: the catalogue ``svcforge options`` prints.

``copier.yml`` is the one declaration of every option: its choices, default, help, when it
is asked (``when``) and which answers it refuses (``validator``). This module reads it,
evaluates those Jinja expressions the way Copier does (same template root, so validators
can import the template's macros), and checks answers given on the command line before
Copier sees them, so a wrong choice is refused with the choices spelled out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import yaml

from svcforge.errors import InvalidAnswerError, TemplateError

#: Spellings Copier (through YAML) reads as a boolean answer.
_TRUE_WORDS = frozenset({"true", "yes", "on", "y", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "n", "0"})
CATALOGUE_VERSION = 1


@dataclass(frozen=True)
class Choice:
    """One allowed answer of a question, with the label the prompt shows."""

    value: Any
    label: str


@dataclass(frozen=True)
class Question:
    """One question of ``copier.yml``."""

    name: str
    type: str
    help: str
    default: Any
    choices: tuple[Choice, ...] = ()
    #: Jinja expression deciding whether the question is asked (None: always).
    when: str | None = None
    #: Jinja template whose non-empty result refuses the answer (None: any answer).
    validator: str | None = None

    @property
    def is_finite(self) -> bool:
        """Whether the question has a fixed set of answers (a choice or a yes/no)."""
        return bool(self.choices) or self.type == "bool"

    def values(self) -> list[Any]:
        """Return the allowed answers of a finite question, in declaration order."""
        if self.choices:
            return [choice.value for choice in self.choices]
        if self.type == "bool":
            return [True, False]
        return []

    def as_dict(self) -> dict[str, Any]:
        """Return the question as ``svcforge options --json`` prints it."""
        return {
            "name": self.name,
            "type": self.type,
            "help": self.help,
            "default": self.default,
            "choices": [{"value": c.value, "label": c.label} for c in self.choices],
            "when": self.when,
            "validator": self.validator,
        }


@dataclass
class Catalogue:
    """Every question of a template, in the order Copier asks them."""

    root: Path
    questions: list[Question] = field(default_factory=list)
    _compiled: dict[str, jinja2.Template] = field(default_factory=dict, repr=False)
    _environment: jinja2.Environment | None = field(default=None, repr=False)

    def finite(self) -> list[Question]:
        """Return the questions with a fixed set of answers (the axes of the option matrix)."""
        return [question for question in self.questions if question.is_finite]

    def as_dict(self) -> dict[str, Any]:
        """Return the catalogue as ``svcforge options --json`` prints it (versioned)."""
        return {
            "version": CATALOGUE_VERSION,
            "template": str(self.root),
            "questions": [question.as_dict() for question in self.questions],
        }

    def render(self, source: str, context: Mapping[str, Any]) -> str:
        """Render a Jinja expression of ``copier.yml`` (compiled once per catalogue)."""
        if source not in self._compiled:
            if self._environment is None:
                self._environment = self.environment()
            self._compiled[source] = self._environment.from_string(source)
        return self._compiled[source].render(context)

    def environment(self) -> jinja2.Environment:
        """Return a Jinja environment like Copier's: templates load from the template root."""
        return jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.root)),
            # Copier's default extension (a Copier dependency): regex_replace and friends.
            extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"],
            autoescape=False,  # noqa: S701 - renders YAML answers and messages, never HTML
            undefined=jinja2.StrictUndefined,
        )

    def resolve(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Return every answer as a generation would have it: given, else the rendered default.

        A question whose ``when`` is false is not asked and takes its default, whatever
        ``answers`` says, as in Copier.
        """
        resolved: dict[str, Any] = {"_folder_name": "example-service"}
        for question in self.questions:
            asked = question.when is None or self._truthy(question.when, resolved)
            if asked and question.name in answers:
                resolved[question.name] = answers[question.name]
            else:
                resolved[question.name] = self._default(question, resolved)
        resolved.pop("_folder_name")
        return resolved

    def asked(self, answers: Mapping[str, Any]) -> dict[str, bool]:
        """Return, for each question, whether it is asked given `answers` (its ``when``)."""
        context = {"_folder_name": "example-service", **self.resolve(answers)}
        return {
            question.name: question.when is None or self._truthy(question.when, context)
            for question in self.questions
        }

    def problems(self, answers: Mapping[str, Any]) -> dict[str, str]:
        """Return the validators' messages for `answers` by question (empty: valid)."""
        context = {"_folder_name": "example-service", **self.resolve(answers)}
        asked = self.asked(answers)
        found = {}
        for question in self.questions:
            if question.validator is None or not asked[question.name]:
                continue
            message = self.render(question.validator, context).strip()
            if message:
                found[question.name] = " ".join(message.split())
        return found

    def _truthy(self, expression: str, context: Mapping[str, Any]) -> bool:
        rendered = self.render(expression, context).strip()
        return rendered.lower() not in {"", "false", "no", "off", "0", "none", "null", "n"}

    def _default(self, question: Question, context: Mapping[str, Any]) -> object:
        default = question.default
        if isinstance(default, str) and "{" in default:
            default = self.render(default, context)
        if question.type == "bool" and isinstance(default, str):
            return default.strip().lower() in _TRUE_WORDS
        return default


def _choices(raw: object) -> tuple[Choice, ...]:
    if raw is None:
        return ()
    if isinstance(raw, Mapping):
        return tuple(Choice(value=value, label=str(label)) for label, value in raw.items())
    if isinstance(raw, list | tuple):
        return tuple(Choice(value=value, label=str(value)) for value in raw)
    raise TemplateError(f"Choices must be a list or a mapping of label: value, not {raw!r}.")


def load_catalogue(root: Path) -> Catalogue:
    """Read the questions of the template at `root` (the folder holding ``copier.yml``)."""
    path = root / "copier.yml"
    try:
        declared = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        raise TemplateError(f"Cannot read the template's questions ({path}): {error}") from None
    if not isinstance(declared, dict):
        raise TemplateError(f"{path} is not a mapping of questions.")
    catalogue = Catalogue(root=root)
    for name, spec in declared.items():
        if str(name).startswith("_") or not isinstance(spec, dict):
            continue
        catalogue.questions.append(
            Question(
                name=str(name),
                type=str(spec.get("type", "str")),
                help=" ".join(str(spec.get("help", "")).split()),
                default=spec.get("default"),
                choices=_choices(spec.get("choices")),
                when=None if spec.get("when") is None else str(spec["when"]),
                validator=spec.get("validator"),
            )
        )
    return catalogue


def _as_bool(name: str, value: object) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in _TRUE_WORDS:
        return True
    if word in _FALSE_WORDS:
        return False
    raise InvalidAnswerError(
        f"{name}={value!r} is not a yes/no answer: {name} takes true or false.",
        hint=f"Example: --data {name}=false",
    )


def check_answers(catalogue: Catalogue, data: Mapping[str, Any]) -> dict[str, Any]:
    """Refuse answers outside a question's choices or yes/no; return them typed.

    Copier would read an unknown word as "yes" for a yes/no question; here it is an
    error naming what the question takes. Answers to unknown questions pass through
    (``svcforge new`` reports them as ignored).
    """
    checked = dict(data)
    for question in catalogue.questions:
        if question.name not in data:
            continue
        value = data[question.name]
        if question.type == "bool":
            checked[question.name] = _as_bool(question.name, value)
        elif question.choices and value not in question.values():
            # --data values are strings; a choice may be declared as another YAML scalar.
            by_text = {str(choice.value): choice.value for choice in question.choices}
            if str(value) in by_text:
                checked[question.name] = by_text[str(value)]
                continue
            raise InvalidAnswerError(
                f"{question.name}={value!r} is not one of its choices. "
                + _choices_sentence(question),
                hint="`svcforge options` lists every question with its choices.",
            )
    return checked


def _choices_sentence(question: Question) -> str:
    described = [
        str(choice.value)
        if choice.label == str(choice.value)
        else f"{choice.value}: {choice.label}"
        for choice in question.choices
    ]
    return f"Choose one of: {'; '.join(described)}."


def describe(values: Iterable[Any]) -> str:
    """Return answers as a person reads them: booleans as yes/no."""
    return ", ".join(
        ("yes" if value else "no") if isinstance(value, bool) else str(value) for value in values
    )
