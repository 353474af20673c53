"""Writes for borrowers and loans outside the review moves, and of what Kiva knows of the
partner's loans (LoanAtKiva, KivaStatusChange).

Reconciliation (kivaportal/pipeline/reconcile.py) reads GET loans page by page and hands each
page here. A page costs a fixed number of queries whatever its size: matching is done with
`__in` lookups, the updates with one upsert and one bulk insert of status changes.

Matching, most certain first: the draft uuid Kiva gave when the draft was posted, Kiva's loan
id, then the MIS ids (Kiva's `internal_loan_id` is a group loan's `mis_loan_id`, and an
individual loan's borrower `loan_id`). An MIS id never overrides a draft uuid already known:
another draft with the same MIS id is reported, not guessed (`other_drafts`).
"""

from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from django.db import connection, transaction

from kivaportal.common.commit import on_commit_once
from kivaportal.lending.models import (
    KivaStatus,
    KivaStatusChange,
    Loan,
    LoanAtKiva,
    LoanBorrower,
    LoanDataVersion,
)
from kivaportal.lending.signals import loan_data_changed_signal
from kivaportal.workflow.transitions import record_data_changed

UPDATED_FIELDS = (
    "kiva_id",
    "draft_uuid",
    "status",
    "funded_amount",
    "delinquent",
    "seen_at",
    "status_changed_at",
    "missing_since",
    "environment",
)
KNOWN_STATUSES = frozenset(KivaStatus.values)
# What a repayment report's line shows of its loan (beside the repayments and Kiva's status):
# the names under which the admin and intake report an edit of them (a loan's fields, its
# borrowers inline or sheet, a borrower's fields).
LINE_FIELDS = frozenset(
    {
        "mis_loan_id",
        "group_client_id",
        "borrowers",
        "loanborrower",
        "mis_client_id",
        "first_name",
        "last_name",
    }
)


def loan_data_changed(*, partner_id: int, fields=None) -> bool:
    """What the partner's repayment reports show of its loans changed (`fields`: the edited
    fields' names; None: Kiva's status of some): raise the partner's `LoanDataVersion` in this
    transaction, and once it commits tell the apps above (the reports' stored lines are
    computed again: docs/performance.md). Edits of other fields change nothing."""
    if fields is not None and not LINE_FIELDS.intersection(fields):
        return False
    table = connection.ops.quote_name(LoanDataVersion._meta.db_table)
    with connection.cursor() as cursor:  # one statement, the partner's first time too
        cursor.execute(
            f"INSERT INTO {table} (partner_id, version) VALUES (%s, 1) "  # noqa: S608 - names are ours
            f"ON CONFLICT (partner_id) DO UPDATE SET version = {table}.version + 1",
            [partner_id],
        )
    on_commit_once(_Told(partner_id))
    return True


@dataclass(frozen=True)
class _Told:
    """The signal, sent once per partner and transaction (equal callbacks wait once)."""

    partner_id: int

    def __call__(self):
        loan_data_changed_signal.send(sender=LoanDataVersion, partner_id=self.partner_id)


@dataclass
class PageOutcome:
    matched: int = 0
    changed: int = 0  # status changes recorded
    unknown: int = 0  # loans Kiva lists that the portal does not hold
    # (item, loan id) of drafts matched by MIS id to a loan that has another draft uuid.
    other_drafts: list = field(default_factory=list)
    # loan id -> the item it was matched with on this page.
    items_by_loan: dict = field(default_factory=dict)


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except (TypeError, ValueError):
        return None


def _loan_ids_by(field: str, values: set, environment: str = "") -> dict:
    """LoanAtKiva's `field` value -> loan id, for the rows of `environment` (or of none
    recorded) whose `field` is in `values`."""
    if not values:
        return {}
    rows = LoanAtKiva.objects.filter(**{f"{field}__in": values})
    if environment:
        rows = rows.filter(environment__in=[environment, ""])
    return dict(rows.values_list(field, "loan_id"))


