"""factory-boy factories for the domain models. Every name is invented."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from integrations.kiva.models import KivaConnection
from kivaportal.journals.models import Journal
from kivaportal.lending.models import (
    KIVA_PUBLISHED,
    Borrower,
    Gender,
    KivaStatus,
    Loan,
    LoanAtKiva,
    LoanBorrower,
    LoanType,
    ScheduleLine,
)
from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Role
from kivaportal.reference.models import Activity, Locale, Location, Theme
from kivaportal.repayments.models import Repayment, RepaymentReport


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", "secret-pass-123")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    name = factory.Sequence(lambda n: f"Microfinanzas Ejemplo {n}")
    kiva_partner_id = factory.Sequence(lambda n: str(1000 + n))
    country = "PE"
    default_currency = "PEN"


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    partner = factory.SubFactory(PartnerFactory)
    role = Role.PREPARER


def member(partner, role=Role.PREPARER, **user_kwargs):
    """A user with one active membership in `partner`."""
    user = UserFactory(**user_kwargs)
    MembershipFactory(user=user, partner=partner, role=role)
    return user


class ActivityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Activity

    partner = factory.SubFactory(PartnerFactory)
    kiva_id = factory.Sequence(lambda n: 100 + n)
    name = factory.Sequence(lambda n: f"Activity {n}")


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Theme

    partner = factory.SubFactory(PartnerFactory)
    kiva_id = factory.Sequence(lambda n: 1 + n)
    name = factory.Sequence(lambda n: f"Theme {n}")


class LocaleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Locale

    partner = factory.SubFactory(PartnerFactory)
    currency = "PEN"
    language_code = "es"
    language_name = "Español"
    language_id = factory.Sequence(lambda n: 2 + n)


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    partner = factory.SubFactory(PartnerFactory)
    country = "Peru"
    location = factory.Sequence(lambda n: f"Pueblo {n}")
    full_name = factory.LazyAttribute(lambda o: f"{o.location}: {o.country}")


class BorrowerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Borrower

    partner = factory.SubFactory(PartnerFactory)
    mis_client_id = factory.Sequence(lambda n: f"C{n:05d}")
    first_name = "Rosa"
    last_name = factory.Sequence(lambda n: f"Quispe{n}")
    gender = Gender.FEMALE


class LoanFactory(factory.django.DjangoModelFactory):
    """A complete individual loan: one borrower, a schedule that adds up, reference data."""

    class Meta:
        model = Loan
        skip_postgeneration_save = True

    partner = factory.SubFactory(PartnerFactory)
    mis_loan_id = factory.Sequence(lambda n: f"L{n:06d}")
    loan_type = LoanType.INDIVIDUAL
    amount = Decimal("1200.00")
    currency = "PEN"
    disbursal_date = date(2026, 1, 10)
    activity = factory.SubFactory(ActivityFactory, partner=factory.SelfAttribute("..partner"))
    description_language = factory.SubFactory(
        LocaleFactory, partner=factory.SelfAttribute("..partner")
    )
    location = factory.SubFactory(LocationFactory, partner=factory.SelfAttribute("..partner"))
    description = "Rosa sells vegetables in the market of her town."
    loan_use = "To buy seeds and a cart."
    photo = factory.django.ImageField(width=40, height=30, color="green")
    client_waiver_signed = True

    @factory.post_generation
    def borrowers(loan, create, extracted, **kwargs):
        """`borrowers=[b1, b2]` for a group; by default one new borrower takes the full amount."""
        if not create:
            return
        people = extracted if extracted is not None else [BorrowerFactory(partner=loan.partner)]
        if not people:
            return
        share = (loan.amount / len(people)).quantize(Decimal("0.01"))
        for position, person in enumerate(people):
            last = position == len(people) - 1
            LoanBorrower.objects.create(
                loan=loan,
                borrower=person,
                amount=loan.amount - share * (len(people) - 1) if last else share,
                position=position,
            )

    @factory.post_generation
    def instalments(loan, create, extracted, **kwargs):
        """`instalments=N` monthly lines (default 4) whose principal adds up to the amount."""
        if not create:
            return
        count = 4 if extracted is None else extracted
        if not count:
            return
        principal = (loan.amount / count).quantize(Decimal("0.01"))
        for k in range(count):
            last = k == count - 1
            ScheduleLine.objects.create(
                loan=loan,
                due_date=loan.disbursal_date + timedelta(days=30 * (k + 1)),
                principal=loan.amount - principal * (count - 1) if last else principal,
                interest=Decimal("30.00"),
            )


class RepaymentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Repayment

    loan = factory.SubFactory(LoanFactory)
    partner = factory.SelfAttribute("loan.partner")
    mis_repayment_id = factory.Sequence(lambda n: f"P{n:07d}")
    date = date(2026, 2, 10)
    amount = Decimal("330.00")
    principal = Decimal("300.00")
    interest = Decimal("30.00")


class RepaymentReportFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RepaymentReport

    partner = factory.SubFactory(PartnerFactory)
    month = date(2026, 2, 1)


class JournalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Journal
        skip_postgeneration_save = True

    loan = factory.SubFactory(LoanFactory)
    partner = factory.SelfAttribute("loan.partner")
    subject = "Rosa's stall is growing"
    body = "With the loan Rosa bought a cart and now sells in two markets."

    @factory.post_generation
    def kiva_status(journal, create, extracted, **kwargs):
        """The loan's status as Kiva lists it (journals are for published loans):
        payingBack by default, with a Kiva loan id once published; `kiva_status=""` leaves
        the loan unknown to Kiva."""
        if create and extracted != "":
            status = extracted or KivaStatus.PAYING_BACK
            kiva_id = 3_000_000 + journal.loan.pk if status in KIVA_PUBLISHED else None
            row, created = LoanAtKiva.objects.get_or_create(
                loan=journal.loan, defaults={"status": status, "kiva_id": kiva_id}
            )
            if not created and not row.status:  # a sent draft Kiva has not listed yet
                row.status, row.kiva_id = status, row.kiva_id or kiva_id
                row.save(update_fields=["status", "kiva_id"])


# Added for the foundation's test suite. The factories above keep their defaults.


def add_shares(loan, people, *, per_borrower_loan_ids=False):
    """Split `loan.amount` over `people` in order (the last takes the rounding remainder)."""
    share = (loan.amount / len(people)).quantize(Decimal("0.01"))
    for position, person in enumerate(people):
        last = position == len(people) - 1
        LoanBorrower.objects.create(
            loan=loan,
            borrower=person,
            amount=loan.amount - share * (len(people) - 1) if last else share,
            position=position,
            mis_loan_id=f"{loan.mis_loan_id}-{position + 1}" if per_borrower_loan_ids else "",
        )


class GroupLoanFactory(LoanFactory):
    """A complete group loan: three new borrowers (each with their own MIS loan id), a group
    name and client id, a schedule that adds up. `borrowers=[...]` picks the members."""

    loan_type = LoanType.GROUP
    group_name = factory.Sequence(lambda n: f"Grupo Las Flores {n}")
    group_client_id = factory.Sequence(lambda n: f"G{n:05d}")

    @factory.post_generation
    def borrowers(loan, create, extracted, **kwargs):
        if not create:
            return
        people = (
            extracted
            if extracted is not None
            else [BorrowerFactory(partner=loan.partner) for _ in range(3)]
        )
        if people:
            add_shares(loan, people, per_borrower_loan_ids=True)


class SuperuserFactory(UserFactory):
    username = factory.Sequence(lambda n: f"operator{n}")
    is_superuser = True
    is_staff = True


class KivaConnectionFactory(factory.django.DjangoModelFactory):
    """A connection to an invented Kiva host (for tests that fake HTTP with `responses`)."""

    class Meta:
        model = KivaConnection
        skip_postgeneration_save = True

    partner = factory.SubFactory(PartnerFactory)
    environment = "stage"
    token_url = "https://auth.kiva.test/oauth/token"
    api_base_url = "https://api.kiva.test"
    audience = "https://api.kiva.test"
    client_id = "portal-client"
    kiva_partner_id = factory.SelfAttribute("partner.kiva_partner_id")

    @factory.post_generation
    def client_secret(obj, create, extracted, **kwargs):
        obj.set_client_secret("s3cret&key=with+specials" if extracted is None else extracted)
        if create:
            obj.save()


def api_key(partner, name="MIS", owner=None):
    """An active intake API key of `partner`: (ApiKey row, the full key the MIS sends). Its
    owner (the accountable member) is a new preparer unless given."""
    from integrations.mis.models import ApiKey

    owner = owner or member(partner, Role.PREPARER)
    full, prefix, hashed = ApiKey.generate()
    row = ApiKey.objects.create(
        partner=partner, name=name, prefix=prefix, key_hash=hashed, owner=owner
    )
    return row, full


def mis_client(partner, *, scopes=None, owner=None, name="MIS", **fields):
    """An active MIS client of `partner` (OAuth client credentials): (row, client secret)."""
    from integrations.mis.models import MisClient, Scope

    owner = owner or member(partner, Role.PREPARER)
    client_id, secret, hashed = MisClient.generate()
    row = MisClient.objects.create(
        partner=partner,
        name=name,
        client_id=client_id,
        secret_hash=hashed,
        scopes=list(Scope.values) if scopes is None else list(scopes),
        owner=owner,
        **fields,
    )
    return row, secret
