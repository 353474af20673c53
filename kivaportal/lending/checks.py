"""What Kiva's data needs of a loan, checked before anyone may send it.

`loan_findings(loan)` returns blocking errors and warnings, each naming the field it is about.
What Kiva is known to refuse (a retired reference value after a sync, a group loan without
its group client id) is an error, so it cannot be approved and then rejected by Kiva.
Errors stop a loan from being submitted or approved; warnings (mostly fields PA2 needs at
publish time but not at draft time) are shown to the reviewer. The function reads the loan's
borrowers and schedule through the related managers, so a caller checking many loans
prefetches them (`loan_borrowers__borrower`, `schedule`).
"""

from decimal import Decimal

from django.utils.translation import gettext_noop

from kivaportal.common.checks import Finding, error, warning
from kivaportal.common.money import currency_decimals, has_currency_precision, quantize
from kivaportal.lending.models import Loan

ZERO = Decimal("0")


def _m(amount, loan):
    """An amount as staff read it: with the loan currency's decimals (not the column's)."""
    return quantize(amount, loan.currency) if loan.currency else amount


def loan_findings(loan: Loan) -> list[Finding]:
    shares = list(loan.loan_borrowers.all())
    schedule = list(loan.schedule.all())
    findings: list[Finding] = []
    findings += _amount_findings(loan, shares, schedule)
    findings += _borrower_findings(loan, shares)
    findings += _schedule_findings(loan, schedule)
    findings += _group_findings(loan, shares)
    findings += _reference_findings(loan)
    findings += _required_for_kiva(loan, schedule)
    return findings


def _precision(field, amount, currency):
    if amount is not None and currency and not has_currency_precision(amount, currency):
        return [
            error(
                field,
                gettext_noop("%(field)s has more decimals than %(currency)s allows (%(places)s)."),
                "precision",
                field=field,
                currency=currency,
                places=currency_decimals(currency),
            )
        ]
    return []


def _amount_findings(loan, shares, schedule):
    if loan.amount is None or loan.amount <= ZERO:
        return [
            error(
                "amount",
                gettext_noop("%(field)s must be greater than zero."),
                "amount_positive",
                field="amount",
            )
        ]
    findings = _precision("amount", loan.amount, loan.currency)
    if shares:
        total = sum((s.amount for s in shares), ZERO)
        if total != loan.amount:
            findings.append(
                error(
                    "borrowers",
                    gettext_noop(
                        "The borrowers' shares add up to %(total)s, not the loan amount %(amount)s."
                    ),
                    "shares_sum",
                    total=_m(total, loan),
                    amount=_m(loan.amount, loan),
                )
            )
    if schedule:
        principal = sum((line.principal for line in schedule), ZERO)
        if principal != loan.amount:
            findings.append(
                error(
                    "schedule",
                    gettext_noop(
                        "The schedule's principal adds up to %(total)s, not the loan amount "
                        "%(amount)s."
                    ),
                    "schedule_sum",
                    total=_m(principal, loan),
                    amount=_m(loan.amount, loan),
                )
            )
    return findings


def _borrower_findings(loan, shares):
    findings = []
    if not shares:
        findings.append(
            error(
                "borrowers",
                gettext_noop("A loan needs at least one borrower."),
                "borrowers_missing",
            )
        )
    for i, share in enumerate(shares, start=1):
        field = f"borrowers[{i}].amount"
        if share.amount is None or share.amount <= ZERO:
            findings.append(
                error(
                    field,
                    gettext_noop("%(field)s must be greater than zero."),
                    "amount_positive",
                    field=field,
                )
            )
        else:
            findings += _precision(field, share.amount, loan.currency)
        if share.borrower.partner_id != loan.partner_id:
            findings.append(
                error(
                    f"borrowers[{i}].borrower",
                    gettext_noop("Borrower %(client)s belongs to another partner."),
                    "wrong_partner",
                    client=share.borrower.mis_client_id,
                )
            )
    return findings


def _schedule_findings(loan, schedule):
    findings = []
    previous = None
    for i, line in enumerate(schedule, start=1):
        prefix = f"schedule[{i}]"
        if line.principal < ZERO or line.interest < ZERO:
            findings.append(
                error(
                    prefix,
                    gettext_noop("%(field)s: principal and interest cannot be negative."),
                    "amount_positive",
                    field=prefix,
                )
            )
        elif line.principal == ZERO and line.interest == ZERO:
            findings.append(
                error(
                    prefix,
                    gettext_noop("%(field)s: an instalment must have principal or interest."),
                    "amount_positive",
                    field=prefix,
                )
            )
        findings += _precision(f"{prefix}.principal", line.principal, loan.currency)
        findings += _precision(f"{prefix}.interest", line.interest, loan.currency)
        if previous is not None and line.due_date <= previous:
            findings.append(
                error(
                    f"{prefix}.due_date",
                    gettext_noop(
                        "%(field)s %(date)s is not after the instalment before it (%(previous)s)."
                    ),
                    "schedule_order",
                    field=f"{prefix}.due_date",
                    date=line.due_date,
                    previous=previous,
                )
            )
        previous = line.due_date
    if schedule and loan.disbursal_date and schedule[0].due_date <= loan.disbursal_date:
        findings.append(
            error(
                "disbursal_date",
                gettext_noop("%(field)s %(date)s must be before the first instalment (%(first)s)."),
                "disbursal_order",
                field="disbursal_date",
                date=loan.disbursal_date,
                first=schedule[0].due_date,
            )
        )
    return findings


