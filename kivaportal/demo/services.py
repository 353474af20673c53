"""Demo data: two invented partners, a user per role, borrowers, loans in every state the
portal shows, repayments over several months and journals. Every name here is invented.

The records come in as real ones do: the demo's preparer imports its MIS's export files
through the intake's import jobs (integrations/mis/import_jobs.py: the check, as the upload
page's preview, then the import), built in memory in each partner's own format — Peru's loans
as the loans workbook, Senegal's as three CSV files in its French format (day first, decimal
comma, semicolons, Windows-1252) — with the borrowers in the loans' borrowers sheet and the
photos in a .zip; the repayments and journals by their file imports once the loans reached
Kiva; each month's repayment report opened by the report service. Then they move through the
same services: submitted by the preparer, opened and approved by a reviewer (four eyes), sent
to the local Kiva sandbox over HTTP by the pipeline's sender (what a worker runs), and
reconciled with Kiva's loan list. So every state shown has its import, submissions, audit
trail and Kiva answer, and the import result pages list what each file brought:

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

**The review times are invented.** A reviewer "opens" each record through the service its
review page calls (kivaportal/review/review_time.py) just before acting on it, with an opening
time made up a few minutes (2½ to 8) earlier: the dashboard's "Time saved" then shows a
median review time and hours saved, figures that say nothing of real reviews.

The sandbox must be reachable at the partners' connection URL (KIVA_SANDBOX_URL) while it
loads: `load_demo` serves the portal there for that time (kivaportal/demo/serving.py).

Loading is idempotent: records are keyed by their natural ids (MIS ids, usernames, Kiva ids);
what exists is left as it is (its workflow already happened): a file is imported only when
none of its records exists yet, so running it twice duplicates nothing, not even an import.
Random choices come from a seeded generator, so every run produces the same data.
"""

import io
import random
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from celery import current_app
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
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
from integrations.mis.import_jobs import import_job_create, import_job_records, import_job_start
from integrations.mis.models import (
    DateFormat,
    DecimalSeparator,
    ImportJob,
    ImportKind,
    ImportStatus,
    IntakeFormat,
)
from integrations.mis.templates_csv import (
    WORKBOOK_SHEETS,
    Examples,
    template_table,
    workbook_bytes,
)
from kivaportal.common.csv_export import csv_text
from kivaportal.common.money import quantize
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Borrower, Gender, Loan, LoanType
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
from kivaportal.repayments.services import repayment_report_open
from kivaportal.review.review_time import review_opened
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
    # How its MIS writes files: the partner's intake file format, CSV's delimiter and encoding,
    # and whether its loans come as one workbook (else three CSV files).
    intake_format: tuple = ()
    csv_delimiter: str = ","
    csv_encoding: str = "utf-8"
    loans_workbook: bool = False


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
        loans_workbook=True,
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
        # A French spreadsheet's CSV: day first, decimal comma, semicolons, Windows-1252.
        intake_format=(
            ("date_format", DateFormat.DAY_FIRST),
            ("decimal_separator", DecimalSeparator.COMMA),
        ),
        csv_delimiter=";",
        csv_encoding="cp1252",
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
# The repayment reports of the last three months (months back from today) and their states.
REPORTS = ((3, RecordState.SENT), (2, RecordState.SENT), (1, RecordState.SUBMITTED))
# The sent loan Kiva still holds as a draft (not published in PA2 yet); the others repay.
UNPUBLISHED_LOAN = 7


class DemoSandboxUnreachable(RuntimeError):
    """The demo cannot send: nothing answers at the demo partners' sandbox URL."""


