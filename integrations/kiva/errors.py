"""What can go wrong talking to Kiva, typed by what the caller may do next.

- KivaRetryableError: nothing reached Kiva, or Kiva refused for a transient reason (429, 503):
  sending the same request again later is safe.
- KivaPermanentError: Kiva refused the request (4xx); sending it again unchanged gets the same
  answer. Kiva's status, message and body are kept to show staff.
- KivaAuthError: a permanent error about credentials or scopes (token refused, 401/403 even
  with a fresh token).
- KivaAmbiguousError: the request may have reached Kiva (a read timeout or a reset after
  sending, a 5xx from a gateway): whether it took effect is unknown, so it must not be sent
  again blindly.
"""


class KivaError(Exception):
    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        status: int | None = None,
        body: str = "",
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.path = path
        self.status = status
        self.body = body
        self.retry_after = retry_after

    def __str__(self):
        where = f" ({self.path}" + (f", HTTP {self.status}" if self.status else "") + ")"
        return self.message + (where if self.path else "")


class KivaRetryableError(KivaError):
    pass


class KivaPermanentError(KivaError):
    pass


class KivaAuthError(KivaPermanentError):
    pass


class KivaAmbiguousError(KivaError):
    pass