def _group_findings(loan, shares):
    findings = []
    if not loan.is_group:
        for field in ("group_name", "group_client_id"):
            if getattr(loan, field):
                findings.append(
                    error(
                        field,
                        gettext_noop(
                            "%(field)s is for group loans only; PA2 refuses to publish "
                            "an individual loan that carries it."
                        ),
                        "group_only",
                        field=field,
                    )
                )
        for i, share in enumerate(shares, start=1):
            if share.not_pictured:
                field = f"borrowers[{i}].not_pictured"
                findings.append(
                    error(
                        field,
                        gettext_noop("%(field)s is for group loans only."),
                        "group_only",
                        field=field,
                    )
                )
        if len(shares) > 1:
            findings.append(
                error(
                    "borrowers",
                    gettext_noop(
                        "An individual loan has exactly one borrower; this one has %(count)s."
                    ),
                    "individual_one_borrower",
                    count=len(shares),
                )
            )
        return findings
    if not loan.group_name:
        findings.append(
            error(
                "group_name",
                gettext_noop("%(field)s is required for a group loan."),
                "group_required",
                field="group_name",
            )
        )
    if not loan.group_client_id:
        # Kiva refuses a group draft whose internal_client_id is empty.
        findings.append(
            error(
                "group_client_id",
                gettext_noop(
                    "%(field)s is required for a group loan: Kiva refuses a group "
                    "loan without its internal_client_id."
                ),
                "group_required",
                field="group_client_id",
            )
        )
    if len(shares) == 1:
        findings.append(
            warning(
                "borrowers",
                gettext_noop(
                    "A group loan with a single borrower: should it be an individual loan?"
                ),
                "group_size",
            )
        )
    if shares and all(s.not_pictured for s in shares):
        findings.append(
            warning(
                "not_pictured",
                gettext_noop("Every borrower is marked not pictured."),
                "not_pictured",
            )
        )
    return findings


def reference_errors(loan: Loan) -> list[Finding]:
    """Another partner's reference data, for the model's `clean()`: a retired value blocks
    sending (a check) but is still the loan's own, so editing the loan stays possible."""
    return [f for f in _reference_findings(loan) if f.is_error and f.code == "wrong_partner"]


def _reference_findings(loan):
    findings = []
    for field in ("activity", "theme", "description_language", "location"):
        value = getattr(loan, field)
        if value is None:
            continue
        if value.partner_id != loan.partner_id:
            findings.append(
                error(
                    field,
                    gettext_noop(
                        "%(field)s “%(value)s” belongs to another partner's reference data."
                    ),
                    "wrong_partner",
                    field=field,
                    value=value,
                )
            )
        elif value.retired:
            # Kiva refuses a draft that uses a value it no longer lists (seen at publish).
            findings.append(
                error(
                    field,
                    gettext_noop(
                        "%(field)s “%(value)s” is no longer in Kiva's list for this partner; "
                        "Kiva will refuse the loan. Choose a current value."
                    ),
                    "retired",
                    field=field,
                    value=value,
                )
            )
    language = loan.description_language
    if language is not None and loan.currency and language.currency != loan.currency:
        findings.append(
            warning(
                "description_language",
                gettext_noop(
                    "%(field)s is listed by Kiva for %(theirs)s, but the loan is in %(ours)s."
                ),
                "currency_locale",
                field="description_language",
                theirs=language.currency,
                ours=loan.currency,
            )
        )
    return findings


# Fields PA2 needs before a loan can be published, though a draft may go without them.
_KIVA_REQUIRED = (
    ("disbursal_date", "disbursal_date"),
    ("activity", "activity_id"),
    ("description_language", "description_language_id"),
    ("location", "location"),
    ("description", "description"),
    ("loan_use", "loanuse"),
    ("photo", "image_encoded"),
)


def _required_for_kiva(loan, schedule):
    findings = [
        warning(
            field,
            gettext_noop(
                "%(field)s is empty; Kiva needs it (%(kiva)s) before the loan can be published."
            ),
            "kiva_required",
            field=field,
            kiva=kiva,
        )
        for field, kiva in _KIVA_REQUIRED
        if not getattr(loan, field)
    ]
    if not schedule:
        findings.append(
            warning(
                "schedule",
                gettext_noop("%(field)s is empty; Kiva needs the repayment schedule."),
                "kiva_required",
                field="schedule",
            )
        )
    if not loan.client_waiver_signed:
        findings.append(
            warning(
                "client_waiver_signed",
                gettext_noop("%(field)s is not set."),
                "kiva_required",
                field="client_waiver_signed",
            )
        )
    return findings