@dataclass
class Walk:
    """Records that came in during this load, with the state each should reach, in order."""

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
    conf.update(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL="memory://localhost/")
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
    _upsert(IntakeFormat, partner=partner, defaults=dict(spec.intake_format))

    for k, n in ACTIVITIES:
        _upsert(Activity, partner=partner, kiva_id=k, defaults={"name": n})
    for k, n in THEMES:
        _upsert(Theme, partner=partner, kiva_id=k, defaults={"name": n})
    code, lang_name, lang_id = spec.language
    for language in ((code, lang_name, lang_id), ("en", "English", 1)):
        _upsert(
            Locale,
            partner=partner,
            currency=spec.currency,
            language_id=language[2],
            defaults={"language_code": language[0], "language_name": language[1]},
        )
    for place in spec.places:
        _upsert(
            Location,
            partner=partner,
            full_name=f"{place}: {spec.country_name}",
            defaults={"country": spec.country_name, "location": place},
        )
    _upsert(
        Activity,
        partner=partner,
        kiva_id=DROPPED_ACTIVITY[0],
        defaults={"name": DROPPED_ACTIVITY[1]},
    )
    _kiva_sandbox(spec, partner, users["admin"])

    # Fresh objects: a user caches their roles, and this partner's memberships are new.
    User = get_user_model()
    preparer = User.objects.get(username="ana.preparer")
    reviewer = User.objects.get(username=REVIEWERS[spec.kiva_partner_id])
    loans = _loans_planned(spec, rng, today)
    files = DemoFiles(spec, partner)

    # The MIS's exports, imported by the preparer as on the intake page: the loans with their
    # borrowers, schedules and photos; after they reached Kiva, the repayments and journals.
    walk = Walk()
    ids = [planned.mis_loan_id for planned in loans]
    if not Loan.objects.filter(partner=partner, mis_loan_id__in=ids).exists():
        _import(partner, ImportKind.LOANS, preparer, **files.loans(loans))
        imported = {loan.mis_loan_id: loan for loan in Loan.objects.filter(partner=partner)}
        for planned in loans:
            walk.add(imported[planned.mis_loan_id], planned.state)
    repayments = [r for planned in loans for r in _repayments_planned(planned, today)]
    new_repayments = not Repayment.objects.filter(
        partner=partner, mis_repayment_id__in=[r["mis_repayment_id"] for r in repayments]
    ).exists()
    journals = [j for planned in loans for j in _journals_planned(planned)]
    new_journals = not Journal.objects.filter(
        partner=partner,
        loan__mis_loan_id__in=[j["mis_loan_id"] for j in journals],
        subject__in=[j["subject"] for j in journals],
    ).exists()
    months = [
        ((today.replace(day=1) - timedelta(days=28 * back)).replace(day=1), state)
        for back, state in REPORTS
    ]
    new_reports = RepaymentReport.objects.filter(
        partner=partner, month__in=[m for m, _s in months]
    ).count() < len(months)
    if not (walk.steps or new_repayments or new_journals or new_reports):
        return

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

    later = Walk()
    if new_repayments:
        _import(partner, ImportKind.REPAYMENTS, preparer, file=files.csv("repayments", repayments))
    if new_journals:
        job = _import(partner, ImportKind.JOURNALS, preparer, file=files.csv("journals", journals))
        targets = {(j["mis_loan_id"], j["subject"]): j["state"] for j in journals}
        for journal in import_job_records(job).select_related("loan").order_by("pk"):
            later.add(journal, targets[(journal.loan.mis_loan_id, journal.subject)])
    # The month's report, opened by the preparer as the review pages do.
    for month, state in months:
        report, created = repayment_report_open(partner=partner, month=month, by=preparer)
        if created:
            later.add(report, state)
    for record, target in later.steps:
        _walk(record, target, preparer, reviewer, sandbox)
    # The daily sync: Kiva no longer lists the dropped activity (retired: loans use it).
    reference_sync(connection=connection)


@dataclass
class PlannedLoan:
    """One loan of the demo's MIS export, before it is imported."""

    n: int
    mis_loan_id: str
    state: str
    currency: str
    amount: Decimal
    disbursal: date
    members: list  # the borrowers' own columns, by name
    fields: dict  # the loans file's other columns, as values
    photo: bool
    shares: list = field(default_factory=list)
    schedule: list = field(default_factory=list)  # (due date, principal, interest)


