"""Demo data: two invented partners, a user per role, borrowers, loans in several states,
repayments over several months and journals. Every name here is invented.

Loading is idempotent: records are keyed by their natural ids (MIS ids, usernames, Kiva ids)
and updated in place, so running it twice duplicates nothing. Random choices come from a
seeded generator, so every run produces the same data.
"""

import io
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageDraw

from integrations.kiva.models import Environment, KivaConnection
from integrations.kiva.sandbox.services import sandbox_partner_register
from integrations.kiva.services import connection_configure, environment_defaults
from kivaportal.common.money import quantize
from kivaportal.common.photos import photo_copies_make
from kivaportal.journals.models import Journal
from kivaportal.lending.models import (
    Borrower,
    Gender,
    KivaStatus,
    Loan,
    LoanAtKiva,
    LoanBorrower,
    LoanType,
    ScheduleLine,
)
from kivaportal.partners.models import (
    Membership,
    Partner,
    RepaymentAmountRule,
    RepaymentCsvFormat,
)
from kivaportal.partners.roles import Role
from kivaportal.reference.models import Activity, Locale, Location, Theme
from kivaportal.repayments.models import Repayment, RepaymentReport
from kivaportal.review.services import records_recheck
from kivaportal.workflow.states import RecordState

DEMO_PASSWORD = "kiva-demo-2026"  # demo accounts only; load_demo refuses to run in production
# Sandbox-only API credentials, invented: they open nothing but the local Kiva sandbox.
DEMO_SANDBOX_SECRET = "sandbox-demo-secret-{partner_id}"


@dataclass(frozen=True)
class PartnerSpec:
    name: str
    kiva_partner_id: str
    country: str
    country_name: str
    currency: str
    language: tuple[str, str, int]  # code, name, Kiva language id
    csv_format: str
    amount_rule: str
    places: tuple[str, ...]
    first_names_f: tuple[str, ...]
    first_names_m: tuple[str, ...]
    last_names: tuple[str, ...]
    prefix: str
    loan_count: int
    base_amount: int


PARTNERS = (
    PartnerSpec(
        name="Cooperativa Wiñay Kawsay",
        kiva_partner_id="9001",
        country="PE",
        country_name="Peru",
        currency="PEN",
        language=("es", "Español", 2),
        csv_format=RepaymentCsvFormat.TWO_COLUMNS,
        amount_rule=RepaymentAmountRule.PERIOD_AMOUNT,
        places=("Cusco", "Ayacucho", "Huancayo", "Puno", "Andahuaylas"),
        first_names_f=("Rosa", "Yolanda", "Flor", "Maribel", "Nélida", "Juana", "Sonia"),
        first_names_m=("Wilber", "Edwin", "Teófilo", "Ruben", "Alcides"),
        last_names=(
            "Quispe Ñahui",
            "Huamán",
            "Mamani",
            "Condori",
            "Ccorimanya",
            "Túpac",
            "Pariona",
            "Yupanqui",
        ),
        prefix="WK",
        loan_count=30,
        base_amount=1500,
    ),
    PartnerSpec(
        name="Crédit Solidaire du Sahel",
        kiva_partner_id="9002",
        country="SN",
        country_name="Senegal",
        currency="XOF",
        language=("fr", "Français", 4),
        csv_format=RepaymentCsvFormat.THREE_COLUMNS,
        amount_rule=RepaymentAmountRule.CUMULATIVE_PRINCIPAL,
        places=("Thiès", "Kaolack", "Saint-Louis", "Ziguinchor", "Louga"),
        first_names_f=("Awa", "Fatou", "Marième", "Aïssatou", "Ndèye", "Coumba"),
        first_names_m=("Moussa", "Ibrahima", "Cheikh", "Ousmane"),
        last_names=("Diop", "Ndiaye", "Fall", "Sèye", "Gueye", "Diouf", "Sarr", "Mbaye"),
        prefix="CSS",
        loan_count=20,
        base_amount=400000,
    ),
)

ACTIVITIES = (
    (100, "Agriculture"),
    (101, "Livestock"),
    (120, "General Store"),
    (121, "Food Market"),
    (130, "Tailoring"),
    (140, "Dairy"),
)
THEMES = ((1, "Underserved"), (2, "Rural Exclusion"), (3, "Women's Empowerment"))

