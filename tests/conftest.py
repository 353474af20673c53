import pytest
from django.core.cache import cache

from tests.kiva.fixtures import kiva_sandbox  # noqa: F401 - shared with every test package


@pytest.fixture(autouse=True)
def _test_settings(settings, tmp_path):
    # Uploaded photos go to a per-test folder, never into the project tree.
    settings.MEDIA_ROOT = tmp_path / "media"
    # A fast hasher: the tests create many users; production keeps Django's default.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Cached Kiva tokens must not leak from one test into another.
    cache.clear()
    yield
    cache.clear()
