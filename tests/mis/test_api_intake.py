"""Kiva-shaped JSON lands as drafts; re-posting updates, or opens a new version, never
duplicates; bad input is refused whole with each JSON field named."""

import base64
import copy
import io
import json
from decimal import Decimal

import pytest
from PIL import Image

from kivaportal.journals.models import Journal
from kivaportal.lending.models import Borrower, Loan, LoanAtKiva, LoanType
from kivaportal.partners.roles import Role
from kivaportal.repayments.models import Repayment
from kivaportal.review.services import record_approve
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState
from tests.factories import KivaConnectionFactory, LoanFactory, api_key, member
from tests.mis.api import LOAN_DRAFT, post


@pytest.fixture
def owner(partner):
    """The member accountable for the key: what it posts is theirs."""
    return member(partner, Role.PREPARER)


@pytest.fixture
def key(partner, owner):
    row, full = api_key(partner, owner=owner)
    return full


@pytest.fixture
def prefix(key):
    return key.split("_")[1]


def draft(**changes):
    body = copy.deepcopy(LOAN_DRAFT)
    body.update(changes)
    return body


def test_a_kiva_loan_draft_lands_as_a_draft_by_the_keys_owner(client, partner, key, prefix, owner):
    response = post(client, "loan_draft", LOAN_DRAFT, key=key)
    assert response.status_code == 200, response.json()
    body = response.json()
    loan = Loan.objects.get(mis_loan_id="L100")
    assert body["loan"] == {
        "portal_id": loan.pk,
        "mis_loan_id": "L100",
        "state": "draft",
        "version": 1,
        "action": "create",
        "changed": [],
        "review_url": f"http://testserver/p/{partner.pk}/loans/{loan.pk}/",
    }
    assert "loan_draft_uuid" not in body  # Kiva's name for Kiva's draft, which this is not
    assert (loan.state, loan.amount, loan.currency, loan.loan_type) == (
        RecordState.DRAFT,
        Decimal("1200.00"),
        "PEN",
        LoanType.INDIVIDUAL,
    )
    assert (loan.activity.kiva_id, loan.theme.kiva_id, loan.location.full_name) == (
        7120,
        7007,
        "Pisac: Peru",
    )
    assert loan.created_by == owner and loan.updated_by == owner
    share = loan.loan_borrowers.get()
    assert (share.borrower.mis_client_id, share.borrower.first_name) == ("C100", "Rosa")
    assert share.mis_loan_id == ""  # the loan's own id
    assert [(line.principal, line.interest) for line in loan.schedule.all()] == [
        (Decimal("600"), Decimal("20")),
        (Decimal("600"), Decimal("10")),
    ]
    entry = AuditEntry.objects.get(object_id=loan.pk)
    assert (entry.action, entry.actor, entry.data) == (
        "intake.imported",
        owner,
        {"api_key": prefix},
    )


def test_a_group_loan_draft_with_kivas_group_fields(client, partner, key):
    body = draft(
        group_name="Las Rosas",
        internal_client_id="G7",
        internal_loan_id="GL7",
        not_pictured=[False, True],
        entreps=[
            {
                "first_name": "Ana",
                "last_name": "Q",
                "gender": "female",
                "amount": 500,
                "client_id": "C201",
                "loan_id": "GL7-1",
            },
            {
                "first_name": "Eva",
                "last_name": "R",
                "gender": "female",
                "amount": 700,
                "client_id": "C202",
                "loan_id": "GL7-2",
            },
        ],
    )
    response = post(client, "loan_draft", body, key=key)
    assert response.status_code == 200, response.json()
    loan = Loan.objects.get(mis_loan_id="GL7")
    assert (loan.loan_type, loan.group_name, loan.group_client_id, loan.amount) == (
        LoanType.GROUP,
        "Las Rosas",
        "G7",
        Decimal("1200"),
    )
    assert [
        (s.borrower.mis_client_id, s.mis_loan_id, s.not_pictured, s.position)
        for s in loan.loan_borrowers.all()
    ] == [("C201", "GL7-1", False, 0), ("C202", "GL7-2", True, 1)]


