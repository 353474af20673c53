"""Staff work in Spanish and French: the pages and the check messages come in their language."""

import pytest
from django.urls import reverse
from django.utils import translation

from kivaportal.lending.checks import loan_findings
from tests.factories import LoanFactory


@pytest.mark.parametrize(("language", "text"), [("es", "Iniciar sesión"), ("fr", "Se connecter")])
def test_the_login_page_speaks_the_browsers_language(client, db, language, text):
    page = client.get(reverse("login"), headers={"accept-language": language})
    assert text in page.content.decode()


@pytest.mark.django_db
def test_stored_check_messages_show_in_the_readers_language():
    loan = LoanFactory(description="")
    [finding] = [f for f in loan_findings(loan) if f.field == "description"]
    with translation.override("es"):
        spanish = finding.message
    with translation.override("fr"):
        french = finding.message
    with translation.override("en"):
        english = finding.message
    assert len({spanish, french, english}) == 3
    assert "description" in spanish  # the field's name stays as Kiva's data calls it