# Users by role. The superuser sees every partner.
USERS = (
    ("admin", "", "", None),
    ("ana.preparer", "Ana", "Preparadora", (("9001", Role.PREPARER), ("9002", Role.PREPARER))),
    ("rosa.reviewer", "Rosa", "Revisora", (("9001", Role.REVIEWER),)),
    ("pablo.admin", "Pablo", "Administrador", (("9001", Role.PARTNER_ADMIN),)),
    ("awa.reviewer", "Awa", "Relectrice", (("9002", Role.REVIEWER),)),
    ("moussa.admin", "Moussa", "Administrateur", (("9002", Role.PARTNER_ADMIN),)),
)

STATE_CYCLE = (
    RecordState.DRAFT,
    RecordState.DRAFT,
    RecordState.SUBMITTED,
    RecordState.SUBMITTED,
    RecordState.APPROVED,
    RecordState.SENT,
    RecordState.SENT,
    RecordState.SENT,
    RecordState.REJECTED,
    RecordState.NEEDS_ATTENTION,
)


def _upsert(model, defaults=None, **lookup):
    """update_or_create that saves only what differs: a reload of unchanged demo data writes
    no history rows (it would show changes that never happened)."""
    defaults = defaults or {}
    obj = model.objects.filter(**lookup).first()
    if obj is None:
        return model.objects.create(**lookup, **defaults), True
    changed = [k for k, v in defaults.items() if getattr(obj, k) != v]
    if changed:
        for k in changed:
            setattr(obj, k, defaults[k])
        obj.save()
    return obj, False


@transaction.atomic
def demo_load(*, today: date | None = None) -> dict[str, int]:
    """Create or refresh the demo data; returns counts of what exists afterwards."""
    today = today or date(2026, 11, 1)
    rng = random.Random(20261127)  # noqa: S311 - demo data, not security
    users = _users()
    for spec in PARTNERS:
        _partner(spec, users, rng, today)
    for model in (Loan, Journal, RepaymentReport):
        records_recheck(model=model)
    return {
        "partners": Partner.objects.count(),
        "users": get_user_model().objects.count(),
        "borrowers": Borrower.objects.count(),
        "loans": Loan.objects.count(),
        "repayments": Repayment.objects.count(),
        "journals": Journal.objects.count(),
        "kiva connections": KivaConnection.objects.count(),
    }


def _users():
    User = get_user_model()
    users = {}
    for username, first, last, _memberships in USERS:
        user, created = User.objects.get_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "email": f"{username}@example.org"},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            if username == "admin":
                user.is_superuser = user.is_staff = True
            user.save()
        users[username] = user
    return users


