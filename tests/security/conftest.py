"""The hostile-insider suite runs on the demo data: partner A = Cooperativa Wiñay Kawsay
(Kiva id 9001), partner B = Crédit Solidaire du Sahel (9002), and the demo accounts
(`ana.preparer` is a preparer in both). Requests go through Django's test client with CSRF
checks on, as a browser's would."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client, override_settings

from kivaportal.partners.models import Partner
from tests.admin.admin_forms import form_data
from tests.demo.loading import demo_load_served


@pytest.fixture(scope="module")
def _demo_data(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo data, loaded once per module inside a transaction rolled back at its end; each
    test runs in a savepoint inside it (pytest-django's `db`), so tests cannot see each
    other's changes. Loading it per test would cost seconds each (it sends to the sandbox)."""
    media = tmp_path_factory.mktemp("media")
    with (
        django_db_blocker.unblock(),
        override_settings(
            MEDIA_ROOT=media, PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]
        ),
        transaction.atomic(),
    ):
        demo_load_served()  # sent to the sandbox, served for the load
        yield media
        transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_data, db, settings):
    settings.MEDIA_ROOT = _demo_data


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

    def admin_save(self, url, **changes):
        """Open an admin add/change page and post its form back as a browser would, with
        `changes` applied (None unticks a box or empties a field's value)."""
        page = self.get(url)
        assert page.status_code == 200, (url, page.status_code)
        data = form_data(page)
        for name, value in changes.items():
            if value is None:
                data.pop(name, None)
            else:
                data[name] = value
        data["csrfmiddlewaretoken"] = self.cookies["csrftoken"].value
        return self.post(url, data)

    def admin_action(self, changelist_url, action, ids):
        token = self.token(changelist_url)
        return self.post(
            changelist_url,
            {
                "action": action,
                "_selected_action": [str(i) for i in ids],
                "csrfmiddlewaretoken": token,
            },
        )


@pytest.fixture
def as_user(demo):
    def login(username):
        client = CsrfClient()
        client.force_login(user(username))
        return client

    return login
