"""Kiva access tokens, cached per connection in Django's cache so every process shares one.

With Redis as the cache (CACHE_URL in production) the portal, its Celery workers and commands
use the same token instead of each fetching its own every time. Tokens are bearer credentials,
so they are stored encrypted, and the cache key changes whenever the connection's URLs,
client id, scopes or secret change: an edited connection never uses an old token.
"""

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import caches

from kivaportal.common import crypto

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Token:
    access_token: str
    issued_at: float  # epoch seconds
    expires_at: float  # issued_at + Kiva's `expires_in`
    scope: str
    partner_id: str

    def __repr__(self):  # never print the token itself
        return f"Token(scope={self.scope!r}, partner_id={self.partner_id!r})"

    @property
    def renew_at(self) -> float:
        # Renew a margin before expiry; a tenth of the lifetime for short-lived tokens.
        lifetime = self.expires_at - self.issued_at
        return self.expires_at - min(settings.KIVA_TOKEN_RENEW_MARGIN, lifetime / 10)

    def fresh_enough(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) < self.renew_at


class TokenCache:
    def __init__(self, connection, cache_alias: str = "default"):
        self.cache = caches[cache_alias]
        fingerprint = hashlib.sha256(
            "|".join(
                (
                    connection.token_url,
                    # A token is used only where it was fetched for: a changed API URL or
                    # environment never receives the token cached for the old one.
                    connection.api_base_url,
                    connection.environment,
                    connection.audience,
                    connection.client_id,
                    connection.scopes,
                    connection.client_secret_encrypted,
                )
            ).encode()
        ).hexdigest()[:16]
        self.key = f"kiva:token:{connection.pk}:{fingerprint}"

    def get(self) -> Token | None:
        raw = self._cache("get", self.key)
        if not raw:
            return None
        try:
            token = Token(**json.loads(crypto.decrypt(raw)))
        except (crypto.DecryptionError, TypeError, ValueError):
            return None
        return token if token.fresh_enough() else None

    def put(self, token: Token) -> None:
        # Expire from the cache when renewal is due, so a stale token is never handed out.
        timeout = max(1, int(token.renew_at - time.time()))
        self._cache("set", self.key, crypto.encrypt(json.dumps(asdict(token))), timeout)

    def forget(self, token: Token) -> None:
        """Drop `token` after Kiva refused it, unless another process already replaced it."""
        current = self.get()
        if current is None or current.access_token == token.access_token:
            self._cache("delete", self.key)

    def _cache(self, operation, *args):
        """The cache's answer, or None when its server is unreachable: the token is an
        optimisation, so a cache outage (Redis stopped) costs a token request to Kiva, never
        a send: raised, the error would reach the send as an unknown outcome, and a record
        certainly not sent would wait for a person."""
        try:
            return getattr(self.cache, operation)(*args)
        except Exception:  # noqa: BLE001 - backends raise their own errors (redis, memcached)
            logger.warning("kiva token cache %s failed; going without it", operation, exc_info=True)
            return None
