"""Photos are scaled once, when they are stored: the review pages show a page-size copy, Kiva
gets the copy scaled for it, and the original is kept."""

import base64
import io

import pytest
from django.urls import reverse
from PIL import Image

from integrations.kiva import payloads
from kivaportal.common.photos import photo_copies_make
from kivaportal.lending.models import Loan
from tests.admin.admin_forms import admin_url, form_data, form_errors
from tests.photos import camera_photo_bytes, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def camera_photo():
    return camera_photo_bytes()


def size_of(field_file):
    with field_file.open("rb") as f, Image.open(f) as image:
        return image.size


def upload_in_admin(client, loan, data):
    url = admin_url("lending", "loan", "change", loan.pk)
    post = form_data(client.get(url))
    post["photo"] = upload(data)
    response = client.post(url, post)
    assert response.status_code == 302, form_errors(response)
    return Loan.objects.get(pk=loan.pk)


def test_a_photo_uploaded_in_the_admin_is_kept_and_scaled_once_for_the_page_and_for_kiva(
    client, make_loan, preparer, camera_photo, settings
):
    settings.KIVA_PHOTO_MAX_SIDE = 1200
    client.force_login(preparer)
    loan = upload_in_admin(client, make_loan(), camera_photo)

    assert size_of(loan.photo) == (4000, 3000)
    assert loan.photo.size == len(camera_photo)
    assert size_of(loan.photo_page) == (720, 540)
    assert size_of(loan.photo_kiva) == (1200, 900)
    assert loan.photo_copies_of == loan.photo.name
    assert loan.page_photo == loan.photo_page


def test_the_review_page_with_a_camera_photo_weighs_under_200_kb(
    client, make_loan, preparer, reviewer, partner, camera_photo, settings
):
    client.force_login(preparer)
    loan = upload_in_admin(client, make_loan(), camera_photo)
    client.force_login(reviewer)

    page = client.get(reverse("review:record", args=[partner.pk, "loans", loan.pk]))
    html = page.content.decode()

    assert loan.photo_page.url in html
    assert f'src="{loan.photo.url}"' not in html  # the original only behind a link
    css = (settings.BASE_DIR / "static" / "portal" / "portal.css").stat().st_size
    total = len(page.content) + loan.photo_page.size + css
    assert total <= 200 * 1024, f"{len(page.content)} + {loan.photo_page.size} + {css}"


def _sent(loan) -> bytes:
    """The photo's bytes as the draft sends them: a data URI by default (main's default)."""
    prefix, _, encoded = payloads.loan_draft(loan)["image_encoded"].partition(",")
    assert prefix in ("data:image/jpeg;base64", "data:image/png;base64")
    return base64.b64decode(encoded)


def test_kiva_gets_the_copy_scaled_at_upload_byte_for_byte(
    client, make_loan, preparer, camera_photo
):
    client.force_login(preparer)
    loan = upload_in_admin(client, make_loan(), camera_photo)
    loan = Loan.objects.get(pk=loan.pk)

    sent = _sent(loan)

    with loan.photo_kiva.open("rb") as f:
        assert sent == f.read()


def test_a_copy_made_from_an_earlier_photo_is_never_used(make_loan, settings):
    settings.KIVA_PHOTO_MAX_SIDE = 300
    loan = make_loan()
    photo_copies_make(record=loan)
    loan.refresh_from_db()
    assert loan.kiva_photo is not None

    # The photo replaced by a path that does not make copies: the stale ones are ignored.
    out = io.BytesIO()
    Image.new("RGB", (900, 600), "red").save(out, "JPEG")
    loan.photo.save("other.jpg", upload(out.getvalue()), save=True)
    loan = Loan.objects.get(pk=loan.pk)

    assert loan.kiva_photo is None
    assert loan.page_photo == loan.photo
    sent = _sent(loan)
    with Image.open(io.BytesIO(sent)) as image:
        assert image.size == (300, 200)
        assert image.getpixel((10, 10))[0] > 200  # red: the new photo, scaled


def test_removing_the_photo_in_the_admin_removes_its_copies(client, make_loan, preparer):
    client.force_login(preparer)
    loan = make_loan()
    photo_copies_make(record=loan)
    url = admin_url("lending", "loan", "change", loan.pk)
    post = form_data(client.get(url))
    post["photo-clear"] = "on"

    response = client.post(url, post)

    assert response.status_code == 302, form_errors(response)
    loan = Loan.objects.get(pk=loan.pk)
    assert (loan.photo.name, loan.photo_page.name, loan.photo_copies_of) == ("", "", "")
