"""The downloadable templates are valid for the partner that downloads them: its reference
values, currency and file format; the loans workbook imports as it is, with a sheet of the
partner's allowed values; the column documentation is a page of the portal."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from openpyxl import load_workbook

from integrations.mis.models import ImportJob, ImportStatus, IntakeFormat
from kivaportal.lending.models import Borrower, Loan
from kivaportal.partners.roles import Role
from tests.factories import (
    ActivityFactory,
    LocaleFactory,
    LocationFactory,
    PartnerFactory,
    member,
)


def sahel():
    """A partner unlike the tests' default: XOF, French, day-first dates, decimal comma."""
    partner = PartnerFactory(name="Crédit du Sahel", default_currency="XOF", country="SN")
    ActivityFactory(partner=partner, kiva_id=9001, name="Retired one", retired=True)
    ActivityFactory(partner=partner, kiva_id=9061, name="Couture")
    LocaleFactory(partner=partner, language_id=9005, currency="XOF", language_name="Français")
    LocationFactory(partner=partner, country="Senegal", location="Thiès", full_name="Thiès: SN")
    IntakeFormat.objects.create(partner=partner, date_format="%d/%m/%Y", decimal_separator=",")
    return partner


def upload(client, partner, kind, name, data, **files):
    post = {
        "partner": partner.pk,
        "kind": kind,
        "encoding": "auto",
        "file": SimpleUploadedFile(name, data, "application/octet-stream"),
        **{k: SimpleUploadedFile(f"{k}.csv", v, "text/csv") for k, v in files.items()},
    }
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post("/intake/", post)
    return ImportJob.objects.latest("pk")


def test_the_loans_workbook_imports_as_downloaded_for_its_partner(client, db):
    partner = sahel()
    client.force_login(member(partner, Role.PREPARER))
    response = client.get(f"/intake/templates/loans.xlsx?partner={partner.pk}")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["loans", "borrowers", "schedule", "allowed values"]
    loans = [[c.value for c in row] for row in book["loans"].iter_rows()]
    example = dict(zip(loans[0], loans[1], strict=True))
    assert (example["activity_id"], example["location"], example["currency"]) == (
        9061,
        "Thiès: SN",
        "XOF",
    )
    assert (example["amount"], example["disbursal_date"]) == ("1200", "10/01/2026")
    allowed = {tuple(c.value for c in row[:2]) for row in book["allowed values"].iter_rows()}
    assert ("activity_id", 9061) in allowed and ("activity_id", 9001) not in allowed
    assert ("location", "Thiès: SN") in allowed and ("currency", "XOF") in allowed

    job = upload(client, partner, "loans", "loans.xlsx", response.content)
    assert job.status == ImportStatus.CHECKED, job.results["errors"]
    assert job.results["checks"]["blocked"] == 0, job.results["preview"]
    assert job.results["preview"][0]["ready"]
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(f"/intake/jobs/{job.pk}/commit/")
    loan = Loan.objects.get(partner=partner)
    assert (loan.currency, loan.activity.kiva_id, loan.check_errors) == ("XOF", 9061, 0)
    assert Borrower.objects.get(partner=partner).mis_client_id == "C-00017"


def test_the_csv_templates_import_as_downloaded(client, db):
    partner = sahel()
    client.force_login(member(partner, Role.PREPARER))

    def get(name):
        response = client.get(f"/intake/templates/{name}.csv?partner={partner.pk}")
        assert response.status_code == 200
        return response.content

    job = upload(client, partner, "borrowers", "borrowers.csv", get("borrowers"))
    assert job.status == ImportStatus.CHECKED, job.results["errors"]
    job = upload(
        client,
        partner,
        "loans",
        "loans.csv",
        get("loans"),
        members_file=get("loan_borrowers"),
        schedule_file=get("schedule"),
    )
    assert job.status == ImportStatus.CHECKED, job.results["errors"]
    assert job.results["checks"]["blocked"] == 0


def test_another_partners_template_is_not_found(client, partner, preparer):
    other = sahel()
    client.force_login(preparer)
    assert client.get(f"/intake/templates/loans.xlsx?partner={other.pk}").status_code == 404
    assert client.get(f"/intake/templates/loans.csv?partner={other.pk}").status_code == 404
    assert client.get("/intake/templates/loans.csv?partner=x").status_code == 404


def test_the_column_documentation_is_a_page_of_the_portal(client, preparer):
    client.force_login(preparer)
    page = client.get("/intake/columns/").content.decode()
    assert "first_name" in page and "Principals add up to the loan amount." in page
    upload_page = client.get("/intake/").content.decode()
    assert "/intake/columns/" in upload_page and "docs/intake.md" not in upload_page
