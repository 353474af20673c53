"""Item 5: a user in two partners (ana.preparer) cannot link one partner's records to the
other's: the admin offers only the record's partner's rows, the model refuses the link, and
on PostgreSQL the database refuses it too."""

import pytest
from django.db import IntegrityError, connection, transaction

from kivaportal.journals.models import Journal
from kivaportal.lending.models import Borrower, Loan
from kivaportal.repayments.models import Repayment
from tests.admin.admin_forms import admin_url, form_errors


def a_loan(partner):
    return Loan.objects.filter(partner=partner).order_by("pk").first()


def test_repayment_of_partner_b_cannot_point_at_a_loan_of_partner_a(as_user, partner_a, partner_b):
    loan_a = a_loan(partner_a)
    borrower_a = loan_a.loan_borrowers.first().borrower
    client = as_user("ana.preparer")

    # A user of two partners first chooses the new record's partner (?partner=), as the page asks.
    response = client.admin_save(
        admin_url("repayments", "repayment", "add") + f"?partner={partner_b.pk}",
        partner=str(partner_b.pk),
        loan=str(loan_a.pk),
        borrower=str(borrower_a.pk),
        mis_repayment_id="HOSTILE-1",
        date="2026-10-15",
        amount="10.00",
    )

    assert response.status_code == 200
    assert {"loan", "borrower"} <= set(form_errors(response))
    assert not Repayment.objects.filter(mis_repayment_id="HOSTILE-1").exists()


def test_journal_of_partner_b_cannot_be_moved_onto_a_loan_of_partner_a(
    as_user, partner_a, partner_b
):
    journal = Journal.objects.filter(partner=partner_b, state="draft").first()
    loan_a = a_loan(partner_a)
    client = as_user("ana.preparer")

    response = client.admin_save(
        admin_url("journals", "journal", "change", journal.pk), loan=str(loan_a.pk)
    )

    assert response.status_code == 200
    assert "loan" in form_errors(response)
    journal.refresh_from_db()
    assert journal.loan.partner_id == partner_b.pk


def autocomplete(client, source, field, **params) -> list[int]:
    """The ids an admin autocomplete box gets for `source`'s foreign key `field`."""
    app_label, model_name = source.split(".")
    query = {"app_label": app_label, "model_name": model_name, "field_name": field, **params}
    response = client.get("/admin/autocomplete/", query)
    assert response.status_code == 200, (query, response.status_code)
    return [int(row["id"]) for row in response.json()["results"]]


def partners_of(model, ids) -> set[int]:
    return set(model.objects.filter(pk__in=ids).values_list("partner", flat=True))


AUTOCOMPLETED = (
    ("repayments.repayment", "loan", Loan),
    ("repayments.repayment", "borrower", Borrower),
    ("journals.journal", "loan", Loan),
    ("journals.journal", "borrower", Borrower),
    ("lending.loanborrower", "borrower", Borrower),
)


def test_a_new_records_choices_and_autocomplete_offer_only_the_chosen_partners_rows(
    as_user, partner_a, partner_b
):
    client = as_user("ana.preparer")  # a preparer in both partners

    # The add form, once partner B is chosen, offers B's loans and borrowers only, and its
    # autocomplete boxes ask for B's rows.
    page = client.get(admin_url("repayments", "repayment", "add") + f"?partner={partner_b.pk}")
    form = page.context["adminform"].form
    assert set(form.fields["loan"].queryset.values_list("partner", flat=True)) == {partner_b.pk}
    assert set(form.fields["borrower"].queryset.values_list("partner", flat=True)) == {partner_b.pk}
    assert f"?partner={partner_b.pk}".encode() in page.content
    for source, field, model in AUTOCOMPLETED:
        ids = autocomplete(client, source, field, partner=str(partner_b.pk))
        assert ids and partners_of(model, ids) == {partner_b.pk}, (source, field)

    # Forged requests of the autocomplete URL: no partner named, a malformed one, two of them,
    # one out of range. None of them answers with both partners' rows: they answer nothing.
    for params in (
        {},
        {"partner": "abc"},
        {"partner": ""},
        {"partner": [str(partner_b.pk), str(partner_a.pk)]},
        {"partner": "9" * 25},
        {"partner": "\u0661"},  # an Arabic-Indic digit one
    ):
        for source, field, _model in AUTOCOMPLETED:
            assert autocomplete(client, source, field, **params) == [], (source, field, params)


def test_the_autocomplete_answers_nothing_of_a_partner_the_user_is_not_in(
    as_user, partner_a, partner_b
):
    client = as_user("awa.reviewer")  # partner B only

    for source, field, model in AUTOCOMPLETED:
        assert autocomplete(client, source, field, partner=str(partner_a.pk)) == []
        # Without a partner named, a member of one partner gets that partner's rows.
        ids = autocomplete(client, source, field)
        assert ids and partners_of(model, ids) == {partner_b.pk}, (source, field)


def test_admin_offers_only_the_records_partners_loans_and_borrowers(as_user, partner_a, partner_b):
    repayment = Repayment.objects.filter(partner=partner_b).first()
    client = as_user("ana.preparer")

    response = client.get(admin_url("repayments", "repayment", "change", repayment.pk))

    form = response.context["adminform"].form
    assert set(form.fields["loan"].queryset.values_list("partner", flat=True)) == {partner_b.pk}
    assert set(form.fields["borrower"].queryset.values_list("partner", flat=True)) == {partner_b.pk}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the guard is PostgreSQL's")
def test_database_refuses_a_link_across_partners_whatever_wrote_it(partner_a, partner_b):
    loan_a = a_loan(partner_a)
    repayment = Repayment.objects.filter(partner=partner_b).first()
    borrower_a = Borrower.objects.filter(partner=partner_a).first()

    for write in (
        lambda: Repayment.objects.filter(pk=repayment.pk).update(loan=loan_a),
        lambda: Repayment.objects.filter(pk=repayment.pk).update(borrower=borrower_a),
        lambda: Journal.objects.filter(partner=partner_b).update(loan=loan_a),
        lambda: Loan.objects.filter(pk=loan_a.pk).update(partner=partner_b),
        lambda: loan_a.loan_borrowers.update(
            borrower=Borrower.objects.filter(partner=partner_b).first()
        ),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            write()
