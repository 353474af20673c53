import pytest
from django.core.cache import cache
from django.utils import translation

from tests.kiva.fixtures import kiva_sandbox  # noqa: F401 - shared with every test package


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Uploaded photos go to a per-test folder, never into the project tree.
    settings.MEDIA_ROOT = tmp_path / "media"
    # A fast hasher: the tests create many users; production keeps Django's default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Kiva stand-ins of the tests (`responses` on .kiva.test): allowed as Kiva's hosts.
    settings.KIVA_ALLOWED_HOSTS = [*settings.KIVA_ALLOWED_HOSTS, ".kiva.test"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Cached Kiva tokens must not leak from one test into another.
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _english():
    # A test-client request in another language leaves it active in the thread (LocaleMiddleware
    # activates it and nothing resets it), and later tests would read French messages.
    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture
def without_partner_guard(db):
    """For tests of the checks that name a link to another partner's row: the database refuses
    such rows on PostgreSQL (partners/migrations/0002_partner_isolation), so these tests turn
    the guard off inside their own transaction (rolled back with it). The checks still matter
    for data written before the guard, and on SQLite."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for table in (
                "repayments_repayment",
                "journals_journal",
                "lending_loan",
                "lending_loanborrower",
            ):
                cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER kp_same_partner")