def _loans_planned(spec: PartnerSpec, rng, today) -> list[PlannedLoan]:
    """The partner's loans as its MIS holds them: the same for the same seed."""
    people = []
    for i in range(1, spec.loan_count + 16):
        female = rng.random() < 0.75
        first = rng.choice(spec.first_names_f if female else spec.first_names_m)
        people.append(
            {
                "mis_client_id": f"{spec.prefix}-C{i:04d}",
                "first_name": first,
                "last_name": rng.choice(spec.last_names),
                "gender": Gender.FEMALE if female else Gender.MALE,
                "city": rng.choice(spec.places),
                "birth_date": date(1960 + rng.randrange(40), rng.randrange(1, 13), 15),
            }
        )
    free = iter(people)
    lang_id = spec.language[2]
    planned = []
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
        activity = rng.choice(ACTIVITIES)[0]
        if state == RecordState.REJECTED:
            activity = DROPPED_ACTIVITY[0]
        theme = rng.choice(THEMES)[0] if n % 3 == 0 else ""
        place = rng.choice(spec.places)
        loan = PlannedLoan(
            n=n,
            mis_loan_id=f"{spec.prefix}-L{n:05d}",
            state=state,
            currency=spec.currency,
            amount=amount,
            disbursal=disbursal,
            members=members,
            photo=not incomplete,
            fields={
                "loan_type": LoanType.GROUP if is_group else LoanType.INDIVIDUAL,
                "group_name": f"Grupo {spec.places[n % len(spec.places)]} {n}" if is_group else "",
                "group_client_id": f"{spec.prefix}-G{n:04d}" if is_group else "",
                "activity_id": activity,
                "theme_type_id": theme,
                "description_language_id": lang_id,
                "location": f"{place}: {spec.country_name}",
                "description": "" if incomplete else _story(members, spec),
                "loan_use": "" if incomplete else "To buy stock and tools for the business.",
                "client_waiver_signed": "no" if incomplete else "yes",
            },
        )
        share = quantize(amount / len(members), spec.currency)
        loan.shares = [share] * (len(members) - 1) + [amount - share * (len(members) - 1)]
        months = 6 + n % 7
        principal = quantize(amount / months, spec.currency)
        interest = quantize(amount * Decimal("0.025"), spec.currency)
        for k in range(months):
            last = k == months - 1
            loan.schedule.append(
                (
                    disbursal + timedelta(days=30 * (k + 1)),
                    amount - principal * (months - 1) if last else principal,
                    interest,
                )
            )
        planned.append(loan)
    return planned


def _repayments_planned(loan: PlannedLoan, today) -> list[dict]:
    """What the borrowers of a sent loan repaid: each instalment due before `today`."""
    if loan.state != RecordState.SENT:
        return []
    paid = []
    for k, (due, principal, interest) in enumerate(loan.schedule):
        if due >= today:
            break
        paid.append(
            {
                "mis_repayment_id": f"{loan.mis_loan_id}-P{k + 1:02d}",
                "mis_loan_id": loan.mis_loan_id,
                "date": due,
                "amount": quantize(principal + interest, loan.currency),
                "principal": principal,
                "interest": interest,
            }
        )
    return paid


def _journals_planned(loan: PlannedLoan) -> list[dict]:
    """Journals only on loans Kiva knows: one sent, one left a draft, per ten loans."""
    if loan.state != RecordState.SENT or loan.n % 10 not in (5, 6):
        return []
    who = loan.members[0]
    return [
        {
            "mis_loan_id": loan.mis_loan_id,
            "mis_client_id": who["mis_client_id"],
            "subject": f"Update from {who['first_name']}",
            "body": f"{who['first_name']} has expanded the business and thanks the lenders.",
            "state": RecordState.SENT if loan.n % 10 == 5 else RecordState.DRAFT,
        }
    ]


