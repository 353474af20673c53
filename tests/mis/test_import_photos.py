"""The loans file's photo column names a JPEG or PNG in a .zip uploaded with it; the photo is
stored with its scaled copies once, at the import (as the admin does), never fetched from a
URL; the preview rehearsal leaves no file behind."""

import io
import zipfile

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from PIL import Image

from integrations.mis.models import ImportJob, ImportStatus
from kivaportal.lending.models import Loan
from tests.mis.helpers import xlsx_bytes
from tests.photos import camera_photo_bytes

LOANS = [
    ["mis_loan_id", "amount", "activity_id", "description_language_id", "location", "photo"],
    ["L1", "1200.00", 7120, 7002, "Pisac: Peru", "fotos/Rosa.JPG"],
]
BORROWERS = [["mis_loan_id", "mis_client_id", "amount"], ["L1", "C1", "1200.00"]]


def zipped(files: dict) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return out.getvalue()


def upload(client, partner, loans=LOANS, photos=None):
    post = {
        "partner": partner.pk,
        "kind": "loans",
        "encoding": "auto",
        "file": SimpleUploadedFile(
            "loans.xlsx", xlsx_bytes({"loans": loans, "borrowers": BORROWERS})
        ),
    }
    if photos is not None:
        post["photos_file"] = SimpleUploadedFile("photos.zip", photos, "application/zip")
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post("/intake/", post)
    return ImportJob.objects.latest("pk")


def stored_loan_files():
    """Every stored file but the uploads themselves: the photos and their copies."""
    root = settings.MEDIA_ROOT
    found = root.rglob("*") if root.exists() else []
    return sorted(p.name for p in found if p.is_file() and "intake" not in p.parts)


def test_a_photo_in_the_zip_is_stored_scaled_once_and_the_preview_leaves_nothing(
    client, partner, preparer
):
    client.force_login(preparer)
    photo = camera_photo_bytes()
    job = upload(client, partner, photos=zipped({"Fotos/rosa.jpg": photo}))
    assert job.status == ImportStatus.CHECKED, job.results["errors"]
    assert stored_loan_files() == []  # the rehearsal stored and removed them
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(f"/intake/jobs/{job.pk}/commit/")
    loan = Loan.objects.get()
    with loan.photo.open("rb") as f:
        assert f.read() == photo  # the original, kept as uploaded
    with Image.open(loan.photo_page) as page:
        assert max(page.size) == settings.PORTAL_PHOTO_PAGE_MAX_SIDE
    assert loan.photo_kiva and loan.photo_copies_of == loan.photo.name
    assert len(stored_loan_files()) == 3


def test_photo_problems_name_the_row_and_the_column(client, partner, preparer):
    client.force_login(preparer)
    cases = {
        None: "Upload the .zip of the photos",
        zipped({"other.jpg": camera_photo_bytes((40, 30))}): "No file named “fotos/Rosa.JPG”",
        zipped({"rosa.jpg": b"not an image"}): "is not a JPEG or PNG image",
        b"not a zip": "not a valid .zip",
    }
    for photos, message in cases.items():
        job = upload(client, partner, photos=photos)
        assert job.status == ImportStatus.INVALID
        [error] = job.results["errors"]
        assert (error["row"], error["column"]) == (2, "photo")
        assert message in error["message"], error
    assert not Loan.objects.exists()


def test_a_photo_larger_than_the_limit_is_refused_before_it_is_read(
    client, partner, preparer, settings
):
    settings.PORTAL_PHOTO_MAX_MB = 0.01
    client.force_login(preparer)
    job = upload(client, partner, photos=zipped({"rosa.jpg": camera_photo_bytes((400, 300))}))
    [error] = job.results["errors"]
    assert error["column"] == "photo" and "the largest accepted is 0.01 MB" in error["message"]


def test_the_photos_zip_is_only_for_loans(client, partner, preparer):
    client.force_login(preparer)
    response = client.post(
        "/intake/",
        {
            "partner": partner.pk,
            "kind": "borrowers",
            "encoding": "auto",
            "file": SimpleUploadedFile("b.csv", b"mis_client_id,first_name,last_name,gender\n"),
            "photos_file": SimpleUploadedFile("p.zip", zipped({})),
        },
    )
    assert response.status_code == 200 and not ImportJob.objects.exists()
