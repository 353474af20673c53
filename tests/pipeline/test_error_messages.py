"""A submission's error is written by a worker, in whatever language the worker runs, and read
by staff in theirs: the record page, Needs attention and the admin show it in the reader's
language; Kiva's own text inside it (the reason) stays as Kiva said it. Rows written before
keep their text."""

import importlib

from django.apps import apps
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape

from kivaportal.common.messages import message, message_text
from kivaportal.pipeline.models import Submission
from kivaportal.pipeline.models import SubmissionState as St
from kivaportal.workflow.states import RecordState as S

UNKNOWN = (
    "The outcome is unknown (%(reason)s): Kiva may or may not have it. Check PA2, "
    "then mark it as sent or send it again."
)
REASON = "Sandbox fault: HTTP 502"


def outcome_unknown(setup):
    """Kiva answers 502 (it may have the draft) and its list cannot show it: needs attention.
    The worker (eager here) runs in French."""
    setup.faults(error_share=1.0, error_statuses="502", faults_remaining=1, list_drafts=False)
    with translation.override("fr"):
        loan = setup.approve(setup.first)
    [submission] = Submission.objects.filter(object_id=loan.pk, content_type__model="loan")
    assert (loan.state, submission.state) == (S.NEEDS_ATTENTION, St.NEEDS_ATTENTION)
    return loan, submission


def in_language(language, msgid, **params):
    with translation.override(language):
        return translation.gettext(msgid) % params


def test_an_unknown_outcome_reads_in_each_readers_language(setup, client):
    loan, submission = outcome_unknown(setup)
    assert submission.error_message == message(UNKNOWN, reason=REASON)
    # Kept in the portal's default language for search, whatever the worker's language.
    assert submission.error == UNKNOWN % {"reason": REASON}
    spanish, french = (
        in_language("es", UNKNOWN, reason=REASON),
        in_language("fr", UNKNOWN, reason=REASON),
    )
    assert len({spanish, french, submission.error}) == 3  # the .po files translate it
    client.force_login(setup.reviewer)
    pages = {
        "record": reverse("review:record", args=[setup.partner.pk, "loans", loan.pk]),
        "needs attention": reverse("review:needs_attention", args=[setup.partner.pk]),
    }
    for name, url in pages.items():
        for language, text in (("es", spanish), ("fr", french), ("en", submission.error)):
            page = client.get(url, headers={"accept-language": language}).content.decode()
            assert escape(text) in page, (name, language)
            if language != "en":
                assert escape(submission.error) not in page, (name, language)


def test_a_reason_of_the_portals_own_is_translated_inside_the_message(db):
    stopped = message("the worker stopped while sending")
    stored = message(UNKNOWN, reason=stopped)
    with translation.override("fr"):
        text = message_text(stored)
        assert translation.gettext("the worker stopped while sending") in text
        assert text == translation.gettext(UNKNOWN) % {
            "reason": translation.gettext("the worker stopped while sending")
        }


def test_a_translation_that_does_not_fit_its_values_falls_back_to_english(db):
    stored = {"msgid": UNKNOWN, "params": {}}  # its value missing: no 500, the template
    assert message_text(stored) == UNKNOWN
    assert message_text(None) == message_text("") == ""
    assert message_text("Kiva's own words") == "Kiva's own words"


def test_old_rows_keep_their_text_and_the_portals_english_ones_are_read_in_each_language(
    setup, client
):
    loan, submission = outcome_unknown(setup)
    english = UNKNOWN % {"reason": REASON}
    # As rows were written before: the text only, one of the portal's, one in another language.
    Submission.objects.filter(pk=submission.pk).update(error=english, error_message=None)
    other = Submission.objects.get(pk=submission.pk)
    other.pk, other.idempotency_key, other.record_version = None, "old-row", 9
    other.error = "Texto escrito antes, tal como quedó"
    other.save()
    client.force_login(setup.reviewer)
    url = reverse("review:needs_attention", args=[setup.partner.pk])
    page = client.get(url, headers={"accept-language": "es"}).content.decode()
    assert escape(english) in page  # readable, as it was
    assert escape(other.error) in page

    migration = importlib.import_module(
        "kivaportal.pipeline.migrations.0005_submission_error_message"
    )
    migration.forwards(apps, None)
    submission.refresh_from_db()
    other.refresh_from_db()
    assert submission.error_message == message(UNKNOWN, reason=REASON)
    assert submission.error == english
    assert other.error_message is None  # not the portal's words: left as it is
    page = client.get(url, headers={"accept-language": "es"}).content.decode()
    assert escape(in_language("es", UNKNOWN, reason=REASON)) in page
    assert escape(other.error) in page


def test_the_admin_shows_the_error_in_the_readers_language(setup, client, django_user_model):
    _loan, submission = outcome_unknown(setup)
    admin = django_user_model.objects.create_superuser("root", "root@example.org", "x")
    client.force_login(admin)
    url = reverse("admin:pipeline_submission_change", args=[submission.pk])
    page = client.get(url, headers={"accept-language": "es"}).content.decode()
    assert escape(in_language("es", UNKNOWN, reason=REASON)) in page
    assert escape(submission.error) not in page
