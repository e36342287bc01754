r"""Field types and the base class of request models: the document says what is accepted.

Every rule a request must follow is a JSON Schema keyword the OpenAPI document shows
(types, lengths, ranges, patterns), so what the document allows is accepted and what it
forbids is rejected (API-2). Resources build their request models from these.

Text: PostgreSQL cannot store the NUL character (U+0000) in text, and a lone surrogate (JSON
allows "\ud800", and `json.loads` returns it) has no UTF-8 form: before these types, both
reached the driver and ended as a 500. Each type carries its rule as a `pattern`, which
Pydantic enforces and the OpenAPI document shows, so the document and the service agree on
every string; clients get an ordinary 422 for a string they should not have sent.

Pydantic matches a pattern on the string's UTF-8 form, so a string holding a lone surrogate
fails as `string_unicode` before the pattern runs: the same 422, pinned by the unit tests.
"""

import re
from itertools import islice
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError

# What `str.isspace()` and `str.strip()` count as whitespace, as the body of a regex
# character class in \u escapes, which read the same in every dialect involved: ECMA-262
# (clients, schema validators), Rust (Pydantic) and Python (test generators); `\s` does not.
WHITESPACE_CLASS = (
    r"\u0009-\u000d\u001c-\u0020\u0085\u00a0\u1680\u2000-\u200a"
    r"\u2028\u2029\u202f\u205f\u3000"
)

NUL_FREE_PATTERN = r"^[^\u0000]*$"
"""Any text without a NUL character."""

TRIMMED_PATTERN = rf"^(?:[^{WHITESPACE_CLASS}\u0000](?:[^\u0000]*[^{WHITESPACE_CLASS}\u0000])?)?$"
"""Text without a NUL character that neither starts nor ends with whitespace."""

Text = Annotated[str, StringConstraints(pattern=NUL_FREE_PATTERN)]
"""Free text PostgreSQL can store: anything but NUL characters and lone surrogates."""

TrimmedText = Annotated[str, StringConstraints(pattern=TRIMMED_PATTERN)]
"""Text as `Text` that neither starts nor ends with whitespace, so it is never blank.

Meant for names and other identifiers: nothing is stripped silently, so the length a
client sends is the length that is checked and stored. The empty string passes: bound it
with `min_length` where it is not wanted.
"""


def integral_number(value: object) -> object:
    """Before-validator of integers in JSON bodies: 5 or 5.0, never "5", true or 5.5.

    JSON Schema (and so the document) counts 2.0 as an integer: it becomes 2. Strings and
    booleans are not numbers, so a `StrictInt` then rejects "5" and true instead of
    converting them. Use it as `Annotated[StrictInt, Field(ge=..., le=...),
    BeforeValidator(integral_number)]`: the bounds must come before the validator to
    apply to the integer and show in the document.
    """
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


_DECIMAL_INTEGER = re.compile(r"-?[0-9]+")


def _decimal_integer(value: object) -> object:
    # A query value is text, so an integer is parsed from it, but only from an optional minus
    # and digits: Pydantic alone would also read " 5", "1_000", "+5" and "5.0".
    if isinstance(value, str) and not _DECIMAL_INTEGER.fullmatch(value):
        kind, msg = "int_parsing", "Input should be an integer in decimal digits"
        raise PydanticCustomError(kind, msg)
    return value


QueryInt = Annotated[int, BeforeValidator(_decimal_integer)]
"""An integer in a query string, written in decimal digits."""


def omittable_not_null(schema: dict[str, Any]) -> None:
    """`json_schema_extra` for a field that may be left out but not sent as null.

    Drops the null branch and the null default that Pydantic derives from a `None`
    placeholder, so the document matches a `reject null` validator.
    """
    (not_null,) = (branch for branch in schema.pop("anyOf") if branch != {"type": "null"})
    schema.update(not_null)
    del schema["default"]


class RequestModel(BaseModel):
    """Base of request bodies and query models: unknown fields are rejected.

    Each unknown field is one validation error; a hostile body that holds thousands of
    them is refused with a single error instead, so encoding the 422 stays cheap.
    """

    model_config = ConfigDict(extra="forbid")

    max_unknown_fields: ClassVar[int] = 20

    @model_validator(mode="before")
    @classmethod
    def _refuse_floods_of_unknown_fields(cls, data: object) -> object:
        if isinstance(data, dict) and len(data) > len(cls.model_fields) + cls.max_unknown_fields:
            # Set operations, not a Python loop over the keys: this is the expensive case.
            unknown = data.keys() - cls.model_fields.keys()
            kind, msg = "extra_forbidden", "{count} unknown fields, e.g. {examples}"
            examples = ", ".join(sorted(map(str, islice(unknown, 3))))
            raise PydanticCustomError(kind, msg, {"count": len(unknown), "examples": examples})
        return data
