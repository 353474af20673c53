"""The whole Kiva connection against the real sandbox over a real socket: connect, test, sync
reference data, post a draft, a repayment batch and journals, and read them back."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.management import call_command

from integrations.kiva import payloads
from integrations.kiva.client import KivaClient
from integrations.kiva.sandbox.models import (
    SandboxJournal,
    SandboxLoan,
    SandboxPartner,
    SandboxRequest,
)
from integrations.kiva.sandbox.services import sandbox_loan_move
from integrations.kiva.services import connection_test, reference_sync
from kivaportal.lending.models import LoanType
from kivaportal.partners.models import RepaymentAmountRule, RepaymentCsvFormat
from kivaportal.reference.models import Activity, Locale, Location, Theme
from kivaportal.repayments.selectors import report_lines
from kivaportal.review.services import record_submit
from kivaportal.workflow.errors import BlockingErrors
from tests.factories import (
    BorrowerFactory,
    JournalFactory,
    LoanFactory,
    PartnerFactory,
    RepaymentFactory,
    RepaymentReportFactory,
    member,
)
from tests.kiva.fixtures import sandbox_partner

KIVA_LISTS = {
    "activities": [
        {"activity_id": 61, "activity": "Agriculture"},
        {"activity_id": 120, "activity": "General Store"},
    ],
    "themes": [{"theme_type_id": 3, "theme_type": "Women's Empowerment"}],
    "locales": [
        {"currency": "XOF", "language_code": "fr", "language_name": "Français", "language_id": 4}
    ],
    "locations": [{"country": "Senegal", "location": "Thiès", "full_name": "Thiès: Senegal"}],
}


@pytest.fixture
def setup(kiva_sandbox):
    partner = PartnerFactory(
        kiva_partner_id="9002",
        country="SN",
        default_currency="XOF",
        repayment_csv_format=RepaymentCsvFormat.THREE_COLUMNS,
        repayment_amount_rule=RepaymentAmountRule.CUMULATIVE_PRINCIPAL,
    )
    # The sandbox reads the three-column format from the partner, as PA2 holds it.
    sandboxed, connection = sandbox_partner(partner, kiva_sandbox.url, config=KIVA_LISTS)
    assert sandboxed.three_columns
    return partner, connection


def test_partner_syncs_and_sends_everything_to_a_running_sandbox_and_reads_it_back(setup):
    partner, connection = setup
    client = KivaClient(connection)

    # Test the connection, then sync Kiva's lists into the portal.
    assert connection_test(connection=connection, client=client).ok
    reference_sync(connection=connection, client=client)
    assert Activity.objects.filter(partner=partner).count() == 2
    activity = Activity.objects.get(partner=partner, kiva_id=120)

    # A group loan built on the synced reference data.
    people = [
        BorrowerFactory(partner=partner, mis_client_id=f"CSS-C{i}", first_name=n)
        for i, n in enumerate(("Awa", "Fatou"), start=1)
    ]
    loan = LoanFactory(
        partner=partner,
        mis_loan_id="CSS-L1",
        loan_type=LoanType.GROUP,
        group_name="Groupement Thiès",
        group_client_id="CSS-G1",
        amount=Decimal("400000"),
        currency="XOF",
        activity=activity,
        theme=Theme.objects.get(partner=partner),
        description_language=Locale.objects.get(partner=partner),
        location=Location.objects.get(partner=partner),
        borrowers=people,
    )
    draft = client.create_loan_draft(payloads.loan_draft(loan, connection=connection))
    draft_uuid = draft.data["loan_draft_uuid"]

    # The partner publishes the draft in PA2, lenders fund it, the partner disburses it; the
    # portal reads it back.
    sandbox_loan_move(loan=SandboxLoan.objects.get(uuid=draft_uuid), status="payingBack")
    [kiva_loan] = client.all_loans(query="CSS-L1")
    assert kiva_loan["uuid"] == draft_uuid
    assert kiva_loan["status"] == "payingBack" and kiva_loan["kiva_id"]
    assert kiva_loan["borrower_count"] == 2 and kiva_loan["loan_local_price"] == "400000"

    # A month of repayments, reported as the partner's rule says.
    RepaymentFactory(
        loan=loan,
        date=date(2026, 2, 10),
        amount=Decimal("110000"),
        principal=Decimal("100000"),
        interest=Decimal("10000"),
    )
    report = RepaymentReportFactory(partner=partner, month=date(2026, 2, 1))
    [batch] = payloads.repayment_batches(
        report_lines(report), partner=partner, batch_size=connection.repayment_batch_size
    )
    uploaded = client.post_repayments(batch)
    assert uploaded.data["upload_id"] and uploaded.data["problems"] == []
    received = SandboxRequest.objects.filter(path__endswith="/repayments").get()
    assert received.body == (
        '{"repayments": [{"loan_id": "CSS-L1", "client_id": "CSS-G1", "amount": 100000}]}'
    )

    # A journal, in the connection's style, answered with a confirm_url.
    journal = JournalFactory(loan=loan, partner=partner, borrower=people[0])
    item = payloads.journal_item(journal, partner=partner)
    answered = client.post_journals(payloads.journals_body([item], connection=connection))
    [confirm] = answered.data["journals"]
    assert confirm["confirm_url"].startswith(connection.api_base_url)
    assert SandboxJournal.objects.get().internal_client_id == "CSS-C1"

    # What "Kiva" received, in order: one token, four lists (test) and four (sync), ...
    paths = list(SandboxRequest.objects.order_by("id").values_list("path", flat=True))
    assert sum(p.endswith("oauth/token") for p in paths) == 1  # test's fresh token, reused
    assert paths[-3:] == [
        "/kiva-sandbox/v3/partner/9002/loans",
        "/kiva-sandbox/v3/partner/9002/repayments",
        "/kiva-sandbox/v3/partner/9002/journals",
    ]


def test_commands_connect_test_and_sync_a_partner_by_its_kiva_id(setup, monkeypatch, capsys):
    partner, connection = setup
    monkeypatch.setenv("KIVA_SECRET_FOR_TEST", "sandbox-test-secret/+&= ñ")
    call_command(
        "kiva_connect",
        partner="9002",
        environment="sandbox",
        client_id=connection.client_id,
        secret_env="KIVA_SECRET_FOR_TEST",
        token_url=connection.token_url,
        api_url=connection.api_base_url,
        audience=connection.audience,
        test=True,
    )
    call_command("kiva_sync_reference", partner="9002")

    out = capsys.readouterr().out
    assert "sandbox-test-secret" not in out
    assert "config/locations: 1 items" in out
    assert "Thiès: Senegal" in Location.objects.values_list("full_name", flat=True)


def test_a_loan_using_an_activity_kiva_retired_cannot_be_submitted_after_a_sync(setup):
    partner, connection = setup
    reference_sync(connection=connection)
    store = Activity.objects.get(partner=partner, kiva_id=120)
    loan = LoanFactory(
        partner=partner,
        currency="XOF",
        activity=store,
        theme=Theme.objects.get(partner=partner),
        description_language=Locale.objects.get(partner=partner),
        location=Location.objects.get(partner=partner),
    )
    preparer = member(partner)
    SandboxPartner.objects.filter(partner_id="9002").update(
        activities=[{"activity_id": 61, "activity": "Agriculture"}]
    )

    reference_sync(connection=connection)

    with pytest.raises(BlockingErrors) as refused:
        record_submit(record=loan, by=preparer)
    assert [(f.field, f.code) for f in refused.value.findings] == [("activity", "retired")]
