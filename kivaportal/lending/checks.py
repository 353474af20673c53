"""What Kiva's data needs of a loan, checked before anyone may send it.

`loan_findings(loan)` returns blocking errors and warnings, each naming the field it is about.
Errors stop a loan from being approved; warnings (mostly fields PA2 needs at publish time but
not at draft time) are shown to the reviewer. The function reads the loan's borrowers and
schedule through the related managers, so a caller checking many loans prefetches them.
"""

from decimal import Decimal

from django.utils.translation import gettext as _

from kivaportal.common.checks import Finding, Severity
from kivaportal.common.money import currency_decimals, has_currency_precision
from kivaportal.lending.models import Loan

ZERO = Decimal("0")


def _error(field, message, code):
    return Finding(Severity.ERROR, field, message, code)


def _warning(field, message, code):
    return Finding(Severity.WARNING, field, message, code)


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
            _error(
                field,
                _("%(field)s has more decimals than %(currency)s allows (%(places)d).")
                % {"field": field, "currency": currency, "places": currency_decimals(currency)},
                "precision",
            )
        ]
    return []


def _amount_findings(loan, shares, schedule):
    findings = []
    if loan.amount is None or loan.amount <= ZERO:
        findings.append(_error("amount", _("amount must be greater than zero."), "amount_positive"))
        return findings
    findings += _precision("amount", loan.amount, loan.currency)
    if shares:
        total = sum((s.amount for s in shares), ZERO)
        if total != loan.amount:
            findings.append(
                _error(
                    "borrowers",
                    _("The borrowers' shares add up to %(total)s, not the loan amount %(amount)s.")
                    % {"total": total, "amount": loan.amount},
                    "shares_sum",
                )
            )
    if schedule:
        principal = sum((line.principal for line in schedule), ZERO)
        if principal != loan.amount:
            findings.append(
                _error(
                    "schedule",
                    _(
                        "The schedule's principal adds up to %(total)s, not the loan amount "
                        "%(amount)s."
                    )
                    % {"total": principal, "amount": loan.amount},
                    "schedule_sum",
                )
            )
    return findings


