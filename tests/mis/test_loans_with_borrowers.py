"""A loans workbook may carry its borrowers: the borrowers sheet's own columns (first_name,
last_name, gender, ...) create the borrower, or update the one with that MIS client id, in
the same import; a row with a client id alone names a borrower the portal already has."""

import collections

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import TestCase

from integrations.mis import formats
from integrations.mis.import_jobs import import_job_run
from integrations.mis.models import ImportJob, ImportStatus
from kivaportal.lending.models import Borrower, Loan
from kivaportal.reference.models import Location
from tests.mis.helpers import xlsx_bytes

LOANS = [
    ["mis_loan_id", "loan_type", "group_name", "group_client_id", "amount", "activity_id",
     "description_language_id", "location", "description", "loan_use"],
    ["L1", "individual", "", "", "1200.00", 7120, 7002, "Pisac: Peru", "Rosa sells.", "A cart."],
    ["G1", "group", "Sisters", "GC-1", "500.00", 7120, 7002, "Pisac: Peru", "Yarn.", "Wool."],
]  # fmt: skip
BORROWERS = [
    ["mis_loan_id", "mis_client_id", "amount", "first_name", "last_name", "gender", "city"],
    ["L1", "C1", "1200.00", "", "", "", ""],  # an existing borrower, by id alone
    ["G1", "N1", "200.00", "Nélida", "Huamán", "female", "Pisac"],
    ["G1", "N2", "300.00", "Juana", "Huamán", "f", ""],
]  # fmt: skip
SCHEDULE = [
    ["mis_loan_id", "due_date", "principal", "interest"],
    ["L1", "2026-02-10", "1200.00", "20.00"],
    ["G1", "2026-02-10", "500.00", "5.00"],
]


def upload_and_check(client, partner, borrowers=BORROWERS):
    data = xlsx_bytes({"loans": LOANS, "borrowers": borrowers, "schedule": SCHEDULE})
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(
            "/intake/",
            {
                "partner": partner.pk,
                "kind": "loans",
                "encoding": "auto",
                "file": SimpleUploadedFile("loans.xlsx", data, "application/octet-stream"),
            },
        )
    return ImportJob.objects.latest("pk")


def commit(client, job):
    with TestCase.captureOnCommitCallbacks(execute=True):
        client.post(f"/intake/jobs/{job.pk}/commit/")
    job.refresh_from_db()
    return job


def test_a_group_loan_brings_its_new_borrowers_in_the_same_import(client, partner, preparer):
    client.force_login(preparer)
    job = upload_and_check(client, partner)
    assert job.status == ImportStatus.CHECKED, job.results
    assert job.results["borrowers"] == {"created": 2, "updated": 0, "unchanged": 0}
    assert not Borrower.objects.filter(mis_client_id__in=["N1", "N2"]).exists()  # a preview
    assert commit(client, job).status == ImportStatus.IMPORTED
    group = Loan.objects.get(mis_loan_id="G1")
    shares = list(group.loan_borrowers.order_by("position"))
    assert [(s.borrower.mis_client_id, str(s.amount)) for s in shares] == [
        ("N1", "200.000"),
        ("N2", "300.000"),
    ]
    nelida = shares[0].borrower
    assert (nelida.first_name, nelida.gender, nelida.city, nelida.created_by) == (
        "Nélida",
        "female",
        "Pisac",
        preparer,
    )
    assert Loan.objects.get(mis_loan_id="L1").loan_borrowers.get().borrower.mis_client_id == "C1"


def test_an_existing_borrower_named_again_is_updated_by_its_client_id(client, partner, preparer):
    rows = [BORROWERS[0], ["L1", "C1", "1200.00", "Rosa", "Quispe", "female", "Calca"]]
    rows += BORROWERS[2:]
    client.force_login(preparer)
    job = commit(client, upload_and_check(client, partner, rows))
    assert job.results["borrowers"] == {"created": 2, "updated": 1, "unchanged": 0}
    rosa = Borrower.objects.get(partner=partner, mis_client_id="C1")
    assert (rosa.first_name, rosa.city, Borrower.objects.filter(mis_client_id="C1").count()) == (
        "Rosa",
        "Calca",
        1,
    )


def test_a_new_borrower_without_gender_is_an_error_on_its_row_and_nothing_is_written(
    client, partner, preparer
):
    rows = [*BORROWERS[:3], ["G1", "N2", "300.00", "Juana", "Huamán", "", ""]]
    client.force_login(preparer)
    job = upload_and_check(client, partner, rows)
    assert job.status == ImportStatus.INVALID
    assert [(e["file"], e["row"], e["column"]) for e in job.results["errors"]] == [
        ("borrowers", 4, "gender")
    ]
    job = commit(client, job)
    assert not Loan.objects.exists() and not Borrower.objects.filter(mis_client_id="N1").exists()


def test_one_client_described_two_ways_is_a_duplicate_and_the_same_twice_is_fine(
    client, partner, preparer
):
    same = [*BORROWERS, ["L1", "N1", "0.00", "Nélida", "Huamán", "female", "Pisac"]]
    client.force_login(preparer)
    job = upload_and_check(client, partner, same)
    assert all(e["column"] != "mis_client_id" or "Duplicate" not in e["message"]
               for e in job.results["errors"])  # fmt: skip
    other = [*BORROWERS, ["L1", "N1", "0.00", "Nelly", "Huamán", "female", "Pisac"]]
    job = upload_and_check(client, partner, other)
    assert any(
        (e["row"], e["column"]) == (5, "mis_client_id") and "row 3" in e["message"]
        for e in job.results["errors"]
    ), job.results["errors"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="staging: PostgreSQL only")
def test_each_sheet_is_read_once_a_pass_with_the_borrowers_it_describes(
    client, partner, preparer, monkeypatch
):
    """The borrowers sheet feeds the borrower importer, then the loans' shares: twice, and no
    more; the schedule once (docs/performance.md, "Intake"). Header probes not counted."""
    read = collections.Counter()
    rows_of = formats.FileSource.__iter__

    def counted(source):
        for row in rows_of(source):
            if row.number > 2:  # not the first row, which has_person_columns reads
                read[source.name] += 1
            yield row

    monkeypatch.setattr(formats.FileSource, "__iter__", counted)
    client.force_login(preparer)
    job = upload_and_check(client, partner)
    assert job.status == ImportStatus.CHECKED, job.results
    # Passes times rows (the first row not counted): the loans are read again to write them.
    assert read == {"loans": 2 * 1, "borrowers": 2 * 2, "schedule": 1 * 1}
    read.clear()
    assert commit(client, job).status == ImportStatus.IMPORTED
    assert read == {"loans": 2 * 1, "borrowers": 2 * 2, "schedule": 1 * 1}


def test_borrowers_are_not_kept_when_the_loans_fail_at_the_import(client, partner, preparer):
    client.force_login(preparer)
    job = upload_and_check(client, partner)
    assert job.status == ImportStatus.CHECKED, job.results
    Location.objects.filter(partner=partner).delete()  # gone since the check
    job = import_job_run(job_id=job.pk, commit=True, user_id=preparer.pk)

    assert job.status == ImportStatus.INVALID, job.results
    assert not Loan.objects.exists()
    assert not Borrower.objects.filter(mis_client_id__in=["N1", "N2"]).exists()
