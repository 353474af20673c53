"""Demo data: two invented partners, a user per role, borrowers, loans in every state the
portal shows, repayments over several months and journals. Every name here is invented.

The records are entered as drafts by the demo's preparer, then moved through the same
services as real ones: submitted by the preparer, approved by a reviewer (four eyes), sent to
the local Kiva sandbox over HTTP by the pipeline's sender (what a worker runs), and reconciled
with Kiva's loan list. So every state shown has its submissions, audit trail and Kiva answer:

- sent loans are known to the sandbox (most of them published and repaying, one still a draft
  waiting in PA2), so repayments and journals on them work;
- *changes requested*: a loan the reviewer sent back to the preparer with a comment;
- *approved* records have their submission queued for a worker (the demo hands them to the
  broker, or to an in-memory one nobody reads when there is none: `manage.py kiva_sweep`
  sends them once they have waited on the queue for its requeue time, five minutes);
- *rejected by Kiva*: loans using an activity Kiva stopped listing after the last sync (the
  sandbox refuses them; the sync afterwards retires it, and the loan's checks say so);
- *needs attention*: Kiva answered a loan draft with a 502 (the sandbox's fault injection), so
  nobody knows whether it took it, and GET loans does not show it;
- *failed*: Kiva refused the credentials once (a 403 injected the same way): fix, then retry;
- *sent with problems*: a repayment report with a line for the loan Kiva still holds as a
  draft (Kiva's warning "not payingBack").

The sandbox must be reachable at the partners' connection URL (KIVA_SANDBOX_URL) while it
loads: `load_demo` serves the portal there for that time (kivaportal/demo/serving.py).

Loading is idempotent: records are keyed by their natural ids (MIS ids, usernames, Kiva ids);
what exists is left as it is (its workflow already happened), so running it twice duplicates
nothing. Random choices come from a seeded generator, so every run produces the same data.
"""

import io
import random
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from celery import current_app
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageDraw

from integrations.kiva.client import KivaClient
from integrations.kiva.errors import KivaError
from integrations.kiva.models import Environment, KivaConnection
from integrations.kiva.sandbox.models import SandboxLoan, SandboxPartner
from integrations.kiva.sandbox.services import (
    sandbox_faults_set,
    sandbox_loans_move,
    sandbox_partner_register,
)
from integrations.kiva.services import (
    connection_configure,
    environment_defaults,
    reference_sync,
)
from kivaportal.common.money import quantize
from kivaportal.common.photos import photo_copies_make
from kivaportal.journals.models import Journal
from kivaportal.lending.models import (
    Borrower,
    Gender,
    Loan,
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
from kivaportal.pipeline.models import Submission, SubmissionState
from kivaportal.pipeline.reconcile import reconcile_partner
from kivaportal.pipeline.sending import submission_send
from kivaportal.reference.models import Activity, Locale, Location, Theme
from kivaportal.repayments.models import Repayment, RepaymentReport
from kivaportal.review.services import (
    record_approve,
    record_request_changes,
    record_submit,
    records_recheck,
)
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
# In the portal's lists from an earlier sync, no longer in Kiva's: the loans that use it are
# rejected by Kiva, and the sync after them retires it.
DROPPED_ACTIVITY = (150, "Handicrafts")

# Users by role. The superuser sees every partner.
USERS = (
    ("admin", "", "", None),
    ("ana.preparer", "Ana", "Preparadora", (("9001", Role.PREPARER), ("9002", Role.PREPARER))),
    ("rosa.reviewer", "Rosa", "Revisora", (("9001", Role.REVIEWER),)),
    ("pablo.admin", "Pablo", "Administrador", (("9001", Role.PARTNER_ADMIN),)),
    ("awa.reviewer", "Awa", "Relectrice", (("9002", Role.REVIEWER),)),
    ("moussa.admin", "Moussa", "Administrateur", (("9002", Role.PARTNER_ADMIN),)),
)
REVIEWERS = {"9001": "rosa.reviewer", "9002": "awa.reviewer"}

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
# Loan numbers whose state differs from the cycle's: one failed send per partner, and one
# loan the reviewer sent back to the preparer with a comment.
FAILED_LOAN = 18
FAILED = RecordState.FAILED
RETURNED_LOAN = 11
RETURNED_COMMENT = "Say what the loan will buy: “stock and tools” is too vague for lenders."
# The sent loan Kiva still holds as a draft (not published in PA2 yet); the others repay.
UNPUBLISHED_LOAN = 7


class DemoSandboxUnreachable(RuntimeError):
    """The demo cannot send: nothing answers at the demo partners' sandbox URL."""


@dataclass
class Walk:
    """Records created in this load, with the state each should reach, in order."""

    steps: list = field(default_factory=list)

    def add(self, record, target):
        if target != RecordState.DRAFT:
            self.steps.append((record, target))


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


def demo_load(*, today: date | None = None) -> dict[str, int]:
    """Create or refresh the demo data; returns counts of what exists afterwards. Needs the
    sandbox reachable at KIVA_SANDBOX_URL (see the module's docstring)."""
    with _held_for_workers(), transaction.atomic():
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
        "submissions": Submission.objects.count(),
    }


