"""Domain errors: one base, a few categories; HTTP mapping lives in core.problems only."""


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    title = "Domain rule violated"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class NotFoundError(DomainError):
    """The requested entity does not exist."""

    title = "Resource not found"


class ConflictError(DomainError):
    """The change would break a uniqueness or state rule."""

    title = "Conflict with the current state"
