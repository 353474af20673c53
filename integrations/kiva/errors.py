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

import time
from email.utils import parsedate_to_datetime

import requests
from urllib3.exceptions import NewConnectionError


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


class KivaNotSentError(KivaError):
    """The portal could not even make the request (the secret cannot be decrypted, the token
    URL is malformed, the body cannot be encoded): nothing left, and trying again as it is
    cannot help. A person fixes the cause, then retries."""


# -- reading what went wrong (used by the client) -------------------------------------


def nothing_sent(exc: requests.ConnectionError) -> bool:
    """True when the connection was never made (refused, DNS), so no byte reached Kiva."""
    seen = set()
    stack = [exc]
    while stack:
        err = stack.pop()
        if err is None or id(err) in seen:
            continue
        seen.add(id(err))
        if isinstance(err, NewConnectionError):
            return True
        stack += [getattr(err, "reason", None), err.__cause__, err.__context__]
        stack += [a for a in getattr(err, "args", ()) if isinstance(a, BaseException)]
    return False


def error_message(response) -> str:
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "error_description", "error", "detail"):
            if data.get(key):
                return str(data[key])
    text = (response.text or "").strip()
    if text.startswith("<"):
        return f"HTTP {response.status_code}: an HTML page, not Kiva's API (check the URL)"
    return text[:300] or f"HTTP {response.status_code}"


def retry_after(response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None
