"""Item 7: uploaded files (photos, MIS files) are served only to signed-in members of the
record's partner, in every mode, and intake files are deleted after the retention period."""

from datetime import timedelta
from io import StringIO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from integrations.mis.models import ImportJob, ImportStatus
from kivaportal.lending.models import Loan
from tests.security.conftest import user


def photo_url(partner):
    loan = Loan.objects.filter(partner=partner).exclude(photo="").first()
    return loan.photo.url


def test_anonymous_visitor_gets_the_login_page_not_the_photo(demo, partner_a):
    response = Client().get(photo_url(partner_a))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_only_members_of_the_loans_partner_see_the_borrowers_photo(as_user, partner_a):
    url = photo_url(partner_a)

    mine = as_user("rosa.reviewer").get(url)
    theirs = as_user("awa.reviewer").get(url)

    assert mine.status_code == 200
    assert mine["Content-Type"] == "image/jpeg"
    assert b"".join(mine.streaming_content).startswith(b"\xff\xd8")
    assert "no-store" in mine["Cache-Control"]
    assert theirs.status_code == 404


def _intake_job(partner, **fields):
    name = default_storage.save("intake/2026/11/borrowers.csv", ContentFile(b"=1+1,Rosa\n"))
    return ImportJob.objects.create(
        partner=partner,
        kind="borrowers",
        file=name,
        original_name="borrowers.csv",
        created_by=user("ana.preparer"),
        **fields,
    )


def test_mis_file_is_an_attachment_for_members_and_hidden_from_others(as_user, partner_b):
    job = _intake_job(partner_b)

    mine = as_user("moussa.admin").get(job.file.url)
    theirs = as_user("rosa.reviewer").get(job.file.url)

    assert mine.status_code == 200
    assert mine["Content-Disposition"].startswith("attachment")
    assert theirs.status_code == 404


def test_files_no_record_holds_and_paths_outside_media_are_404(as_user, partner_a, settings):
    default_storage.save("orphan.csv", ContentFile(b"secret"))
    client = as_user("admin")

    for path in ("/media/orphan.csv", "/media/../kivaportal/settings.py", "/media/%2e%2e/x"):
        assert client.get(path).status_code == 404, path


def test_the_web_server_can_stream_the_file_after_the_check(as_user, partner_a, settings):
    settings.MEDIA_SERVE = "x-accel-redirect"
    url = photo_url(partner_a)

    response = as_user("rosa.reviewer").get(url)

    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == "/protected-media/" + url.removeprefix("/media/")
    assert response.content == b""


def test_intake_files_are_deleted_after_the_retention_period(demo, partner_a, settings):
    settings.INTAKE_FILE_RETENTION_DAYS = 30
    old = _intake_job(partner_a, status=ImportStatus.IMPORTED)
    recent = _intake_job(partner_a, status=ImportStatus.IMPORTED)
    ImportJob.objects.filter(pk=old.pk).update(finished_at=timezone.now() - timedelta(days=31))
    ImportJob.objects.filter(pk=recent.pk).update(finished_at=timezone.now())

    call_command("intake_purge_files", stdout=StringIO())

    old.refresh_from_db()
    recent.refresh_from_db()
    assert not old.file and "files_purged_at" in old.results
    assert recent.file and default_storage.exists(recent.file.name)