def _loans_by_mis_id(partner, ids: set[str]) -> dict[str, int]:
    """MIS loan id -> loan id, for group loans' own ids and individual borrowers' loan ids."""
    if not ids:
        return {}
    # Borrowers' own loan ids on their index, then only the partner's loans are kept (no join:
    # see loans_at_kiva_apply).
    shares = dict(
        LoanBorrower.objects.filter(mis_loan_id__in=ids).values_list("mis_loan_id", "loan_id")
    )
    ours = set(
        Loan.objects.filter(pk__in=set(shares.values()), partner=partner).values_list(
            "pk", flat=True
        )
        if shares
        else ()
    )
    found = {mis_id: loan_id for mis_id, loan_id in shares.items() if loan_id in ours}
    for mis_id, loan_id in Loan.objects.filter(partner=partner, mis_loan_id__in=ids).values_list(
        "mis_loan_id", "id"
    ):
        found[mis_id] = loan_id  # the loan's own id wins over a borrower's
    return found


@transaction.atomic
def loans_at_kiva_apply(*, partner, items, seen_at: datetime, environment: str = "") -> PageOutcome:
    """Record one page of GET loans (payloads.KivaLoan items), read from the connection's
    `environment`, on the partner's loans. What another environment knew of a loan (stage,
    before the move to production) is replaced, not matched."""
    outcome = PageOutcome()
    uuids = {u for u in (_uuid(i.uuid) for i in items) if u}
    kiva_ids = {i.kiva_id for i in items if i.kiva_id}
    # Draft uuids and Kiva ids are unique at Kiva: each is looked up on its own index, without
    # a join (which a planner misled by a fresh bulk load turned into a walk over every loan
    # of the partner), and what belongs to another partner is dropped after.
    by_uuid = _loan_ids_by("draft_uuid", uuids, environment)
    by_kiva_id = _loan_ids_by("kiva_id", kiva_ids, environment)
    found = set(by_uuid.values()) | set(by_kiva_id.values())
    ours = set(
        Loan.objects.filter(pk__in=found, partner=partner).values_list("pk", flat=True)
        if found
        else ()
    )
    by_uuid = {key: loan_id for key, loan_id in by_uuid.items() if loan_id in ours}
    by_kiva_id = {key: loan_id for key, loan_id in by_kiva_id.items() if loan_id in ours}
    rest = [i for i in items if _uuid(i.uuid) not in by_uuid and i.kiva_id not in by_kiva_id]
    by_mis_id = _loans_by_mis_id(partner, {i.internal_loan_id for i in rest if i.internal_loan_id})

    candidates: list[tuple[object, int, bool]] = []  # (item, loan id, matched by MIS id)
    for item in items:
        loan_id = by_uuid.get(_uuid(item.uuid)) or by_kiva_id.get(item.kiva_id)
        if loan_id is not None:
            candidates.append((item, loan_id, False))
        elif item.internal_loan_id in by_mis_id:
            candidates.append((item, by_mis_id[item.internal_loan_id], True))
        else:
            outcome.unknown += 1
    current = {
        loan_id: row
        for loan_id, row in LoanAtKiva.objects.in_bulk(
            [loan_id for _i, loan_id, _m in candidates]
        ).items()
        if _same_environment(row, environment)
    }

    rows: dict[int, LoanAtKiva] = {}
    changes: list[KivaStatusChange] = []
    for item, loan_id, by_mis in candidates:
        before = current.get(loan_id)
        uuid = _uuid(item.uuid)
        if loan_id in rows or (
            by_mis and before is not None and before.draft_uuid and before.draft_uuid != uuid
        ):
            # Another draft of a loan already matched or holding another draft uuid.
            outcome.other_drafts.append((item, loan_id))
            continue
        row = _updated(before, loan_id, item, uuid, seen_at)
        row.environment = environment
        if row.status != (before.status if before else ""):
            row.status_changed_at = seen_at
            changes.append(
                KivaStatusChange(
                    loan_id=loan_id,
                    from_status=before.status if before else "",
                    to_status=row.status,
                    kiva_id=row.kiva_id,
                    seen_at=seen_at,
                )
            )
        rows[loan_id] = row
        outcome.items_by_loan[loan_id] = item
    LoanAtKiva.objects.bulk_create(
        rows.values(),
        update_conflicts=True,
        unique_fields=["loan"],
        update_fields=UPDATED_FIELDS,
    )
    KivaStatusChange.objects.bulk_create(changes)
    if changes:
        loan_data_changed(partner_id=partner.pk)
    outcome.matched = len(rows)
    outcome.changed = len(changes)
    return outcome


