import pytest


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    # Uploaded photos go to a per-test folder, never into the project tree.
    settings.MEDIA_ROOT = tmp_path / "media"
