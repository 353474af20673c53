"""Item 12: records sent to Kiva (and their parts) are never hard-deleted, superusers
included, on the delete page or with the bulk action; the page says why."""

from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan, ScheduleLine
from tests.admin.admin_forms import admin_url


def sent_loan(partner):
    return Loan.objects.filter(partner=partner, state="sent").first()


def test_superuser_cannot_delete_a_sent_loan_on_its_delete_page(as_user, partner_a):
    loan = sent_loan(partner_a)
    client = as_user("admin")
    url = admin_url("lending", "loan", "delete", loan.pk)

    token = client.token(admin_url("lending", "loan", "change", loan.pk))
    page = client.get(url)
    client.post(url, {"post": "yes", "csrfmiddlewaretoken": token})

    assert page.status_code == 403
    assert Loan.objects.filter(pk=loan.pk).exists()
    assert ScheduleLine.objects.filter(loan=loan).exists()


def test_bulk_delete_of_sent_records_deletes_nothing_and_says_why(as_user, partner_a):
    loans = list(Loan.objects.filter(partner=partner_a, state__in=["sent", "draft"]))
    client = as_user("admin")
    changelist = admin_url("lending", "loan", "changelist")

    page = client.admin_action(changelist, "delete_selected", [loan.pk for loan in loans])
    confirmed = client.post(
        changelist,
        {
            "action": "delete_selected",
            "_selected_action": [str(loan.pk) for loan in loans],
            "post": "yes",
            "csrfmiddlewaretoken": client.cookies["csrftoken"].value,
        },
    )

    assert "was sent to Kiva" in page.content.decode()
    assert confirmed.status_code == 200
    assert Loan.objects.filter(pk__in=[loan.pk for loan in loans]).count() == len(loans)


def test_sent_journal_has_no_delete_button(as_user, partner_b):
    journal = Journal.objects.filter(partner=partner_b, state="sent").first()

    page = as_user("admin").get(admin_url("journals", "journal", "change", journal.pk))

    assert page.status_code == 200
    assert "deletelink" not in page.content.decode()


def test_repayment_of_a_month_reported_to_kiva_cannot_be_deleted(as_user, partner_a):
    from kivaportal.repayments.models import Repayment, RepaymentReport

    report = RepaymentReport.objects.filter(partner=partner_a, state="sent").first()
    repayment = Repayment.objects.filter(
        partner=partner_a, date__year=report.month.year, date__month=report.month.month
    ).first()
    client = as_user("admin")
    changelist = admin_url("repayments", "repayment", "changelist")

    page = client.admin_action(changelist, "delete_selected", [repayment.pk])

    assert "which was sent to Kiva" in page.content.decode()
    assert Repayment.objects.filter(pk=repayment.pk).exists()