def _same_environment(row, environment) -> bool:
    return not row.environment or not environment or row.environment == environment


def _updated(before, loan_id, item, uuid, seen_at) -> LoanAtKiva:
    row = LoanAtKiva(loan_id=loan_id)
    if before is not None:
        for name in UPDATED_FIELDS:
            setattr(row, name, getattr(before, name))
    row.kiva_id = item.kiva_id or row.kiva_id
    row.draft_uuid = row.draft_uuid or uuid
    # A status the portal does not know is kept as Kiva wrote it (shown as such).
    row.status = item.status[:20] if item.status else row.status
    if item.funded_amount is not None:
        row.funded_amount = item.funded_amount
    if item.delinquent is not None:
        row.delinquent = item.delinquent
    row.seen_at = seen_at
    row.missing_since = None
    return row


@transaction.atomic
def loans_at_kiva_flag_missing(
    *, partner, seen_before: datetime, now: datetime, environment: str = ""
) -> int:
    """Flag the partner's loans Kiva (`environment`) listed before but not in a complete
    reading of its list that started at `seen_before` (a draft deleted in PA2, say):
    `missing_since` is set and the history says so; the status stays what Kiva last showed.
    Loans known from another environment are not flagged: that Kiva was not read. Returns
    how many."""
    rows = LoanAtKiva.objects.select_for_update().filter(
        loan__partner=partner, seen_at__lt=seen_before, missing_since__isnull=True
    )
    if environment:
        rows = rows.filter(environment__in=[environment, ""])
    missing = list(rows.values_list("loan_id", "status", "kiva_id"))
    if not missing:
        return 0
    LoanAtKiva.objects.filter(loan_id__in=[m[0] for m in missing]).update(missing_since=now)
    KivaStatusChange.objects.bulk_create(
        KivaStatusChange(
            loan_id=loan_id,
            from_status=status,
            to_status="",
            kiva_id=kiva_id,
            seen_at=now,
        )
        for loan_id, status, kiva_id in missing
    )
    return len(missing)


def loan_at_kiva_draft_sent(*, loan_id: int, draft_uuid: str, environment: str = "") -> None:
    """Record the uuid Kiva (`environment`) gave a loan's new draft: reconciliation will
    match it first. What Kiva knew of an earlier draft (status, id) stays until Kiva lists the
    new one, unless that was another environment's (stage): then it is cleared. One
    statement (part of every send of a draft: docs/pipeline.md, section 9)."""
    uuid = _uuid(draft_uuid)
    if uuid is None:
        return
    table = connection.ops.quote_name(LoanAtKiva._meta.db_table)
    same = (
        f"({table}.environment = '' OR EXCLUDED.environment = '' "
        f"OR {table}.environment = EXCLUDED.environment)"
    )
    kept = ", ".join(
        f"{name} = CASE WHEN {same} THEN {table}.{name} ELSE {empty} END"
        for name, empty in (
            ("kiva_id", "NULL"),
            ("status", "''"),
            ("funded_amount", "NULL"),
            ("delinquent", "NULL"),
            ("seen_at", "NULL"),
            ("status_changed_at", "NULL"),
            ("missing_since", "NULL"),
        )
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (loan_id, draft_uuid, environment, status) "  # noqa: S608 - names are ours
            "VALUES (%s, %s, %s, '') ON CONFLICT (loan_id) DO UPDATE SET "
            f"{kept}, draft_uuid = EXCLUDED.draft_uuid, environment = CASE WHEN "
            f"EXCLUDED.environment = '' THEN {table}.environment ELSE EXCLUDED.environment END",
            [loan_id, uuid if connection.vendor == "postgresql" else uuid.hex, environment],
        )


def borrower_edited(*, borrower, by, changed_fields):
    """A borrower's data (name, gender, client id) is part of every loan they are on: a loan
    under review goes back to draft, one already on its way or sent notes it, each with an
    audit entry naming the part and the person (who, under four eyes, may then not approve
    it). Call after saving the edit, in the same transaction."""
    data = {"part": "borrower", "borrower": borrower.mis_client_id, "fields": changed_fields}
    loan_data_changed(partner_id=borrower.partner_id, fields=changed_fields)
    for loan in Loan.objects.filter(loan_borrowers__borrower=borrower).distinct():
        record_data_changed(record=loan, by=by, reason="borrower_changed", data=data)
