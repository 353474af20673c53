"""The demo data: two invented partners with a user per role, loans in several states,
repayments over several months; loading it twice duplicates nothing; never in production."""

from io import StringIO

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import override_settings

from kivaportal.journals.models import Journal
from kivaportal.lending.checks import loan_findings
from kivaportal.lending.models import Borrower, Loan, LoanBorrower, LoanType, ScheduleLine
from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Role
from kivaportal.reference.models import Activity, Locale, Location, Theme
from kivaportal.repayments.models import Repayment, RepaymentReport

pytestmark = pytest.mark.django_db

NAMED_MODELS = (
    Partner,
    get_user_model(),
    Membership,
    Borrower,
    Loan,
    LoanBorrower,
    ScheduleLine,
    Repayment,
    RepaymentReport,
    Journal,
    Activity,
    Theme,
    Locale,
    Location,
)


def load_demo():
    out = StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def counts():
    """Rows of every model of the project, history tables aside (they grow with every save)."""
    return {
        model._meta.label: model._default_manager.count()
        for model in apps.get_models()
        if not model._meta.model_name.startswith("historical")
    }


@pytest.fixture
def demo():
    load_demo()


def test_loading_the_demo_twice_duplicates_nothing():
    load_demo()
    first = counts()
    load_demo()

    assert counts() == first
    for model in NAMED_MODELS:
        assert first[model._meta.label] > 0, model._meta.label


def test_demo_command_says_how_to_log_in():
    output = load_demo()

    assert "kiva-demo-2026" in output
    assert "ana.preparer" in output


def test_demo_has_two_partners_with_a_user_per_role(demo):
    assert Partner.objects.count() == 2
    for partner in Partner.objects.all():
        roles = set(
            Membership.objects.filter(partner=partner, is_active=True).values_list(
                "role", flat=True
            )
        )
        assert roles == {Role.PREPARER, Role.REVIEWER, Role.PARTNER_ADMIN}, partner
    assert get_user_model().objects.filter(is_superuser=True).exists()


def test_demo_has_individual_and_group_loans_in_several_states(demo):
    for partner in Partner.objects.all():
        loans = Loan.objects.filter(partner=partner)
        assert set(loans.values_list("loan_type", flat=True)) == {
            LoanType.INDIVIDUAL,
            LoanType.GROUP,
        }
        assert loans.values("state").distinct().count() >= 4
    assert Borrower.objects.count() >= 24


def test_demo_has_repayments_over_at_least_three_months(demo):
    for partner in Partner.objects.all():
        months = {
            d.replace(day=1)
            for d in Repayment.objects.filter(partner=partner).dates("date", "month")
        }
        assert len(months) >= 3, partner


def test_demo_has_journals_and_reference_data_for_each_partner(demo):
    for partner in Partner.objects.all():
        assert Journal.objects.filter(partner=partner).exists()
        for model in (Activity, Theme, Locale, Location):
            assert model.objects.filter(partner=partner).exists(), (partner, model)


def test_every_complete_demo_loan_passes_the_checks_without_errors(demo):
    loans = Loan.objects.exclude(description="")  # drafts left incomplete on purpose
    assert loans.count() > 40

    errors = {loan.mis_loan_id: [f for f in loan_findings(loan) if f.is_error] for loan in loans}

    assert {mis_id: found for mis_id, found in errors.items() if found} == {}


def test_incomplete_demo_drafts_show_warnings_but_no_errors(demo):
    incomplete = Loan.objects.filter(description="")
    assert incomplete.exists()

    for loan in incomplete:
        findings = loan_findings(loan)
        assert [f for f in findings if f.is_error] == [], loan.mis_loan_id
        assert {"description", "loan_use"} <= {f.field for f in findings}, loan.mis_loan_id


def test_demo_refuses_to_load_in_production_and_writes_nothing():
    before = counts()

    with override_settings(PRODUCTION=True), pytest.raises(CommandError, match="PORTAL_PRODUCTION"):
        load_demo()

    assert counts() == before
    assert Partner.objects.count() == 0


def test_reloading_the_demo_writes_no_history():
    history = [m for m in apps.get_models() if m._meta.model_name.startswith("historical")]
    load_demo()
    first = {model._meta.label: model.objects.count() for model in history}

    load_demo()

    assert {model._meta.label: model.objects.count() for model in history} == first


def test_the_demo_tells_the_address_make_run_serves():
    out = StringIO()
    call_command("load_demo", "--url", "http://127.0.0.1:8731", stdout=out)
    assert "Open http://127.0.0.1:8731/ and log in" in out.getvalue()
    assert "http://127.0.0.1:8731/admin/" in out.getvalue()
    assert ":8000" not in out.getvalue()