def test_the_submit_flag_submits_for_review_and_a_reviewer_approves(client, partner, key, owner):
    response = post(client, "loan_draft?submit=true", LOAN_DRAFT, key=key)
    assert response.status_code == 200, response.json()
    assert response.json()["loan"]["state"] == "submitted"
    loan = Loan.objects.get()
    submitted = AuditEntry.objects.get(action="review.submitted")
    assert submitted.actor == owner and "api_key" in submitted.data
    reviewer = member(partner, Role.REVIEWER)
    KivaConnectionFactory(partner=partner)  # approval writes the outbox for this connection
    # Approved, and queued for Kiva in the same transaction.
    assert record_approve(record=loan, by=reviewer).state == RecordState.QUEUED


def test_the_keys_owner_cannot_approve_what_the_key_posted(client, partner):
    from kivaportal.workflow.errors import FourEyesViolation

    admin = member(partner, Role.PARTNER_ADMIN)
    _row, full = api_key(partner, owner=admin)
    response = post(client, "loan_draft?submit=true", LOAN_DRAFT, key=full)
    assert response.status_code == 200, response.json()
    with pytest.raises(FourEyesViolation):
        record_approve(record=Loan.objects.get(), by=admin)


def test_the_submit_flag_with_blocking_errors_refuses_everything(client, partner, key):
    body = draft(schedule=[{"date": "2026-01-05", "principal": 1200}])  # before disbursal
    response = post(client, "loan_draft?submit=true", body, key=key)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["disbursal_date"]
    assert Loan.objects.count() == 0 and Borrower.objects.filter(mis_client_id="C100").count() == 0


def test_reposting_a_draft_updates_it_in_place(client, partner, key):
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    response = post(client, "loan_draft", draft(loanuse="To buy two carts."), key=key)
    assert response.json()["loan"]["action"] == "update"
    assert response.json()["loan"]["changed"] == ["loan_use"]
    assert Loan.objects.count() == 1
    loan = Loan.objects.get()
    assert (loan.loan_use, loan.version) == ("To buy two carts.", 1)
    edited = AuditEntry.objects.get(action="review.edited")
    assert edited.actor == loan.created_by and edited.data["fields"] == ["loan_use"]


def test_reposting_the_same_draft_changes_nothing(client, partner, key):
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    counts = (AuditEntry.objects.count(), Loan.history.count(), Borrower.history.count())
    response = post(client, "loan_draft", LOAN_DRAFT, key=key)
    assert response.json()["loan"]["action"] == "unchanged"
    assert (AuditEntry.objects.count(), Loan.history.count(), Borrower.history.count()) == counts


def test_reposting_a_sent_loan_opens_a_new_version_of_the_same_row(client, partner, key, prefix):
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    Loan.objects.update(state=RecordState.SENT)
    response = post(client, "loan_draft", draft(description="Corrected story."), key=key)
    assert response.status_code == 200
    assert response.json()["loan"]["action"] == "new_version"
    loan = Loan.objects.get()
    assert (loan.state, loan.version, loan.description) == ("draft", 2, "Corrected story.")
    new_version = AuditEntry.objects.get(action="review.new_version")
    assert new_version.data == {"api_key": prefix}
    assert (new_version.from_state, new_version.to_state) == ("sent", "draft")


@pytest.mark.parametrize("state", ["queued", "sending", "needs_attention", "withdrawn"])
def test_reposting_a_loan_being_sent_is_a_conflict(client, partner, key, state):
    post(client, "loan_draft", LOAN_DRAFT, key=key)
    Loan.objects.update(state=state)
    response = post(client, "loan_draft", draft(description="Changed."), key=key)
    assert response.status_code == 409
    error = response.json()["errors"][0]
    assert (error["field"], error["code"]) == ("entreps[0].loan_id", "conflict")
    assert "L100" in error["message"]
    assert Loan.objects.get().description == LOAN_DRAFT["description"]


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"activity_id": 999}, ["activity_id"]),
        ({"activity_id": "many"}, ["activity_id"]),
        ({"disburse_time": "10/01/2026"}, ["disburse_time"]),
        ({"currency": "soles"}, ["currency"]),
        ({"entreps": []}, ["entreps"]),
        ({"schedule": [{"date": "2026-02-10", "principal": 1000}]}, ["schedule"]),
        ({"schedule": [{"date": "2026-02-10", "principal": -1200}]}, ["schedule[0].principal"]),
        ({"schedule": "monthly"}, ["schedule"]),
        ({"image_encoded": "not base64!"}, ["image_encoded"]),
        ({"not_pictured": [True]}, ["not_pictured[0]"]),
    ],
)
def test_bad_loan_drafts_are_refused_naming_each_field(client, partner, key, changes, fields):
    response = post(client, "loan_draft", draft(**changes), key=key)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == fields
    assert Loan.objects.count() == 0
    assert not Borrower.objects.filter(mis_client_id="C100").exists()


