"""The one HTTP seam between the portal and Kiva: token, requests, typed errors.

Nothing else in the portal talks HTTP to Kiva. Every exchange has connect and read timeouts;
GETs are retried here (they change nothing at Kiva); POSTs never are, because Kiva has no
idempotency key: whether to send a POST again is the caller's decision, made from the error's
type (see errors.py). Logs carry the method, path and status, never a secret, token, query
string (it holds names) or body.
"""

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

import kivaportal
from integrations.kiva import payloads
from integrations.kiva.errors import (
    KivaAmbiguousError,
    KivaAuthError,
    KivaError,
    KivaNotSentError,
    KivaPermanentError,
    KivaRetryableError,
    error_message,
    nothing_sent,
    retry_after,
)
from integrations.kiva.hosts import host_allowed, host_of
from integrations.kiva.token_cache import Token, TokenCache
from kivaportal.common.crypto import DecryptionError

__all__ = [
    "CONFIG_LISTS",
    "MAX_PAGE_SIZE",
    "KivaAmbiguousError",
    "KivaNotSentError",
    "KivaAuthError",
    "KivaClient",
    "KivaError",
    "KivaPermanentError",
    "KivaResponse",
    "KivaRetryableError",
]

logger = logging.getLogger(__name__)

USER_AGENT = f"KivaPartnerPortal/{kivaportal.__version__} (+python-requests)"
CONFIG_LISTS = ("activities", "locales", "themes", "locations")
MAX_PAGE_SIZE = 300  # Kiva: do not ask for more than 300 loans a page
# GETs are retried on these, on any 5xx (a GET changes nothing at Kiva, so a server error is
# as safe to try again as a gateway's) and on connection errors; the rest is raised at once.
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# For a POST these mean Kiva refused before doing anything: safe to send again later.
REFUSED_STATUSES = frozenset({429, 503})


def _worth_retrying(status: int | None) -> bool:
    return status is None or status in RETRY_STATUSES or status >= 500


@lru_cache(maxsize=256)
def _environment(origin: str) -> dict:
    """What requests reads from the environment for URLs of `origin` (proxies and NO_PROXY, a CA
    bundle), read once per process: requests reads it on every request otherwise, a tenth of a
    send's CPU. The client's own sessions do not read ~/.netrc (trust_env off): the portal sets
    its own Authorization header, which a netrc entry would replace."""
    return requests.Session().merge_environment_settings(origin, {}, None, None, None)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/"


@dataclass(frozen=True)
class KivaResponse:
    method: str
    path: str
    status: int
    data: Any  # the parsed JSON body
    text: str  # the body as received, for the record of what Kiva answered
    elapsed: float  # seconds


