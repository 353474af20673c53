"""*Changes requested*: a state of its own (issue 13, item 2). A reviewer sends a submitted
record back with a comment; its preparer edits it (it stays returned) and resubmits it; the
comment shows at the top of the record until then; the dashboard lists what was returned to
whom. Every path: review pages, bulk actions, the admin, intake by file and by API."""

import pytest
from django.urls import reverse

from kivaportal.review import services
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.errors import FourEyesViolation, IllegalTransition
from kivaportal.workflow.models import SUBMIT_STATES, AuditEntry, Reviewable, transition_sources
from kivaportal.workflow.states import EDITABLE_STATES, state_label
from kivaportal.workflow.states import RecordState as S
from tests.admin.admin_forms import admin_url, form_data, form_errors
from tests.factories import JournalFactory, RepaymentReportFactory

pytestmark = pytest.mark.django_db

COMMENT = "The photo is blurred: take it again in daylight."


def record_page(client, partner, record, kind="loans"):
    return client.get(reverse("review:record", args=[partner.pk, kind, record.pk]))


def returned(make_loan, reviewer, **kwargs):
    loan = make_loan(state=S.SUBMITTED, **kwargs)
    return services.record_request_changes(record=loan, by=reviewer, comment=COMMENT)


# --- the table --------------------------------------------------------------------------


def test_the_table_returns_to_the_preparer_and_back_to_review():
    assert transition_sources(Reviewable.request_changes) == {S.SUBMITTED}
    assert set(SUBMIT_STATES) == {S.DRAFT, S.CHANGES_REQUESTED}
    assert S.CHANGES_REQUESTED in EDITABLE_STATES
    assert S.CHANGES_REQUESTED in transition_sources(Reviewable.withdraw)
    # Approval only from submitted: a returned record is reviewed again after resubmission.
    assert transition_sources(Reviewable.approve) == {S.SUBMITTED}
    # Editing a returned record keeps it there: it is not a source of "reopen".
    assert S.CHANGES_REQUESTED not in transition_sources(Reviewable.reopen)


def test_its_label_is_translated():
    from django.utils import translation

    with translation.override("es"):
        label = state_label(S.CHANGES_REQUESTED)
    assert label and label != "changes_requested"


@pytest.mark.parametrize("kind", ["journal", "report"])
def test_every_kind_of_record_can_be_returned_and_resubmitted(
    kind, make_loan, partner, preparer, reviewer
):
    people = {"partner": partner, "state": S.SUBMITTED, "created_by": preparer}
    people["updated_by"] = preparer
    if kind == "journal":
        record = JournalFactory(loan=make_loan(state=S.SENT), **people)
    else:
        record = RepaymentReportFactory(**people)
    record = services.record_request_changes(record=record, by=reviewer, comment=COMMENT)
    assert record.state == S.CHANGES_REQUESTED
    record = services.record_submit(record=record, by=preparer)
    assert record.state == S.SUBMITTED


# --- the services -----------------------------------------------------------------------


def test_edit_keeps_it_returned_and_resubmit_sends_it_back_to_review(make_loan, preparer, reviewer):
    loan = returned(make_loan, reviewer)
    loan.loan_use = "To buy seeds."
    loan.save()
    loan = services.record_edited(record=loan, by=preparer, changed_fields=["loan_use"])
    assert loan.state == S.CHANGES_REQUESTED
    loan = services.record_submit(record=loan, by=preparer)
    assert loan.state == S.SUBMITTED
    moves = list(
        AuditEntry.objects.filter(object_id=loan.pk)
        .order_by("id")
        .values_list("action", "from_state", "to_state")
    )
    assert moves == [
        (AuditAction.CHANGES_REQUESTED, "submitted", "changes_requested"),
        (AuditAction.EDITED, "changes_requested", "changes_requested"),
        (AuditAction.SUBMITTED, "changes_requested", "submitted"),
    ]
    # Another reviewer approves the resubmitted record.
    assert services.record_approve(record=loan, by=reviewer).state == S.QUEUED


def test_a_returned_record_cannot_be_approved_before_it_is_resubmitted(
    make_loan, reviewer, partner
):
    loan = returned(make_loan, reviewer)
    with pytest.raises(IllegalTransition, match="is changes requested"):
        services.record_approve(record=loan, by=reviewer)


