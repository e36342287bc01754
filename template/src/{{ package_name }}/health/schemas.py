"""Response bodies of the probes."""

from enum import StrEnum

from pydantic import BaseModel


class CheckStatus(StrEnum):
    """Outcome of one dependency check."""

    OK = "ok"
    FAILING = "failing"


class Liveness(BaseModel):
    """The process is up and serving."""

    status: CheckStatus = CheckStatus.OK


class Readiness(BaseModel):
    """Every dependency answered within its timeout."""

    status: CheckStatus
    checks: dict[str, CheckStatus]
