"""Domain errors. They know nothing of HTTP: ``identity.app`` maps them to problem+json."""

from __future__ import annotations

__all__ = ["EmailTaken", "IdentityError", "InvalidCredentials", "InvalidEmail",
           "InvalidRefreshToken", "InvalidServiceCredentials", "RotationConflict",
           "TooManyAttempts", "WeakPassword"]


class IdentityError(Exception):
    """Base of every error identity raises on purpose."""


class InvalidEmail(IdentityError, ValueError):
    """Not something we accept as an email address."""


class WeakPassword(IdentityError, ValueError):
    """Too short, too long, or one of the most common passwords."""


class EmailTaken(IdentityError):
    """An account with this email exists. Sign-up reveals this on purpose: the alternative (a
    confirmation email) needs a mail round trip we do not have."""


class InvalidCredentials(IdentityError):
    """Unknown email or wrong password: one message for both, so it reveals neither."""

    def __init__(self) -> None:
        super().__init__("email or password is incorrect")


class TooManyAttempts(IdentityError):
    """Too many failed logins for this account or from this client; try again later."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many failed login attempts; try again later")
        self.retry_after = retry_after


class InvalidRefreshToken(IdentityError):
    """Unknown, expired, revoked or already used (the last one also revokes its family)."""

    def __init__(self) -> None:
        super().__init__("the refresh token is invalid or expired")


class InvalidServiceCredentials(IdentityError):
    """Unknown service or wrong secret: one message for both."""

    def __init__(self) -> None:
        super().__init__("service credentials are incorrect")


class RotationConflict(IdentityError):
    """Another rotation committed at the same moment; the caller may simply retry."""
