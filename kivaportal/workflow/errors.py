"""Why a review action was refused, in words staff can act on."""

from django.core.exceptions import PermissionDenied


class ReviewError(Exception):
    """A review action that cannot be done; `message` is shown to the user as it is."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class NotAllowed(ReviewError, PermissionDenied):
    """The user's role in this partner does not allow the action."""


class FourEyesViolation(NotAllowed):
    """The approver created or last edited the record."""


class IllegalTransition(ReviewError):
    """The record's state does not allow the action."""


class BlockingErrors(ReviewError):
    """The record has check errors that must be fixed first."""

    def __init__(self, message, findings):
        super().__init__(message)
        self.findings = findings