def _partner(spec: PartnerSpec, users, rng, today):
    preparer = users["ana.preparer"]
    partner, _created = _upsert(
        Partner,
        kiva_partner_id=spec.kiva_partner_id,
        defaults={
            "name": spec.name,
            "country": spec.country,
            "default_currency": spec.currency,
            "repayment_csv_format": spec.csv_format,
            "repayment_amount_rule": spec.amount_rule,
        },
    )
    for username, _f, _l, memberships in USERS:
        for kiva_id, role in memberships or ():
            if kiva_id == spec.kiva_partner_id:
                _upsert(Membership, user=users[username], partner=partner, defaults={"role": role})

    activities = [
        _upsert(Activity, partner=partner, kiva_id=k, defaults={"name": n})[0]
        for k, n in ACTIVITIES
    ]
    themes = [
        _upsert(Theme, partner=partner, kiva_id=k, defaults={"name": n})[0] for k, n in THEMES
    ]
    code, lang_name, lang_id = spec.language
    locale, _c = _upsert(
        Locale,
        partner=partner,
        currency=spec.currency,
        language_id=lang_id,
        defaults={"language_code": code, "language_name": lang_name},
    )
    _upsert(
        Locale,
        partner=partner,
        currency=spec.currency,
        language_id=1,
        defaults={"language_code": "en", "language_name": "English"},
    )
    locations = [
        _upsert(
            Location,
            partner=partner,
            full_name=f"{place}: {spec.country_name}",
            defaults={"country": spec.country_name, "location": place},
        )[0]
        for place in spec.places
    ]

    borrowers = []
    for i in range(1, spec.loan_count + 16):
        female = rng.random() < 0.75
        first = rng.choice(spec.first_names_f if female else spec.first_names_m)
        borrower, _c = _upsert(
            Borrower,
            partner=partner,
            mis_client_id=f"{spec.prefix}-C{i:04d}",
            defaults={
                "first_name": first,
                "last_name": rng.choice(spec.last_names),
                "gender": Gender.FEMALE if female else Gender.MALE,
                "city": rng.choice(spec.places),
                "birth_date": date(1960 + rng.randrange(40), rng.randrange(1, 13), 15),
                "created_by": preparer,
                "updated_by": preparer,
            },
        )
        borrowers.append(borrower)

    free = iter(borrowers)
    for n in range(1, spec.loan_count + 1):
        is_group = n % 5 == 0
        members = [next(free) for _ in range(3)] if is_group else [next(free)]
        state = STATE_CYCLE[n % len(STATE_CYCLE)]
        amount = quantize(Decimal(spec.base_amount * rng.randrange(2, 9)), spec.currency)
        disbursal = today - timedelta(days=30 * rng.randrange(1, 7))
        # A few drafts are left incomplete on purpose, to show the checks at work.
        incomplete = state == RecordState.DRAFT and n % 4 == 0
        loan, _c = _upsert(
            Loan,
            partner=partner,
            mis_loan_id=f"{spec.prefix}-L{n:05d}",
            defaults={
                "loan_type": LoanType.GROUP if is_group else LoanType.INDIVIDUAL,
                "group_name": f"Grupo {spec.places[n % len(spec.places)]} {n}" if is_group else "",
                "group_client_id": f"{spec.prefix}-G{n:04d}" if is_group else "",
                "amount": amount,
                "currency": spec.currency,
                "disbursal_date": disbursal,
                "activity": rng.choice(activities),
                "theme": rng.choice(themes) if n % 3 == 0 else None,
                "description_language": locale,
                "location": rng.choice(locations),
                "description": "" if incomplete else _story(members, spec),
                "loan_use": "" if incomplete else "To buy stock and tools for the business.",
                "client_waiver_signed": not incomplete,
                "state": state,
                "created_by": preparer,
                "updated_by": preparer,
            },
        )
        if not loan.photo and not incomplete:
            _photo(loan, members[0])
        _shares(loan, members, amount, spec.currency)
        _schedule(loan, amount, disbursal, spec.currency, months=6 + n % 7)
        if state == RecordState.SENT:
            _repayments(loan, partner, today, spec.currency, preparer)
        if state == RecordState.SENT and n % 3 == 0:
            # Journals are only for loans Kiva has published (a blocking check): the demo's
            # are on sent loans that Kiva knows with an id.
            LoanAtKiva.objects.get_or_create(
                loan=loan,
                defaults={
                    "kiva_id": int(spec.kiva_partner_id) * 10_000 + n,
                    "status": KivaStatus.PAYING_BACK,
                },
            )
            _upsert(
                Journal,
                partner=partner,
                loan=loan,
                subject=f"Update from {members[0].first_name}",
                defaults={
                    "borrower": members[0],
                    "body": f"{members[0].first_name} has expanded the business and thanks "
                    "the lenders.",
                    # One sent, one being written: both for a loan Kiva has published.
                    "state": RecordState.SENT if n % 2 == 0 else RecordState.DRAFT,
                    "created_by": preparer,
                    "updated_by": preparer,
                },
            )

    _kiva_sandbox(spec, partner, users["admin"])

    for back, state in ((3, RecordState.SENT), (2, RecordState.SENT), (1, RecordState.SUBMITTED)):
        month = (today.replace(day=1) - timedelta(days=28 * back)).replace(day=1)
        _upsert(
            RepaymentReport,
            partner=partner,
            month=month,
            defaults={"state": state, "created_by": preparer, "updated_by": preparer},
        )


