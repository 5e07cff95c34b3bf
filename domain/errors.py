"""Named domain errors. Each carries a Chinese message fit to show a user."""


class DomainError(Exception):
    """Raised when a command is refused; nothing has been recorded."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInputError(DomainError):
    """Raised when a value is missing, malformed, too long or out of range."""


class UnknownReferenceError(DomainError):
    """Raised when an id names no unit, person, account, indicator or ticket."""


class IllegalTransitionError(DomainError):
    """Raised when the ticket's state does not allow the command."""


class NotPermittedError(DomainError):
    """Raised when the actor's role may not perform the command."""


class OutOfScopeError(DomainError):
    """Raised when the actor's unit is not responsible for the ticket."""


class StaleVersionError(DomainError):
    """Raised when the caller acted on an older version than the one stored (a concurrent edit)."""


class DuplicateError(DomainError):
    """Raised when something that must be unique (a login, a unit code) already exists."""


class AccountDisabledError(DomainError):
    """Raised when a disabled account tries to act."""


class LimitReachedError(DomainError):
    """Raised when an allowance for a period is used up (an account's uploads for the day)."""
