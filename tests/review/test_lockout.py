"""Repeated failed logins lock the account out (django-axes), through the real login form."""

import pytest
from django.urls import reverse

from tests.factories import UserFactory


@pytest.mark.django_db
def test_repeated_failed_logins_lock_the_account_even_with_the_right_password(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    UserFactory(username="rosa")
    url = reverse("login")
    for _ in range(3):
        client.post(url, {"username": "rosa", "password": "wrong"})
    response = client.post(url, {"username": "rosa", "password": "secret-pass-123"})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_good_login_before_the_limit_succeeds(client):
    UserFactory(username="rosa")
    url = reverse("login")
    client.post(url, {"username": "rosa", "password": "wrong"})
    response = client.post(url, {"username": "rosa", "password": "secret-pass-123"})
    assert response.status_code == 302
    assert client.session["_auth_user_id"]