def test_four_eyes_still_holds_after_a_resubmission(make_loan, partner, partner_admin, reviewer):
    loan = returned(make_loan, reviewer, by=partner_admin)
    loan = services.record_submit(record=loan, by=partner_admin)
    with pytest.raises(FourEyesViolation):
        services.record_approve(record=loan, by=partner_admin)


def test_a_returned_record_can_be_withdrawn(make_loan, preparer, reviewer):
    loan = returned(make_loan, reviewer)
    assert services.record_withdraw(record=loan, by=preparer).state == S.WITHDRAWN


# --- the pages ---------------------------------------------------------------------------


def test_the_comment_is_at_the_top_of_the_record_until_it_is_resubmitted(
    client, make_loan, partner, preparer, reviewer
):
    loan = returned(make_loan, reviewer)
    client.force_login(preparer)
    html = record_page(client, partner, loan).content.decode()
    top = html.index('id="changes-requested"')
    assert COMMENT in html[top : html.index("</section>", top)]
    # Before the actions, the checks and everything else of the record.
    assert top < html.index('id="h-actions"') < html.index('id="h-checks"')
    assert 'class="state state-changes_requested">Changes requested<' in html
    assert "Resubmit for review" in html

    response = client.post(
        reverse("review:act", args=[partner.pk, "loans", loan.pk]), {"action": "submit"}
    )
    assert response.status_code == 302
    html = record_page(client, partner, loan).content.decode()
    assert 'id="changes-requested"' not in html
    assert COMMENT in html  # still in the history


def test_request_changes_from_the_page_needs_the_comment(client, make_loan, partner, reviewer):
    loan = make_loan(state=S.SUBMITTED)
    client.force_login(reviewer)
    url = reverse("review:act", args=[partner.pk, "loans", loan.pk])
    page = client.post(url, {"action": "request_changes", "comment": " "}, follow=True)
    assert "comment is required" in page.content.decode()
    loan.refresh_from_db()
    assert loan.state == S.SUBMITTED
    client.post(url, {"action": "request_changes", "comment": COMMENT})
    loan.refresh_from_db()
    assert loan.state == S.CHANGES_REQUESTED


def test_the_queue_filters_returned_records_and_bulk_submit_resubmits_them(
    client, make_loan, partner, preparer, reviewer
):
    back = returned(make_loan, reviewer)
    make_loan(state=S.DRAFT)
    make_loan(state=S.SUBMITTED)
    client.force_login(preparer)
    queue = reverse("review:queue", args=[partner.pk, "loans"])
    page = client.get(queue, {"state": "changes_requested"})
    assert [r.pk for r in page.context["page"]] == [back.pk]
    assert f'name="ids" value="{back.pk}"' in page.content.decode()  # selectable to resubmit

    client.post(reverse("review:bulk_submit", args=[partner.pk, "loans"]), {"ids": [back.pk]})
    back.refresh_from_db()
    assert back.state == S.SUBMITTED


def test_the_dashboard_counts_returned_records_and_lists_them_for_their_preparer(
    client, make_loan, partner, preparer, reviewer, partner_admin
):
    mine = returned(make_loan, reviewer)
    theirs = returned(make_loan, reviewer, by=partner_admin)
    make_loan(state=S.SUBMITTED)
    dashboard = reverse("review:dashboard", args=[partner.pk])

    client.force_login(preparer)
    response = client.get(dashboard)
    loans = next(s for s in response.context["summaries"] if s.slug == "loans")
    assert loans.counts["changes_requested"] == 2
    assert [(r.slug, [x.pk for x in r.records], r.count) for r in response.context["returned"]] == [
        ("loans", [mine.pk], 1)
    ]
    html = response.content.decode()
    assert "Returned to me" in html
    assert str(mine) in html and str(theirs) not in html.split('id="h-returned-to-me"')[1][:2000]

    client.force_login(reviewer)
    assert client.get(dashboard).context["returned"] == []


def test_the_returned_list_shows_only_the_users_partner(
    client, make_loan, partner, other_partner, reviewer
):
    from kivaportal.partners.roles import Role
    from tests.factories import LoanFactory, MembershipFactory, member

    both = member(partner, Role.PREPARER, username="both")
    MembershipFactory(user=both, partner=other_partner, role=Role.PREPARER)
    returned(make_loan, reviewer, by=both)
    elsewhere = LoanFactory(
        partner=other_partner, state=S.CHANGES_REQUESTED, created_by=both, updated_by=both
    )
    client.force_login(both)
    response = client.get(reverse("review:dashboard", args=[partner.pk]))
    shown = [x.pk for r in response.context["returned"] for x in r.records]
    assert elsewhere.pk not in shown and len(shown) == 1