def test_a_negative_borrower_amount_is_named_by_its_entrep(client, partner, key):
    body = draft()
    body["entreps"][0]["amount"] = "-5"
    response = post(client, "loan_draft", body, key=key)
    assert {e["field"] for e in response.json()["errors"]} >= {"entreps[0].amount"}
    assert Loan.objects.count() == 0


def test_a_photo_arrives_as_image_encoded(client, partner, key):
    out = io.BytesIO()
    Image.new("RGB", (8, 6), "green").save(out, "JPEG")
    encoded = "data:image/jpeg;base64," + base64.b64encode(out.getvalue()).decode()
    response = post(client, "loan_draft", draft(image_encoded=encoded), key=key)
    assert response.status_code == 200, response.json()
    loan = Loan.objects.get()
    assert loan.photo.name.endswith(".jpg")
    # The importer makes the photo's scaled copies as an upload in the admin does.
    assert loan.photo_copies_of == loan.photo.name and loan.photo_kiva and loan.photo_page
    again = post(client, "loan_draft", draft(image_encoded=encoded), key=key)
    assert again.json()["loan"]["action"] == "unchanged"


def test_repayments_in_kivas_shape_are_recorded_once(client, partner, key):
    LoanFactory(partner=partner, mis_loan_id="L1")
    body = {"date": "2026-02-28", "repayments": [{"loan_id": "L1", "amount": 25.5}]}
    response = post(client, "repayments", body, key=key)
    assert response.status_code == 200, response.json()
    assert response.json()["created"] == 1
    again = post(client, "repayments", body, key=key)
    assert again.json()["unchanged"] == 1
    repayment = Repayment.objects.get()
    assert (repayment.mis_repayment_id, repayment.amount, str(repayment.date)) == (
        "L1:2026-02-28",
        Decimal("25.5"),
        "2026-02-28",
    )


def test_a_bad_repayment_refuses_the_whole_call(client, partner, key):
    LoanFactory(partner=partner, mis_loan_id="L1")
    body = {
        "repayments": [
            {"loan_id": "L1", "amount": 10, "repayment_id": "T1"},
            {"loan_id": "L1", "amount": -3, "repayment_id": "T2"},
            {"loan_id": "L1", "amount": 4, "repayment_id": "T1"},
        ]
    }
    response = post(client, "repayments", body, key=key)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [
        "repayments[1].amount",
        "repayments[2].repayment_id",
    ]
    assert Repayment.objects.count() == 0


def test_journals_in_both_of_kivas_shapes_and_the_submit_flag(client, partner, key):
    loan = LoanFactory(partner=partner, mis_loan_id="L1")
    # Journals are only for loans Kiva has published (a blocking check on submit).
    LoanAtKiva.objects.create(loan=loan, kiva_id=2_000_001, status="payingBack")
    item = {"internal_loan_id": "L1", "subject": "Growing", "body": "Rosa sells more."}
    assert post(client, "journals", {"journals": [item]}, key=key).status_code == 200
    again = post(client, "journals?submit=true", [item], key=key)
    assert again.status_code == 200, again.json()
    journal = Journal.objects.get()
    assert journal.state == RecordState.SUBMITTED
    changed = post(client, "journals", [{**item, "body": "Rosa sells much more."}], key=key)
    assert changed.json()["updated"] == 1
    journal.refresh_from_db()
    assert (journal.state, journal.body, Journal.objects.count()) == (
        "draft",
        "Rosa sells much more.",
        1,
    )


