"""Two partners, each with one record of every kind and a member per role, for the admin's
scoping tests. Names carry the side's tag (ALFA, BETA) so a search term can match both."""

from dataclasses import dataclass

import pytest

from kivaportal.partners.models import Membership
from kivaportal.partners.roles import Role
from tests.factories import (
    ActivityFactory,
    BorrowerFactory,
    JournalFactory,
    LoanFactory,
    LocaleFactory,
    LocationFactory,
    PartnerFactory,
    RepaymentFactory,
    RepaymentReportFactory,
    SuperuserFactory,
    ThemeFactory,
    member,
)


@dataclass
class Side:
    tag: str
    partner: object
    preparer: object
    reviewer: object
    partner_admin: object
    membership: object  # the preparer's
    activity: object
    theme: object
    locale: object
    location: object
    borrower: object
    loan: object
    repayment: object
    report: object
    journal: object


def build_side(tag: str) -> Side:
    partner = PartnerFactory(name=f"Cooperativa {tag.title()}")
    low = tag.lower()
    preparer = member(partner, Role.PREPARER, username=f"preparer-{low}")
    reviewer = member(partner, Role.REVIEWER, username=f"reviewer-{low}")
    partner_admin = member(partner, Role.PARTNER_ADMIN, username=f"admin-{low}")
    activity = ActivityFactory(partner=partner, name=f"Bordado {tag}")
    theme = ThemeFactory(partner=partner, name=f"Tema {tag}")
    locale = LocaleFactory(partner=partner, language_name=f"Idioma {tag}")
    location = LocationFactory(partner=partner, location=f"Pueblo {tag}")
    borrower = BorrowerFactory(
        partner=partner, mis_client_id=f"{tag}-C1", first_name="Rosa", last_name=f"Quispe {tag}"
    )
    loan = LoanFactory(
        partner=partner,
        mis_loan_id=f"{tag}-L1",
        activity=activity,
        theme=theme,
        description_language=locale,
        location=location,
        borrowers=[borrower],
        created_by=preparer,
        updated_by=preparer,
    )
    return Side(
        tag=tag,
        partner=partner,
        preparer=preparer,
        reviewer=reviewer,
        partner_admin=partner_admin,
        membership=Membership.objects.get(user=preparer, partner=partner),
        activity=activity,
        theme=theme,
        locale=locale,
        location=location,
        borrower=borrower,
        loan=loan,
        repayment=RepaymentFactory(loan=loan, mis_repayment_id=f"{tag}-P1"),
        report=RepaymentReportFactory(partner=partner),
        journal=JournalFactory(loan=loan, subject=f"Noticias {tag}"),
    )


@pytest.fixture
def alfa(db):
    return build_side("ALFA")


@pytest.fixture
def beta(db):
    return build_side("BETA")


@pytest.fixture
def superuser(db):
    return SuperuserFactory()


# Every partner-owned record the admin lists: attribute of Side -> (app label, model name).
RECORDS = {
    "loan": ("lending", "loan"),
    "borrower": ("lending", "borrower"),
    "repayment": ("repayments", "repayment"),
    "report": ("repayments", "repaymentreport"),
    "journal": ("journals", "journal"),
    "activity": ("reference", "activity"),
    "theme": ("reference", "theme"),
    "locale": ("reference", "locale"),
    "location": ("reference", "location"),
    "membership": ("partners", "membership"),
    "partner": ("partners", "partner"),
}