class DemoFiles:
    """The demo MIS's export files for one partner, made in memory in the partner's own format
    (its intake file format: dates, decimal separator; the columns of the templates the intake
    page offers, integrations/mis/templates_csv.py): a workbook, or CSV files."""

    def __init__(self, spec: PartnerSpec, partner):
        self.spec = spec
        self.examples = Examples(partner)  # formats dates and amounts as the partner's files do

    def _cell(self, value):
        if isinstance(value, Decimal):
            return self.examples.money(value)
        if isinstance(value, date):
            return self.examples.date(value)
        return value

    def table(self, name, rows) -> list[list]:
        return template_table(name, [{k: self._cell(v) for k, v in row.items()} for row in rows])

    def csv(self, name, rows) -> ContentFile:
        """The CSV file of the template `name` with `rows`, as the partner's MIS writes it."""
        text = csv_text(self.table(name, rows), delimiter=self.spec.csv_delimiter)
        return ContentFile(
            text.encode(self.spec.csv_encoding), name=f"{self.spec.prefix.lower()}-{name}.csv"
        )

    def loans(self, loans: list[PlannedLoan]) -> dict:
        """The loans import's files: the loans, their borrowers (with the borrowers' own
        columns, so the import creates them), their schedules, and the photos' .zip."""
        main, members, schedule = [], [], []
        photos = io.BytesIO()
        with zipfile.ZipFile(photos, "w") as archive:
            for loan in loans:
                photo = f"demo-{loan.mis_loan_id}.jpg" if loan.photo else ""
                main.append(
                    {
                        "mis_loan_id": loan.mis_loan_id,
                        "amount": loan.amount,
                        "currency": loan.currency,
                        "disbursal_date": loan.disbursal,
                        **loan.fields,
                        "photo": photo,
                    }
                )
                if photo:
                    archive.writestr(photo, _photo(loan.mis_loan_id, loan.members[0]))
                group = loan.fields["loan_type"] == LoanType.GROUP
                for position, (person, share) in enumerate(
                    zip(loan.members, loan.shares, strict=True)
                ):
                    members.append(
                        {
                            "mis_loan_id": loan.mis_loan_id,
                            "amount": share,
                            "borrower_loan_id": f"{loan.mis_loan_id}-{position + 1}"
                            if group
                            else "",
                            "not_pictured": "yes" if group and position == 2 else "no",
                            **person,
                        }
                    )
                for due, principal, interest in loan.schedule:
                    schedule.append(
                        {
                            "mis_loan_id": loan.mis_loan_id,
                            "due_date": due,
                            "principal": principal,
                            "interest": interest,
                        }
                    )
        prefix = self.spec.prefix.lower()
        files = {"photos_file": ContentFile(photos.getvalue(), name=f"{prefix}-photos.zip")}
        if self.spec.loans_workbook:
            sheets = {
                sheet: self.table(name, rows)
                for (sheet, name), rows in zip(
                    WORKBOOK_SHEETS.items(), (main, members, schedule), strict=True
                )
            }
            files["file"] = ContentFile(workbook_bytes(sheets), name=f"{prefix}-loans.xlsx")
            return files
        return {
            "file": self.csv("loans", main),
            "members_file": self.csv("loan_borrowers", members),
            "schedule_file": self.csv("schedule", schedule),
            **files,
        }


class DemoImportFailed(RuntimeError):
    """A demo file did not import (the demo's data and the intake's rules disagree): the load
    stops, and its transaction leaves nothing behind."""


def _import(partner, kind, by, **files) -> ImportJob:
    """Import `files` as `by` would on the intake page: the import job, its check (the
    preview), then the import. Run here, in the load's transaction, not by a worker."""
    job = import_job_create(partner=partner, kind=kind, by=by, **files)
    for commit, reached in ((False, ImportStatus.CHECKED), (True, ImportStatus.IMPORTED)):
        job = import_job_start(job=job, commit=commit, by=by, now=True)
        if job.status != reached:
            found = job.results.get("failure") or job.results.get("errors", [])[:5]
            raise DemoImportFailed(
                f"The demo's file {job.original_name} was not imported "
                f"({job.get_status_display()}): {found}"
            )
    return job


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
    # The reviewer opens its review page, as the page itself notes it (review_time.py), a few
    # invented minutes ago: the demo's review times are made up, so the dashboard's "Time
    # saved" has a figure to show.
    review_opened(record=record, by=reviewer, at=timezone.now() - _review_time(record))
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


def _review_time(record) -> timedelta:
    """The invented time a reviewer spent on `record`: 2½ to 8 minutes, the same every load."""
    rng = random.Random(f"{record._meta.model_name}:{record}")  # noqa: S311 - not security
    return timedelta(seconds=rng.randrange(150, 480))


def _photo(mis_loan_id, borrower) -> bytes:
    """An invented placeholder picture: a coloured card with the borrower's initials, as a
    JPEG. Its own generator, so the shared one draws the same numbers whatever the photos."""
    rng = random.Random(mis_loan_id)  # noqa: S311 - a colour, not security
    image = Image.new("RGB", (480, 360), tuple(rng.randrange(60, 200) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    initials = f"{borrower['first_name'][0]}{borrower['last_name'][0]}"
    draw.text((40, 150), initials, fill="white", font_size=72)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


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
        f"{who['first_name']} lives in {who['city']} and runs a small business. "
        f"This loan from {spec.name} helps the family grow it."
    )