def test_borrower_upsert(client, partner, key):
    body = {
        "borrowers": [
            {"client_id": "C1", "first_name": "Rosa", "last_name": "Nueva", "gender": "female"},
            {
                "client_id": "C9",
                "first_name": "Luis",
                "last_name": "Paz",
                "gender": "male",
                "birth_date": "1990-04-01",
                "city": "Cusco",
            },
        ]
    }
    response = post(client, "borrowers", body, key=key)
    assert response.status_code == 200, response.json()
    assert (response.json()["created"], response.json()["updated"]) == (1, 1)
    assert Borrower.objects.get(mis_client_id="C1").last_name == "Nueva"
    assert str(Borrower.objects.get(mis_client_id="C9").birth_date) == "1990-04-01"


def test_a_body_over_the_limit_is_refused_unread(client, partner, key, settings):
    settings.INTAKE_API_MAX_BODY_BYTES = 100
    response = post(client, "loan_draft", LOAN_DRAFT, key=key)
    assert response.status_code == 413
    assert Loan.objects.count() == 0


def test_a_body_that_is_not_json_is_refused(client, partner, key):
    assert post(client, "loan_draft", b"{not json", key=key).status_code == 400
    assert post(client, "loan_draft", b'{"a": NaN}', key=key).status_code == 400
    assert post(client, "loan_draft", b"[" * 100_000, key=key).status_code == 400
    form = client.post(
        "/api/intake/v1/loan_draft", data={"a": 1}, HTTP_AUTHORIZATION=f"Bearer {key}"
    )
    assert form.status_code == 415


def test_amounts_sent_as_json_numbers_stay_exact(client, partner, key):
    body = json.dumps(draft(schedule=None)).replace('"1200.00"', "1200.10")
    body = json.loads(body)
    del body["schedule"]
    response = post(client, "loan_draft", body, key=key)
    assert response.status_code == 200, response.json()
    assert Loan.objects.get().amount == Decimal("1200.10")


def test_the_openapi_description_is_served(client):
    response = client.get("/api/intake/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.")
    kiva = "/v3/partner/{partnerId}/"
    assert set(spec["paths"]) == {
        "/oauth/token",
        *(f"{kiva}{name}" for name in ("loan_draft", "repayments", "journals", "borrowers")),
        *(f"{kiva}config/{name}" for name in ("activities", "locales", "themes", "locations")),
        f"{kiva}loans",
    }
    for path, operations in spec["paths"].items():  # each described path is served
        url = "/api/intake/v1" + path.replace("{partnerId}", "145")
        for method in operations:
            answer = getattr(client, method)(url)
            assert answer.status_code in (400, 401), (method, path, answer.status_code)


def test_the_api_docs_page_uses_local_static_files_only(client):
    page = client.get("/api/intake/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-spec="/api/intake/v1/openapi.json"' in html
    sources = [part.split('"')[0] for part in html.split('src="')[1:]]
    sources += [part.split('"')[0] for part in html.split('href="')[1:]]
    assert sources and all(src.startswith("/static/") for src in sources), sources
    for src in sources:  # each file is there to serve
        from django.contrib.staticfiles import finders

        assert finders.find(src.removeprefix("/static/")), src


def test_the_described_bodies_are_the_importers_columns():
    from integrations.mis import api_mapping
    from integrations.mis.importers.journals import COLUMNS as JOURNAL_COLUMNS
    from integrations.mis.importers.repayments import COLUMNS as REPAYMENT_COLUMNS
    from integrations.mis.openapi import SCHEMAS

    journal = SCHEMAS["Journals"]["oneOf"][0]["properties"]["journals"]["items"]
    assert set(api_mapping.JOURNAL_FIELDS) <= set(journal["properties"])
    body = next(c for c in JOURNAL_COLUMNS if c.name == "body")
    assert journal["properties"]["body"]["maxLength"] == body.parse.max_length
    line = SCHEMAS["Repayments"]["properties"]["repayments"]["items"]
    assert set(api_mapping.REPAYMENT_FIELDS) == set(line["properties"])
    assert line["required"] == [
        kiva
        for kiva, column in api_mapping.REPAYMENT_FIELDS.items()
        if next(c for c in REPAYMENT_COLUMNS if c.name == column).required
        and kiva not in ("repayment_id", "date")
    ]
    assert set(api_mapping.LOAN_KNOWN) == set(SCHEMAS["LoanDraft"]["properties"])
