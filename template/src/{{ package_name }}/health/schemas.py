"""Response bodies of the probes."""

from enum import StrEnum

from pydantic import BaseModel


class CheckStatus(StrEnum):
    """Outcome of one dependency check."""

    OK = "ok"
    # A dependency the service can do without is failing: still ready, doing less.
    DEGRADED = "degraded"
    FAILING = "failing"


class Liveness(BaseModel):
    """The process is up and serving."""

    status: CheckStatus = CheckStatus.OK


class Readiness(BaseModel):
    """Every required dependency answered within its timeout (optional ones may not have)."""

    status: CheckStatus
    checks: dict[str, CheckStatus]