class KivaClient:
    """A client for one partner's KivaConnection.

    `session`, `cache_alias` and `sleep` exist so tests and callers can share a session, pick
    a cache or skip real waiting; production uses the defaults.
    """

    def __init__(
        self,
        connection,
        *,
        session: requests.Session | None = None,
        cache_alias: str = "default",
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.connection = connection
        # The environment is read once per origin (`_environment`), not by each request.
        self.env_once = session is None
        if session is None:
            session = requests.Session()
            session.trust_env = False
        self.session = session
        self.tokens = TokenCache(connection, cache_alias)
        self.sleep = sleep
        # Every retry of a GET made by this client: (path, status or error), for callers that
        # keep the evidence of an exchange (the pipeline's look-up attempts).
        self.retries: list[tuple[str, str]] = []
        self.timeout = (
            connection.connect_timeout or settings.KIVA_CONNECT_TIMEOUT,
            connection.read_timeout or settings.KIVA_READ_TIMEOUT,
        )

    # -- reads ---------------------------------------------------------------------------

    def config_list(self, name: str) -> list[dict]:
        if name not in CONFIG_LISTS:
            raise ValueError(f"Unknown config list {name!r}")
        data = self._request("GET", self._partner_path(f"config/{name}")).data
        items = data.get(name) if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise KivaPermanentError(
                f"Kiva's answer has no {name!r} list", path=self._partner_path(f"config/{name}")
            )
        return items

    def loans(self, *, query: str = "", status: str = "", offset: int = 0, limit: int = 20) -> dict:
        """One page of the partner's loans: {"total_records": n, "data": [...]}."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ValueError(f"limit must be 1..{MAX_PAGE_SIZE}")
        params = {"offset": offset, "limit": limit}
        if query:
            params["query"] = query
        if status:
            params["status"] = status
        return self._request("GET", self._partner_path("loans"), params=params).data

    def loan_page(self, *, status: str = "", offset: int = 0, limit: int = MAX_PAGE_SIZE):
        """One page of GET loans as a typed result (payloads.parse_loans_page)."""
        return payloads.parse_loans_page(self.loans(status=status, offset=offset, limit=limit))

    def loan_pages(
        self, *, status: str = "", offset: int = 0, page_size: int = MAX_PAGE_SIZE
    ) -> Iterator[tuple[int, payloads.LoansPage]]:
        """(offset, page) for every page of the partner's loans from `offset` on, read as
        typed results (payloads.parse_loans_page); a caller that stops keeps its offset to
        resume from there."""
        while True:
            page = self.loan_page(status=status, offset=offset, limit=page_size)
            yield offset, page
            offset += page.received
            # Without a total, a short page is the last one.
            done = page.received < page_size if page.total is None else offset >= page.total
            if not page.received or done:
                return

    def all_loans(self, *, query: str = "", status: str = "", page_size: int = 100) -> list[dict]:
        """Every page of the partner's loans (for reconciliation)."""
        loans: list[dict] = []
        while True:
            page = self.loans(query=query, status=status, offset=len(loans), limit=page_size)
            batch = page.get("data") or []
            loans += batch
            total = page.get("total_records")
            # Without a total, a short page is the last one.
            done = len(batch) < page_size if total is None else len(loans) >= int(total)
            if not batch or done:
                return loans

    # -- writes (never retried here) -----------------------------------------------------

    def create_loan_draft(self, body: dict | str | bytes) -> KivaResponse:
        return self._request("POST", self._partner_path("loan_draft"), body=body)

    def post_repayments(self, body: dict | str | bytes) -> KivaResponse:
        """One batch; callers chunk a report (payloads.repayment_batches)."""
        return self._request("POST", self._partner_path("repayments"), body=body)

    def post_journals(self, body: dict | list | str | bytes) -> KivaResponse:
        return self._request("POST", self.connection.resolved_journal_path(), body=body)

    def loans_url(self, **params) -> str:
        """The full URL of GET loans with `params` (for the record of a look-up)."""
        url = self._url(self._partner_path("loans"))
        return url + ("?" + urlencode(params) if params else "")

    def endpoint_url(self, endpoint: str) -> str:
        """The full URL a write to `endpoint` ("loan_draft", "repayments", "journals") goes
        to, as Kiva's bug-report guide asks to quote it."""
        if endpoint == "journals":
            return self._url(self.connection.resolved_journal_path())
        return self._url(self._partner_path(endpoint))

    # -- token ---------------------------------------------------------------------------

    def token(self, *, fresh: bool = False) -> Token:
        """The cached token, or a new one from Kiva when none is cached or `fresh`."""
        if not fresh:
            cached = self.tokens.get()
            if cached is not None:
                return cached
        token = self._fetch_token()
        self.tokens.put(token)
        return token

    def _fetch_token(self) -> Token:
        c = self.connection
        path = "oauth token"
        try:
            secret = c.get_client_secret()
        except (DecryptionError, ImproperlyConfigured) as exc:
            raise KivaNotSentError(
                f"The Kiva client secret cannot be read: {exc} A partner admin enters it again, "
                "or the operator restores PORTAL_ENCRYPTION_KEY.",
                path=path,
            ) from exc
        form = {
            "grant_type": "client_credentials",
            "client_id": c.client_id,
            "client_secret": secret,
            "audience": c.audience,
            "scope": c.scopes,
        }
        # `data=` lets requests form-encode every value properly (a hand-built body broke a
        # production connector on special characters in secrets).
        response = self._send("POST", c.token_url, path, data=form, idempotent=True)
        if response.status_code >= 300:
            self._raise_for_status(response, path, idempotent=True, auth=True)
        data = self._json(response, path, idempotent=True)
        try:
            now = time.time()
            return Token(
                access_token=str(data["access_token"]),
                issued_at=now,
                expires_at=now + float(data["expires_in"]),
                scope=str(data.get("scope", "")),
                partner_id=str(data.get("partnerId", "")),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise KivaAuthError(
                "Kiva's token answer has no access_token or expires_in", path=path
            ) from exc

    # -- plumbing ------------------------------------------------------------------------

    def _partner_path(self, rest: str) -> str:
        return f"v3/partner/{quote(self.connection.kiva_partner_id, safe='')}/{rest}"

    def _url(self, path: str) -> str:
        return self.connection.api_base_url.rstrip("/") + "/" + path.lstrip("/")

    def _request(self, method, path, *, params=None, body=None) -> KivaResponse:
        idempotent = method == "GET"
        data = None
        if body is not None:
            try:
                data = body if isinstance(body, bytes | str) else payloads.to_json(body)
                data = data.encode() if isinstance(data, str) else data
            except (TypeError, ValueError) as exc:
                raise KivaNotSentError(f"The body cannot be encoded: {exc}", path=path) from exc
        attempts = settings.KIVA_GET_ATTEMPTS if idempotent else 1
        for attempt in range(1, attempts + 1):
            try:
                return self._authorized(method, path, params, data, idempotent)
            except KivaRetryableError as exc:
                if attempt == attempts or not _worth_retrying(exc.status):
                    raise
                delay = exc.retry_after if exc.retry_after is not None else 0.5 * 2 ** (attempt - 1)
                if delay > settings.KIVA_RETRY_AFTER_MAX:
                    raise
                logger.info("kiva %s %s: retry %d in %.1fs", method, path, attempt, delay)
                self.retries.append((path, str(exc.status or exc.message)))
                self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _authorized(self, method, path, params, data, idempotent) -> KivaResponse:
        token = self.token()
        response = self._api_call(method, path, params, data, token, idempotent)
        if response.status_code in (401, 403):
            # Expired token or missing scope: one fresh token, one more try (Kiva's advice).
            # Safe for POSTs too: Kiva refused the request before doing anything.
            self.tokens.forget(token)
            token = self.token(fresh=True)
            response = self._api_call(method, path, params, data, token, idempotent)
        if response.status_code >= 300:
            self._raise_for_status(response, path, idempotent=idempotent)
        return KivaResponse(
            method=method,
            path=path,
            status=response.status_code,
            data=self._json(response, path, idempotent=idempotent),
            text=response.text,
            elapsed=response.elapsed.total_seconds(),
        )

    def _api_call(self, method, path, params, data, token, idempotent):
        headers = {"Authorization": f"Bearer {token.access_token}"}
        if data is not None:
            headers["Content-Type"] = "application/json; charset=utf-8"
        return self._send(
            method,
            self._url(path),
            path,
            params=params,
            data=data,
            headers=headers,
            idempotent=idempotent,
        )

    def _send(self, method, url, path, *, idempotent, headers=None, **kwargs):
        if not host_of(url):
            # No scheme or no host: nothing can be sent (checked before the allow-list, whose
            # message would name the whole text as a host).
            raise KivaNotSentError(
                f"The URL {url!r} is not usable: it names no host (it must start with https://).",
                path=path,
            )
        if not host_allowed(url):
            # Checked before the request is made, so no byte (no secret, no token) leaves.
            raise KivaNotSentError(
                f"The host {host_of(url)!r} is not one of Kiva's (KIVA_ALLOWED_HOSTS): "
                "nothing was sent. A partner admin corrects the connection's URL, or the "
                "operator adds Kiva's new host.",
                path=path,
            )
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json", **(headers or {})}
        if self.env_once:
            environment = _environment(_origin(url))
            kwargs.update(proxies=environment["proxies"], verify=environment["verify"])
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                headers=headers,
                timeout=self.timeout,
                allow_redirects=False,  # a redirect would turn a POST into a GET
                **kwargs,
            )
        except requests.ConnectTimeout as exc:
            raise self._failed("Could not connect to Kiva in time", path, exc) from exc
        except requests.ReadTimeout as exc:
            cls = KivaRetryableError if idempotent else KivaAmbiguousError
            raise cls(f"No answer from Kiva within {self.timeout[1]}s", path=path) from exc
        except requests.ConnectionError as exc:
            if nothing_sent(exc):
                raise self._failed("Could not connect to Kiva", path, exc) from exc
            cls = KivaRetryableError if idempotent else KivaAmbiguousError
            raise cls("The connection to Kiva broke after the request was sent", path=path) from exc
        except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema) as exc:  # fmt: skip
            # Refused by requests before any connection: nothing left.
            raise KivaNotSentError(f"The URL {url!r} is not usable: {exc}", path=path) from exc
        except requests.RequestException as exc:
            raise KivaPermanentError(f"Invalid request: {type(exc).__name__}", path=path) from exc
        logger.info(
            "kiva %s %s -> %s in %.0fms",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response

    @staticmethod
    def _failed(message, path, exc):
        logger.warning("kiva %s: %s (%s)", path, message, type(exc).__name__)
        return KivaRetryableError(message, path=path)

    def _raise_for_status(self, response, path, *, idempotent, auth=False):
        status = response.status_code
        text = response.text
        message = error_message(response)
        if status in REFUSED_STATUSES or (status >= 500 and (idempotent or auth)):
            raise KivaRetryableError(
                message, path=path, status=status, body=text, retry_after=retry_after(response)
            )
        if status >= 500:
            # A server or gateway error after a POST arrived: it may have taken effect.
            raise KivaAmbiguousError(message, path=path, status=status, body=text)
        if status in (401, 403) or auth:
            raise KivaAuthError(message, path=path, status=status, body=text)
        if 300 <= status < 400:
            message = f"Kiva redirected to {response.headers.get('Location', '?')}; check the URL"
        raise KivaPermanentError(message, path=path, status=status, body=text)

    @staticmethod
    def _json(response, path, *, idempotent):
        try:
            return response.json()
        except ValueError as exc:
            # A success we cannot read: for a POST it took effect, but we lack its result.
            cls = KivaRetryableError if idempotent else KivaAmbiguousError
            raise cls(
                f"Kiva answered {response.status_code} with a body that is not JSON",
                path=path,
                status=response.status_code,
                body=response.text,
            ) from exc