def _borrower_findings(loan, shares):
    findings = []
    if not shares:
        findings.append(
            _error("borrowers", _("A loan needs at least one borrower."), "borrowers_missing")
        )
    for i, share in enumerate(shares, start=1):
        field = f"borrowers[{i}].amount"
        if share.amount is None or share.amount <= ZERO:
            findings.append(
                _error(
                    field,
                    _("%(field)s must be greater than zero.") % {"field": field},
                    "amount_positive",
                )
            )
        else:
            findings += _precision(field, share.amount, loan.currency)
        if share.borrower.partner_id != loan.partner_id:
            findings.append(
                _error(
                    f"borrowers[{i}].borrower",
                    _("Borrower %(client)s belongs to another partner.")
                    % {"client": share.borrower.mis_client_id},
                    "wrong_partner",
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
                _error(
                    prefix,
                    _("%(field)s: principal and interest cannot be negative.") % {"field": prefix},
                    "amount_positive",
                )
            )
        elif line.principal == ZERO and line.interest == ZERO:
            findings.append(
                _error(
                    prefix,
                    _("%(field)s: an instalment must have principal or interest.")
                    % {"field": prefix},
                    "amount_positive",
                )
            )
        findings += _precision(f"{prefix}.principal", line.principal, loan.currency)
        findings += _precision(f"{prefix}.interest", line.interest, loan.currency)
        if previous is not None and line.due_date <= previous:
            findings.append(
                _error(
                    f"{prefix}.due_date",
                    _(
                        "%(field)s.due_date %(date)s is not after the instalment before it "
                        "(%(previous)s)."
                    )
                    % {"field": prefix, "date": line.due_date, "previous": previous},
                    "schedule_order",
                )
            )
        previous = line.due_date
    if schedule and loan.disbursal_date and schedule[0].due_date <= loan.disbursal_date:
        findings.append(
            _error(
                "disbursal_date",
                _("disbursal_date %(date)s must be before the first instalment (%(first)s).")
                % {"date": loan.disbursal_date, "first": schedule[0].due_date},
                "disbursal_order",
            )
        )
    return findings


def _group_findings(loan, shares):
    findings = []
    if not loan.is_group:
        for field, value in (
            ("group_name", loan.group_name),
            ("group_client_id", loan.group_client_id),
        ):
            if value:
                findings.append(
                    _error(
                        field,
                        _(
                            "%(field)s is for group loans only; PA2 refuses to publish an "
                            "individual loan that carries it."
                        )
                        % {"field": field},
                        "group_only",
                    )
                )
        for i, share in enumerate(shares, start=1):
            if share.not_pictured:
                field = f"borrowers[{i}].not_pictured"
                findings.append(
                    _error(
                        field,
                        _("%(field)s is for group loans only.") % {"field": field},
                        "group_only",
                    )
                )
        if len(shares) > 1:
            findings.append(
                _error(
                    "borrowers",
                    _("An individual loan has exactly one borrower; this one has %(count)d.")
                    % {"count": len(shares)},
                    "individual_one_borrower",
                )
            )
        return findings
    if not loan.group_name:
        findings.append(
            _error("group_name", _("group_name is required for a group loan."), "group_required")
        )
    if not loan.group_client_id:
        findings.append(
            _warning(
                "group_client_id",
                _(
                    "group_client_id is empty: Kiva's internal_client_id "
                    "for the group will be missing."
                ),
                "kiva_required",
            )
        )
    if len(shares) == 1:
        findings.append(
            _warning(
                "borrowers",
                _("A group loan with a single borrower: should it be an individual loan?"),
                "group_size",
            )
        )
    if shares and all(s.not_pictured for s in shares):
        findings.append(
            _warning("not_pictured", _("Every borrower is marked not pictured."), "not_pictured")
        )
    return findings


def reference_errors(loan: Loan) -> list[Finding]:
    """Blocking reference-data errors alone, for the model's `clean()`."""
    return [f for f in _reference_findings(loan) if f.is_error]


def _reference_findings(loan):
    findings = []
    for field in ("activity", "theme", "description_language", "location"):
        value = getattr(loan, field)
        if value is None:
            continue
        if value.partner_id != loan.partner_id:
            findings.append(
                _error(
                    field,
                    _(
                        "%(field)s \u201c%(value)s\u201d belongs to another partner's "
                        "reference data."
                    )
                    % {"field": field, "value": value},
                    "wrong_partner",
                )
            )
        elif value.retired:
            findings.append(
                _warning(
                    field,
                    _(
                        "%(field)s \u201c%(value)s\u201d is no longer in Kiva's list "
                        "for this partner."
                    )
                    % {"field": field, "value": value},
                    "retired",
                )
            )
    language = loan.description_language
    if language is not None and loan.currency and language.currency != loan.currency:
        findings.append(
            _warning(
                "description_language",
                _(
                    "description_language is listed by Kiva for "
                    "%(theirs)s, but the loan is in %(ours)s."
                )
                % {"theirs": language.currency, "ours": loan.currency},
                "currency_locale",
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
        _warning(
            field,
            _("%(field)s is empty; Kiva needs it (%(kiva)s) before the loan can be published.")
            % {"field": field, "kiva": kiva},
            "kiva_required",
        )
        for field, kiva in _KIVA_REQUIRED
        if not getattr(loan, field)
    ]
    if not schedule:
        findings.append(
            _warning(
                "schedule",
                _("schedule is empty; Kiva needs the repayment schedule."),
                "kiva_required",
            )
        )
    if not loan.client_waiver_signed:
        findings.append(
            _warning("client_waiver_signed", _("client_waiver_signed is not set."), "kiva_required")
        )
    return findings
