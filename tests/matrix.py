"""The option matrix, derived from copier.yml: every combination the suite must prove.

Nothing here names a question. The axes are the questions with a fixed set of answers
(choices or yes/no); a combination is valid when the template would accept it (every
validator passes, questions whose `when` is false keep their default). The matrix is a
pairwise (all-pairs) covering set of valid combinations, plus the defaults, everything
on and everything off: adding a question or a choice to copier.yml adds it here.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from svcforge.options import Catalogue, Question, load_catalogue

REPO_ROOT = Path(__file__).resolve().parents[1]

#: The choice that means "this option is off", where a choice question has one.
OFF_CHOICE = "none"
#: Seeded restarts of the covering construction, and candidates compared at each step.
COVERING_RESTARTS = 30
CANDIDATES_PER_STEP = 24

Pair = tuple[tuple[str, Any], tuple[str, Any]]


@dataclass(frozen=True)
class Combination:
    """One set of answers to the finite questions, with a name for test ids."""

    answers: tuple[tuple[str, Any], ...]
    why: str = "pairwise"

    @property
    def data(self) -> dict[str, Any]:
        """The answers as Copier's `data`."""
        return dict(self.answers)

    @property
    def id(self) -> str:
        """A short, stable test id: the answers in question order."""
        return "-".join(_word(name, value) for name, value in self.answers)

    def pairs(self) -> set[Pair]:
        """Every pair of answers this combination covers."""
        return set(itertools.combinations(self.answers, 2))


def _word(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return name if value else f"no_{name}"
    return str(value)


def _on(question: Question, default: Any) -> Any:
    if question.type == "bool":
        return True
    if default == OFF_CHOICE:
        return next(value for value in question.values() if value != OFF_CHOICE)
    return default


def _off(question: Question, default: Any) -> Any:
    if question.type == "bool":
        return False
    return OFF_CHOICE if OFF_CHOICE in question.values() else default


class OptionMatrix:
    """The valid combinations of a template's finite questions and a covering set of them."""

    def __init__(self, catalogue: Catalogue) -> None:
        self.catalogue = catalogue
        self.axes = catalogue.finite()
        self.defaults = catalogue.resolve({})
        self._valid = self._valid_combinations()
        self._valid_set = set(self._valid)

    def _normalised(self, answers: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
        # Questions that are not asked take their default, as in a real generation.
        resolved = self.catalogue.resolve(answers)
        return tuple((axis.name, resolved[axis.name]) for axis in self.axes)

    def _valid_combinations(self) -> list[tuple[tuple[str, Any], ...]]:
        seen: dict[tuple[tuple[str, Any], ...], None] = {}
        for values in itertools.product(*(axis.values() for axis in self.axes)):
            answers = dict(zip((axis.name for axis in self.axes), values, strict=True))
            normalised = self._normalised(answers)
            if normalised not in seen and not self.catalogue.problems(dict(normalised)):
                seen[normalised] = None
        return list(seen)

    def valid(self) -> list[Combination]:
        """Every valid combination (deduplicated after questions that are not asked)."""
        return [Combination(answers) for answers in self._valid]

    def valid_pairs(self) -> set[Pair]:
        """Every pair of answers that some valid combination has."""
        pairs: set[Pair] = set()
        for combination in self.valid():
            pairs |= combination.pairs()
        return pairs

    def is_valid(self, answers: Mapping[str, Any]) -> bool:
        """Whether the template accepts these answers to the finite questions."""
        return self._normalised(answers) in self._valid_set

    def _checked(self, answers: Mapping[str, Any], why: str) -> Combination:
        normalised = self._normalised(answers)
        if normalised not in self._valid:
            msg = f"the {why} combination {dict(normalised)} is refused by the template"
            raise ValueError(msg)
        return Combination(normalised, why)

    def required(self) -> list[Combination]:
        """The defaults, everything on and everything off."""
        defaults = self.defaults
        on = {axis.name: _on(axis, defaults[axis.name]) for axis in self.axes}
        off = {axis.name: _off(axis, defaults[axis.name]) for axis in self.axes}
        return [
            self._checked(defaults, "defaults"),
            self._checked(on, "everything on"),
            self._checked(off, "everything off"),
        ]

    def covering_set(self) -> list[Combination]:
        """The required combinations plus the fewest picks found that cover every valid pair.

        Each matrix combination costs a rendered, installed and fully tested project, so
        the set is kept small: AETG-style construction (each new combination starts from a
        pair not yet covered, then takes, question by question, the answer that covers
        the most new pairs), several candidates per step, several seeded restarts; the
        smallest result wins. The seeds are fixed: the result is stable for a copier.yml.
        """
        best: list[Combination] | None = None
        for seed in range(COVERING_RESTARTS):
            chosen = self._covering_attempt(random.Random(seed))  # noqa: S311 - not secrets
            if best is None or len(chosen) < len(best):
                best = chosen
        assert best is not None
        return best

    def _covering_attempt(self, generator: random.Random) -> list[Combination]:
        chosen: list[Combination] = []
        for combination in self.required():
            if combination.answers not in {c.answers for c in chosen}:
                chosen.append(combination)
        uncovered = self.valid_pairs()
        for combination in chosen:
            uncovered -= combination.pairs()
        while uncovered:
            candidates = [self._candidate(generator, uncovered) for _ in range(CANDIDATES_PER_STEP)]
            found = [c for c in candidates if c is not None]
            if not found:  # no construction was valid: fall back on the plain greedy pick
                found = [max(self.valid(), key=lambda c: len(c.pairs() & uncovered))]
            best = max(found, key=lambda c: len(c.pairs() & uncovered))
            chosen.append(best)
            uncovered -= best.pairs()
        return chosen

    def _candidate(self, generator: random.Random, uncovered: set[Pair]) -> Combination | None:
        (first, first_value), (second, second_value) = generator.choice(sorted(uncovered, key=repr))
        answers: dict[str, Any] = {first: first_value, second: second_value}
        rest = [axis for axis in self.axes if axis.name not in answers]
        generator.shuffle(rest)
        for axis in rest:

            def gain(value: Any, name: str = axis.name) -> int:
                return sum(
                    ((other, answers[other]), (name, value)) in uncovered
                    or ((name, value), (other, answers[other])) in uncovered
                    for other in answers
                )

            values = list(axis.values())
            generator.shuffle(values)
            answers[axis.name] = max(values, key=gain)
        normalised = self._normalised(answers)
        return Combination(normalised) if normalised in self._valid_set else None


def template_matrix() -> OptionMatrix:
    """The matrix of this checkout's copier.yml."""
    return OptionMatrix(load_catalogue(REPO_ROOT))


def uncovered(matrix: OptionMatrix, combinations: list[Combination]) -> Iterator[str]:
    """What `combinations` leave out: values of a question, then valid pairs."""
    covered_values = {pair for c in combinations for pair in c.answers}
    for axis in matrix.axes:
        for value in axis.values():
            reachable = any((axis.name, value) in c.answers for c in matrix.valid())
            if reachable and (axis.name, value) not in covered_values:
                yield f"{axis.name}={value!r}"
    covered_pairs = set().union(*(c.pairs() for c in combinations)) if combinations else set()
    for pair in sorted(matrix.valid_pairs() - covered_pairs, key=repr):
        yield f"{pair[0][0]}={pair[0][1]!r} with {pair[1][0]}={pair[1][1]!r}"
