"""Domain errors: one base, a few categories; HTTP mapping lives in core.problems only."""


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    """The requested entity does not exist."""


class ConflictError(DomainError):
    """The change would break a uniqueness or state rule."""


class IdempotencyKeyReusedError(DomainError):
    """An Idempotency-Key was sent again with a different request (API-6)."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"The Idempotency-Key {key!r} was already used for a different request; "
            "send a new key for a new request."
        )
        self.key = key


class DependencyUnavailableError(DomainError):
    """A backing service (the database, ...) cannot serve now; retrying later may work."""

    def __init__(self, detail: str, *, retry_after_seconds: int = 1) -> None:
        super().__init__(detail)
        self.retry_after_seconds = retry_after_seconds
