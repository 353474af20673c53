"""The hostile-insider suite runs on the demo data: partner A = Cooperativa Wiñay Kawsay
(Kiva id 9001), partner B = Crédit Solidaire du Sahel (9002), and the demo accounts
(`ana.preparer` is a preparer in both). Requests go through Django's test client with CSRF
checks on, as a browser's would."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from kivaportal.demo.services import demo_load
from kivaportal.partners.models import Partner


@pytest.fixture
def demo(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    demo_load()


@pytest.fixture
def partner_a(demo):
    return Partner.objects.get(kiva_partner_id="9001")


@pytest.fixture
def partner_b(demo):
    return Partner.objects.get(kiva_partner_id="9002")


def user(username):
    return get_user_model().objects.get(username=username)


class CsrfClient(Client):
    """A test client that enforces CSRF like a browser session: each POST carries the token
    read from the page the form came from (`get_form` then `post_form`)."""

    def __init__(self, **kwargs):
        super().__init__(enforce_csrf_checks=True, **kwargs)

    def token(self, url):
        response = self.get(url)
        assert response.status_code == 200, (url, response.status_code)
        found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', response.content)
        assert found, f"no CSRF token on {url}"
        return found.group(1).decode()

    def post_from(self, page_url, data, url=None, **kwargs):
        """POST `data` to `url` (default: the page itself) with the CSRF token of `page_url`."""
        data = {**data, "csrfmiddlewaretoken": self.token(page_url)}
        return self.post(url or page_url, data, **kwargs)


@pytest.fixture
def as_user(demo):
    def login(username):
        client = CsrfClient()
        client.force_login(user(username))
        return client

    return login