# --- the admin ------------------------------------------------------------------------------


def test_editing_a_returned_record_in_the_admin_keeps_it_returned(
    client, make_loan, preparer, reviewer
):
    loan = returned(make_loan, reviewer)
    client.force_login(preparer)
    url = admin_url("lending", "loan", "change", loan.pk)
    data = form_data(client.get(url))
    data["loan_use"] = "To buy seeds and a better cart."
    response = client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    loan.refresh_from_db()
    assert (loan.state, loan.loan_use) == (S.CHANGES_REQUESTED, "To buy seeds and a better cart.")
    assert AuditEntry.objects.filter(
        object_id=loan.pk, action=AuditAction.EDITED, actor=preparer
    ).exists()


def test_the_admin_action_resubmits_a_returned_record(client, make_loan, preparer, reviewer):
    loan = returned(make_loan, reviewer)
    client.force_login(preparer)
    client.post(
        reverse("admin:lending_loan_changelist"),
        {"action": "submit_selected", "_selected_action": [loan.pk]},
    )
    loan.refresh_from_db()
    assert loan.state == S.SUBMITTED


# --- the data migration ----------------------------------------------------------------------


def test_the_migration_moves_drafts_whose_last_move_was_a_request_for_changes(
    make_loan, preparer, reviewer
):
    from django.apps import apps

    from kivaportal.workflow.migration_ops import drafts_returned_to_changes_requested
    from kivaportal.workflow.transitions import audit_record

    def history(*moves):
        loan = make_loan(state=S.DRAFT)
        for action, before, after in moves:
            audit_record(
                record=loan, actor=reviewer, action=action, from_state=before, to_state=after
            )
        return loan

    submitted = (AuditAction.SUBMITTED, "draft", "submitted")
    back = (AuditAction.CHANGES_REQUESTED, "submitted", "draft")  # as it was before the state
    edited = (AuditAction.EDITED, "draft", "draft")
    reopened = (AuditAction.RETURNED_TO_DRAFT, "submitted", "draft")
    returned_only = history(submitted, back)
    returned_then_edited = history(submitted, back, edited)
    returned_then_reopened = history(submitted, back, submitted, reopened)
    never_returned = history(submitted, reopened)

    forwards, backwards = drafts_returned_to_changes_requested("lending", "Loan")
    forwards(apps, None)

    def state(loan):
        loan.refresh_from_db()
        return loan.state

    assert [
        state(loan)
        for loan in (returned_only, returned_then_edited, returned_then_reopened, never_returned)
    ] == [S.CHANGES_REQUESTED, S.CHANGES_REQUESTED, S.DRAFT, S.DRAFT]
    backwards(apps, None)
    assert state(returned_only) == S.DRAFT


def test_an_admin_edit_that_loses_the_race_with_the_pipeline_is_refused_not_a_500(
    client, make_loan, preparer, monkeypatch
):
    """The form opened while the loan was approved; a worker queues it before the save reaches
    `record_edited`: the whole save is rolled back and the person told why."""
    from kivaportal.lending.admin import LoanAdmin
    from kivaportal.lending.models import Loan

    loan = make_loan(state=S.APPROVED, loan_use="To buy wool.")
    client.force_login(preparer)
    url = admin_url("lending", "loan", "change", loan.pk)
    data = form_data(client.get(url))
    data["loan_use"] = "To buy wool and dyes."
    save_model = LoanAdmin.save_model

    def worker_takes_it(self, request, obj, form, change):
        Loan.objects.filter(pk=obj.pk).update(state=S.QUEUED)
        save_model(self, request, obj, form, change)

    monkeypatch.setattr(LoanAdmin, "save_model", worker_takes_it)
    response = client.post(url, data, follow=True)

    assert response.status_code == 200
    assert "read-only" in response.content.decode()
    loan.refresh_from_db()
    assert (loan.state, loan.loan_use) == (S.APPROVED, "To buy wool.")  # nothing kept