@contextmanager
def _held_for_workers():
    """Approvals tell the workers after their commit (kivaportal/pipeline/queue.py). Without a
    broker the tasks would run in-process then, and send what the demo keeps *approved*: for
    the load, the messages go to an in-memory broker no worker reads (the sweeper, `manage.py
    kiva_sweep`, sends them after its requeue time). With a broker they go to it, as any
    approval's do."""
    conf = current_app.conf
    if not conf.task_always_eager:
        yield
        return
    # Django's settings are the configuration, under their CELERY_ names (kivaportal/celery.py).
    before = {"CELERY_TASK_ALWAYS_EAGER": True, "CELERY_BROKER_URL": conf.broker_url}
    conf.update(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="memory://")
    try:
        yield
    finally:
        conf.update(**before)


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

    dropped = _upsert(
        Activity,
        partner=partner,
        kiva_id=DROPPED_ACTIVITY[0],
        defaults={"name": DROPPED_ACTIVITY[1]},
    )[0]
    walk = Walk()
    journals = []
    free = iter(borrowers)
    for n in range(1, spec.loan_count + 1):
        is_group = n % 5 == 0
        members = [next(free) for _ in range(3)] if is_group else [next(free)]
        state = {FAILED_LOAN: FAILED, RETURNED_LOAN: RecordState.CHANGES_REQUESTED}.get(
            n, STATE_CYCLE[n % len(STATE_CYCLE)]
        )
        amount = quantize(Decimal(spec.base_amount * rng.randrange(2, 9)), spec.currency)
        disbursal = today - timedelta(days=30 * rng.randrange(1, 7))
        # A few drafts are left incomplete on purpose, to show the checks at work.
        incomplete = state == RecordState.DRAFT and n % 4 == 0
        activity = rng.choice(activities)
        if state == RecordState.REJECTED:
            activity = dropped
        loan, created = _upsert(
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
                "activity": activity,
                "theme": rng.choice(themes) if n % 3 == 0 else None,
                "description_language": locale,
                "location": rng.choice(locations),
                "description": "" if incomplete else _story(members, spec),
                "loan_use": "" if incomplete else "To buy stock and tools for the business.",
                "client_waiver_signed": not incomplete,
                "created_by": preparer,
                "updated_by": preparer,
            },
        )
        if not loan.photo and not incomplete:
            _photo(loan, members[0])
        _shares(loan, members, amount, spec.currency)
        _schedule(loan, amount, disbursal, spec.currency, months=6 + n % 7)
        if created:
            walk.add(loan, state)
        if state == RecordState.SENT:
            _repayments(loan, partner, today, spec.currency, preparer)
            if n % 10 in (5, 6):
                # Journals only on loans Kiva knows: one sent, one still a draft.
                journal, created = _upsert(
                    Journal,
                    partner=partner,
                    loan=loan,
                    subject=f"Update from {members[0].first_name}",
                    defaults={
                        "borrower": members[0],
                        "body": f"{members[0].first_name} has expanded the business and "
                        "thanks the lenders.",
                        "created_by": preparer,
                        "updated_by": preparer,
                    },
                )
                if created:
                    journals.append(
                        (journal, RecordState.SENT if n % 10 == 5 else RecordState.DRAFT)
                    )

    _kiva_sandbox(spec, partner, users["admin"])

    reports = Walk()
    for back, state in ((3, RecordState.SENT), (2, RecordState.SENT), (1, RecordState.SUBMITTED)):
        month = (today.replace(day=1) - timedelta(days=28 * back)).replace(day=1)
        report, created = _upsert(
            RepaymentReport,
            partner=partner,
            month=month,
            defaults={"created_by": preparer, "updated_by": preparer},
        )
        if created:
            reports.add(report, state)

    # Fresh objects: a user caches their roles, and this partner's memberships are new.
    User = get_user_model()
    preparer = User.objects.get(pk=preparer.pk)
    reviewer = User.objects.get(username=REVIEWERS[spec.kiva_partner_id])
    if walk.steps or reports.steps or journals:
        connection = KivaConnection.objects.get(partner=partner)
        try:
            KivaClient(connection).token(fresh=True)
        except KivaError as exc:
            raise DemoSandboxUnreachable(
                f"The Kiva sandbox does not answer at {connection.api_base_url} ({exc}): the "
                "demo sends its records there; `manage.py load_demo --url` serves it."
            ) from exc
        sandbox = SandboxPartner.objects.get(partner_id=spec.kiva_partner_id)
        for record, target in walk.steps:
            _walk(record, target, preparer, reviewer, sandbox)
        # Kiva's side: the partner publishes its drafts in PA2, lenders fund them, they repay;
        # one is still waiting to be published.
        waiting = f"{spec.prefix}-L{UNPUBLISHED_LOAN:05d}"
        sandbox_loans_move(
            partner=sandbox,
            status="payingBack",
            loans=SandboxLoan.objects.filter(partner=sandbox).exclude(internal_loan_id=waiting),
        )
        # Reconciled (Kiva ids and statuses), as the beat schedule would: journals need it.
        reconcile_partner(connection=connection, by=users["admin"])
        for record, target in [*reports.steps, *journals]:
            _walk(record, target, preparer, reviewer, sandbox)
        # The daily sync: Kiva no longer lists the dropped activity (retired: loans use it).
        reference_sync(connection=connection)


