"""Notification emails (issue 13, item 2), driven through the real services and read from
Django's locmem outbox: who is told what, once per event, only about their own partners'
records, in their own language, as they chose on "My notifications"."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation

from kivaportal.notifications.models import Event, NotificationSettings, SentNotification
from kivaportal.notifications.services import notifications_send, notifications_send_digest
from kivaportal.pipeline.follow import record_follow_submissions
from kivaportal.pipeline.models import Submission, SubmissionState
from kivaportal.review import services
from kivaportal.workflow.audit import AuditAction, action_label
from kivaportal.workflow.states import RecordState as S
from tests.factories import LoanFactory

pytestmark = pytest.mark.django_db

COMMENT = "The borrower's name is misspelled: Quispe, not Quipse."


@pytest.fixture(autouse=True)
def _mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.PORTAL_URL = "https://portal.example.org"
    settings.NOTIFY_WAITING_HOURS = 24


def to(user):
    return [m for m in mail.outbox if m.to == [user.email]]


def returned_loan(make_loan, preparer, reviewer):
    loan = services.record_submit(record=make_loan(), by=preparer)
    return services.record_request_changes(record=loan, by=reviewer, comment=COMMENT)


# --- record returned ---------------------------------------------------------------------


def test_the_preparer_is_told_once_that_a_record_was_returned(
    make_loan, partner, preparer, reviewer, partner_admin
):
    loan = returned_loan(make_loan, preparer, reviewer)

    assert notifications_send(Event.RETURNED) == 1
    (sent,) = mail.outbox
    assert sent.to == [preparer.email]
    assert partner.name in sent.subject and "returned to you" in sent.subject
    assert COMMENT in sent.body  # as written, not HTML-escaped
    url = reverse("review:record", args=[partner.pk, "loans", loan.pk])
    assert f"https://portal.example.org{url}" in sent.body

    # The beat runs again: nothing new, nothing sent.
    assert notifications_send(Event.RETURNED) == 0
    assert len(mail.outbox) == 1
    assert SentNotification.objects.get().user == preparer


def test_a_record_resubmitted_before_the_run_is_not_announced(make_loan, preparer, reviewer):
    loan = returned_loan(make_loan, preparer, reviewer)
    services.record_submit(record=loan, by=preparer)
    assert notifications_send(Event.RETURNED) == 0


def test_a_second_return_is_a_new_event(make_loan, preparer, reviewer):
    loan = returned_loan(make_loan, preparer, reviewer)
    notifications_send(Event.RETURNED)
    loan = services.record_submit(record=loan, by=preparer)
    services.record_request_changes(record=loan, by=reviewer, comment="And the photo.")
    assert notifications_send(Event.RETURNED) == 1
    assert "And the photo." in mail.outbox[-1].body


def test_nobody_hears_of_another_partners_records(
    make_loan, partner, preparer, reviewer, other_partner, outsider
):
    # The other partner's admin is a member elsewhere only: never told, whatever the event.
    returned_loan(make_loan, preparer, reviewer)
    LoanFactory(partner=partner, state=S.SUBMITTED, created_by=preparer)
    for event in (Event.RETURNED, Event.WAITING, Event.ATTENTION):
        notifications_send(event, now=timezone.now() + timedelta(days=2))
    assert to(outsider) == []
    assert to(preparer)  # while the partner's own people are


def test_someone_who_turned_it_off_on_their_page_is_not_told(client, make_loan, preparer, reviewer):
    client.force_login(preparer)
    page = client.get(reverse("notifications:settings"))
    assert page.status_code == 200 and preparer.email in page.content.decode()
    response = client.post(
        reverse("notifications:settings"),
        {"language": "en", "waiting": "on", "attention": "on", "digest": "on"},
    )
    assert response.status_code == 302
    assert NotificationSettings.objects.get(user=preparer).returned is False

    returned_loan(make_loan, preparer, reviewer)
    assert notifications_send(Event.RETURNED) == 0


def test_a_bad_language_on_the_page_is_refused_and_nothing_is_saved(client, preparer):
    client.force_login(preparer)
    response = client.post(reverse("notifications:settings"), {"language": "xx"})
    assert response.status_code == 200
    assert "language" in response.context["form"].errors
    assert not NotificationSettings.objects.exists()


def test_someone_without_an_email_address_is_skipped(make_loan, preparer, reviewer):
    preparer.email = ""
    preparer.save()
    returned_loan(make_loan, preparer, reviewer)
    assert notifications_send(Event.RETURNED) == 0
    assert not SentNotification.objects.exists()


def test_a_mail_that_fails_is_not_recorded_and_goes_at_the_next_run(
    make_loan, preparer, reviewer, monkeypatch
):
    returned_loan(make_loan, preparer, reviewer)

    def down(*args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr("kivaportal.notifications.services.send_mail", down)
    assert notifications_send(Event.RETURNED) == 0
    assert not SentNotification.objects.exists()
    monkeypatch.undo()
    assert notifications_send(Event.RETURNED) == 1


# --- waiting for review --------------------------------------------------------------------


def test_reviewers_hear_of_records_waiting_longer_than_the_limit(
    make_loan, partner, preparer, reviewer, partner_admin
):
    loan = services.record_submit(record=make_loan(), by=preparer)
    assert notifications_send(Event.WAITING) == 0  # just submitted

    later = timezone.now() + timedelta(hours=25)
    assert notifications_send(Event.WAITING, now=later) == 2
    assert {m.to[0] for m in mail.outbox} == {reviewer.email, partner_admin.email}
    assert str(loan) in mail.outbox[0].body and "24 hours" in mail.outbox[0].body
    assert notifications_send(Event.WAITING, now=later + timedelta(hours=1)) == 0

    # Returned and resubmitted: a new wait, a new email.
    services.record_request_changes(record=loan, by=reviewer, comment="Fix it.")
    services.record_submit(record=loan, by=preparer)
    assert notifications_send(Event.WAITING, now=later + timedelta(hours=26)) == 2


# --- needs attention, sent with problems ---------------------------------------------------


def approved_and_sent(make_loan, preparer, reviewer, state, **fields):
    loan = services.record_submit(record=make_loan(), by=preparer)
    loan = services.record_approve(record=loan, by=reviewer)
    Submission.objects.filter(object_id=loan.pk).update(state=state, **fields)
    return record_follow_submissions(record=loan)


def test_preparers_and_admins_hear_of_a_record_that_needs_attention_in_their_language(
    make_loan, partner, preparer, reviewer, partner_admin
):
    NotificationSettings.objects.create(user=preparer, language="es")
    loan = approved_and_sent(make_loan, preparer, reviewer, SubmissionState.NEEDS_ATTENTION)
    assert loan.state == S.NEEDS_ATTENTION

    assert notifications_send(Event.ATTENTION) == 2
    assert to(reviewer) == []  # reviewers approve; preparers and admins follow up
    (spanish,) = to(preparer)
    (english,) = to(partner_admin)
    with translation.override("es"):
        label_es = str(action_label(AuditAction.NEEDS_ATTENTION))
    assert label_es != action_label(AuditAction.NEEDS_ATTENTION)
    assert label_es in spanish.body and label_es not in english.body
    assert "pipeline.needs_attention" not in spanish.body + english.body
    assert notifications_send(Event.ATTENTION) == 0


def test_kivas_problems_with_a_sent_record_are_told_once(
    make_loan, partner, preparer, reviewer, partner_admin
):
    problem = {"code": "E_AMOUNT", "message": "Amount differs from the schedule"}
    loan = approved_and_sent(
        make_loan,
        preparer,
        reviewer,
        SubmissionState.SENT,
        problems=[problem],
        sent_at=timezone.now(),
    )
    assert loan.state == S.SENT
    assert notifications_send(Event.SENT_WITH_PROBLEMS) == 2
    assert "Amount differs from the schedule" in to(preparer)[0].body
    assert notifications_send(Event.SENT_WITH_PROBLEMS) == 0


# --- the daily digest, the command --------------------------------------------------------------


def test_the_daily_digest_goes_once_a_day_to_whom_something_waits(
    make_loan, partner, preparer, reviewer, partner_admin
):
    returned_loan(make_loan, preparer, reviewer)
    services.record_submit(record=make_loan(), by=preparer)

    assert notifications_send_digest() == 3
    assert "Returned to you:" in to(preparer)[0].body
    assert "1 record waiting for review." in to(reviewer)[0].body
    assert "Returned to you:" not in to(reviewer)[0].body
    assert notifications_send_digest() == 0  # the same day
    assert notifications_send_digest(now=timezone.now() + timedelta(days=1)) == 3


def test_no_digest_when_nothing_waits(partner, preparer, reviewer):
    assert notifications_send_digest() == 0
    assert mail.outbox == []


def test_the_command_sends_what_is_due_and_nothing_twice(make_loan, preparer, reviewer, capsys):
    returned_loan(make_loan, preparer, reviewer)
    call_command("notifications_send")
    assert "returned: 1 sent" in capsys.readouterr().out
    call_command("notifications_send", "--only", "returned")
    assert "returned: 0 sent" in capsys.readouterr().out
    call_command("notifications_send", "--digest")
    assert len(mail.outbox) == 2  # the return, then the preparer's digest


def test_partner_admins_see_what_was_sent_in_the_admin_and_nobody_else(
    client, make_loan, partner, preparer, reviewer, partner_admin, outsider
):
    returned_loan(make_loan, preparer, reviewer)
    notifications_send(Event.RETURNED)
    changelist = reverse("admin:notifications_sentnotification_changelist")

    client.force_login(partner_admin)
    response = client.get(changelist)
    assert response.status_code == 200
    assert [row.user for row in response.context["cl"].result_list] == [preparer]

    client.force_login(outsider)  # the other partner's admin
    response = client.get(changelist)
    assert response.status_code == 200 and list(response.context["cl"].result_list) == []

    client.force_login(preparer)
    assert client.get(changelist).status_code == 403


def test_a_sent_with_problems_email_names_the_record_in_the_readers_language(
    make_loan, partner, preparer, reviewer, partner_admin
):
    """The label of what was sent ("Loan draft L-1 v1") is read when the email is written in
    its reader's language, not when the run finds the event."""
    NotificationSettings.objects.create(user=preparer, language="es")
    approved_and_sent(
        make_loan,
        preparer,
        reviewer,
        SubmissionState.SENT,
        problems=[{"code": "E_AMOUNT", "message": "Amount differs"}],
        sent_at=timezone.now(),
    )
    with translation.override("en"):
        assert notifications_send(Event.SENT_WITH_PROBLEMS) == 2
    (spanish,) = to(preparer)
    (english,) = to(partner_admin)
    assert "Borrador de préstamo" in spanish.body and "Loan draft" not in spanish.body
    assert "Loan draft" in english.body


def test_the_digest_shows_its_day_as_its_reader_writes_dates(make_loan, preparer, reviewer):
    from django.utils.formats import date_format

    NotificationSettings.objects.create(user=preparer, language="es")
    returned_loan(make_loan, preparer, reviewer)
    now = timezone.now()
    with translation.override("en"):
        assert notifications_send_digest(now=now) >= 1
    (digest,) = to(preparer)
    with translation.override("es"):
        day = date_format(timezone.localtime(now).date())
    assert day in digest.subject and day in digest.body
    assert timezone.localtime(now).date().isoformat() not in digest.subject + digest.body
