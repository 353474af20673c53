import pytest
from django.core.cache import cache

from tests.kiva.fixtures import kiva_sandbox  # noqa: F401 - shared with every test package


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    # Uploaded photos go to a per-test folder, never into the project tree.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Cached Kiva tokens must not leak from one test into another.
    cache.clear()
    yield
    cache.clear()
