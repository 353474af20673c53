"""Encryption at rest for the few secrets the portal must keep (a Kiva client secret).

Fernet (AES-128-CBC with HMAC-SHA256) with the key from PORTAL_ENCRYPTION_KEY. Several keys may
be given for rotation: the first encrypts, every one decrypts. Development without a key derives
one from SECRET_KEY so the portal runs with no setup; production refuses to encrypt or decrypt
without its own key, so a secret is never protected by a key that lives in the code.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class DecryptionError(Exception):
    """The stored value was encrypted with a key the portal no longer has."""


def _fernet() -> MultiFernet:
    keys = [k for k in settings.PORTAL_ENCRYPTION_KEY if k]
    if not keys:
        if settings.PRODUCTION:
            raise ImproperlyConfigured(
                "PORTAL_ENCRYPTION_KEY is required in production (see docs/configuration.md)."
            )
        digest = hashlib.sha256(f"portal-encryption:{settings.SECRET_KEY}".encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "PORTAL_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64-encoded bytes)."
        ) from exc


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "Cannot decrypt: the value was encrypted with another PORTAL_ENCRYPTION_KEY."
        ) from exc