def _photo(loan, borrower):
    """An invented placeholder picture: a coloured card with the borrower's initials.
    Its own generator, so the shared one draws the same numbers whether or not a photo is
    made (idempotent loading depends on it)."""
    rng = random.Random(loan.mis_loan_id)  # noqa: S311 - a colour, not security
    image = Image.new("RGB", (480, 360), tuple(rng.randrange(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    draw.text(
        (40, 150), f"{borrower.first_name[0]}{borrower.last_name[0]}", fill="white", font_size=72
    )
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    loan.photo.save(f"demo-{loan.mis_loan_id}.jpg", ContentFile(buffer.getvalue()), save=False)
    Loan.objects.filter(pk=loan.pk).update(photo=loan.photo.name)
    photo_copies_make(record=loan)


def _kiva_sandbox(spec: PartnerSpec, partner, admin):
    """The partner as the local Kiva sandbox knows it (client, config lists matching the
    reference data above), and the partner's connection pointing at the in-portal sandbox."""
    urls = environment_defaults(Environment.SANDBOX)
    client_id = f"demo-partner-{spec.kiva_partner_id}"
    secret = DEMO_SANDBOX_SECRET.format(partner_id=spec.kiva_partner_id)
    code, lang_name, lang_id = spec.language
    sandbox_partner_register(
        partner_id=spec.kiva_partner_id,
        name=spec.name,
        client_id=client_id,
        client_secret=secret,
        audience=urls["audience"],
        three_columns=spec.csv_format == RepaymentCsvFormat.THREE_COLUMNS,
        config={
            "activities": [{"activity_id": k, "activity": n} for k, n in ACTIVITIES],
            "themes": [{"theme_type_id": k, "theme_type": n} for k, n in THEMES],
            "locales": [
                {
                    "currency": spec.currency,
                    "language_code": code,
                    "language_name": lang_name,
                    "language_id": lang_id,
                },
                {
                    "currency": spec.currency,
                    "language_code": "en",
                    "language_name": "English",
                    "language_id": 1,
                },
            ],
            "locations": [
                {
                    "country": spec.country_name,
                    "location": place,
                    "full_name": f"{place}: {spec.country_name}",
                }
                for place in spec.places
            ],
        },
    )
    existing = KivaConnection.objects.filter(partner=partner).first()
    keep_secret = existing is not None and existing.get_client_secret() == secret
    if keep_secret and (existing.environment, existing.client_id, existing.api_base_url) == (
        Environment.SANDBOX,
        client_id,
        urls["api_base_url"],
    ):
        return  # already set up: saving again would only add a history row
    connection_configure(
        partner=partner,
        environment=Environment.SANDBOX,
        client_id=client_id,
        # Always given: moving the connection (another sandbox port) needs the secret again.
        client_secret=secret,
        by=admin,
        **urls,
    )


def _story(members, spec):
    who = members[0]
    return (
        f"{who.first_name} lives in {who.city} and runs a small business. "
        f"This loan from {spec.name} helps the family grow it."
    )


def _shares(loan, members, amount, currency):
    share = quantize(amount / len(members), currency)
    for position, borrower in enumerate(members):
        last = position == len(members) - 1
        _upsert(
            LoanBorrower,
            loan=loan,
            borrower=borrower,
            defaults={
                "amount": amount - share * (len(members) - 1) if last else share,
                "position": position,
                "mis_loan_id": f"{loan.mis_loan_id}-{position + 1}" if loan.is_group else "",
                "not_pictured": loan.is_group and position == 2,
            },
        )


def _schedule(loan, amount, disbursal, currency, months):
    principal = quantize(amount / months, currency)
    interest = quantize(amount * Decimal("0.025"), currency)
    dates = [disbursal + timedelta(days=30 * (k + 1)) for k in range(months)]
    loan.schedule.exclude(due_date__in=dates).delete()
    for k, due in enumerate(dates):
        last = k == months - 1
        _upsert(
            ScheduleLine,
            loan=loan,
            due_date=due,
            defaults={
                "principal": amount - principal * (months - 1) if last else principal,
                "interest": interest,
            },
        )


def _repayments(loan, partner, today, currency, preparer):
    lines = list(loan.schedule.all())
    for k, line in enumerate(lines):
        if line.due_date >= today:
            break
        _upsert(
            Repayment,
            partner=partner,
            mis_repayment_id=f"{loan.mis_loan_id}-P{k + 1:02d}",
            defaults={
                "loan": loan,
                "date": line.due_date,
                "amount": quantize(line.principal + line.interest, currency),
                "principal": line.principal,
                "interest": line.interest,
                "created_by": preparer,
                "updated_by": preparer,
            },
        )