# Faults of the sandbox (its fault injection) that give the states below.
FAULTS = {
    # A gateway error after the POST arrived: Kiva may have the draft; GET loans says no.
    RecordState.NEEDS_ATTENTION: {"error_statuses": "502", "faults_remaining": 1},
    # Kiva refuses the credentials, and again with a fresh token: the send fails.
    FAILED: {"error_statuses": "403", "faults_remaining": 2},
}


def _walk(record, target, preparer, reviewer, sandbox):
    """Take a new draft to `target` through the services, as the people and the worker
    would: submit, approve (another person), send (the pipeline's sender), with a fault of the
    sandbox's for the states that need one."""
    if target == RecordState.DRAFT:
        return
    record = record_submit(record=record, by=preparer)
    if target == RecordState.SUBMITTED:
        return
    if target == RecordState.CHANGES_REQUESTED:
        record_request_changes(record=record, by=reviewer, comment=RETURNED_COMMENT)
        return
    record = record_approve(record=record, by=reviewer, comment="")
    if target == RecordState.APPROVED:
        return  # its submission waits for a worker
    fault = FAULTS.get(target)
    if fault:
        sandbox_faults_set(
            partner=sandbox,
            fault_target="api",
            error_share=1.0,
            **fault,
        )
    pending = Submission.objects.filter(
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        state=SubmissionState.PENDING,
    ).order_by("chunk")
    for submission_id in pending.values_list("pk", flat=True):
        submission_send(submission_id=submission_id, worker="demo")
    if fault:
        sandbox_faults_set(partner=sandbox, error_share=0.0, faults_remaining=None)


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
