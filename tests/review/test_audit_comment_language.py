"""A comment the portal writes in the audit trail (a bulk approval's) is read in each reader's
language: on the record's timeline, the audit log, its CSV and the admin; a person's comment
and an entry written before stay as they were written."""

from django.urls import reverse
from django.utils import translation

from kivaportal.review import services
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S


def spanish(msgid):
    with translation.override("es"):
        text = translation.gettext(msgid)
    assert text != msgid  # the .po translates it
    return text


def test_a_bulk_approvals_comment_reads_in_the_readers_language(client, make_loan, reviewer):
    loan = make_loan(state=S.SUBMITTED)
    with translation.override("fr"):  # whatever language the approver used
        services.records_bulk_approve(records=[loan], by=reviewer)
    entry = AuditEntry.objects.get(object_id=loan.pk, action="review.approved")
    assert entry.comment == "Approved in bulk."  # the default language: search, CSV of old
    expected = spanish("Approved in bulk.")
    client.force_login(reviewer)
    es = {"accept-language": "es"}
    record = reverse("review:record", args=[loan.partner_id, "loans", loan.pk])
    for url in (record, reverse("review:audit"), reverse("review:audit_export")):
        response = client.get(url, headers=es)
        body = response.streaming_content if response.streaming else [response.content]
        page = b"".join(body).decode()
        assert expected in page, url
        assert "Approved in bulk." not in page, url


def test_a_persons_comment_and_an_old_entry_stay_as_written(client, make_loan, reviewer):
    loan = make_loan(state=S.SUBMITTED)
    services.record_request_changes(record=loan, by=reviewer, comment="Falta la foto.")
    entry = AuditEntry.objects.get(object_id=loan.pk, action="review.changes_requested")
    assert (entry.comment, entry.comment_message) == ("Falta la foto.", None)
    client.force_login(reviewer)
    page = client.get(
        reverse("review:record", args=[loan.partner_id, "loans", loan.pk]),
        headers={"accept-language": "fr"},
    ).content.decode()
    assert "Falta la foto." in page
