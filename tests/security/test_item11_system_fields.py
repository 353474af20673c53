"""Item 11: fields only the portal writes (state, its date, the checks' counts, version,
tracking) are read-only in every admin form: a preparer cannot backdate a record to the top
of a queue or hide its error flag."""

from datetime import UTC, datetime

import pytest

from kivaportal.journals.models import Journal
from kivaportal.repayments.models import RepaymentReport
from tests.admin.admin_forms import admin_url

SYSTEM = ("state", "version", "state_changed_at", "check_errors", "check_warnings")


@pytest.mark.parametrize(
    ("model", "app"),
    [(Journal, "journals"), (RepaymentReport, "repayments")],
)
def test_system_fields_are_not_in_the_change_form(as_user, partner_a, model, app):
    record = model.objects.filter(partner=partner_a, state__in=["draft", "submitted"]).first()
    page = as_user("ana.preparer").get(admin_url(app, model._meta.model_name, "change", record.pk))

    editable = set(page.context["adminform"].form.fields)
    assert editable.isdisjoint(SYSTEM), editable & set(SYSTEM)


def test_preparer_posting_a_backdated_journal_without_errors_changes_neither(as_user, partner_a):
    journal = Journal.objects.filter(partner=partner_a, state="draft").first()
    Journal.objects.filter(pk=journal.pk).update(check_errors=2, check_warnings=1)
    client = as_user("ana.preparer")

    client.admin_save(
        admin_url("journals", "journal", "change", journal.pk),
        state_changed_at_0="2001-01-01",
        state_changed_at_1="00:00:00",
        check_errors="0",
        check_warnings="0",
        subject=journal.subject + " (edited)",
    )

    journal.refresh_from_db()
    assert journal.subject.endswith("(edited)")
    assert journal.state_changed_at is None or journal.state_changed_at > datetime(
        2002, 1, 1, tzinfo=UTC
    )
    # The edit reran the checks: the counts are the checks', not the form's.
    assert (journal.check_errors, journal.check_warnings) != (0, 0) or not journal.check_findings
