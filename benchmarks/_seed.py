"""Bulk seeding for the page benchmarks: one partner's loans, schedules, borrowers, repayments
and their history rows, written by PostgreSQL itself (INSERT ... SELECT over generate_series),
so 100,000 loans with 1.2 million schedule lines take about a minute, not an hour.

Columns the statement does not name get the model field's default, so a new NOT NULL field
does not break the seeding. All data is invented.
"""

from django.db import connection

LINES = 12  # schedule lines per loan
REPAYMENTS_PER_LOAN = 5  # the scale: 100,000 loans, 500,000 repayments
MONTHS = 25  # repayments spread over 25 months: 20,000 lines a month at 100,000 loans


def _insert_select(model, exprs: dict, source: str, params=()):
    """INSERT INTO model's table (every column) SELECT exprs (or each field's default) FROM
    source."""
    columns, values, args = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in exprs:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.column in exprs:
            values.append(exprs[field.column])
            continue
        default = field.get_default()  # "" for a text field without a default
        if default is None and not field.null:
            raise ValueError(f"{model.__name__}.{field.name}: no value and no default")
        values.append("%s")
        args.append(field.get_db_prep_save(default, connection))
    sql = (
        f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({', '.join(columns)}) "  # noqa: S608 (names from model metadata)
        f"SELECT {', '.join(values)} FROM {source}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*args, *params])


def _history_of(model, where: str, params=()):
    """One "+" history row per row of `model` matching `where` (as an import writes them)."""
    history = model.history.model
    exprs = {}
    for field in history._meta.concrete_fields:
        if field.attname == "history_id":
            continue
        if field.attname == "history_date":
            exprs[field.column] = "now()"
        elif field.attname == "history_type":
            exprs[field.column] = "'+'"
        elif field.attname in ("history_user_id", "history_change_reason"):
            exprs[field.column] = "NULL"
        else:
            exprs[field.column] = f"t.{connection.ops.quote_name(field.column)}"
    table = connection.ops.quote_name(model._meta.db_table)
    _insert_select(history, exprs, f"{table} t WHERE {where}", params)


def seed_partner(partner, loans: int):
    """Borrowers, loans (states in rotation), shares, schedules, repayments, history."""
    from kivaportal.lending.models import Borrower, Loan, LoanBorrower, ScheduleLine
    from kivaportal.repayments.models import Repayment

    p = partner.pk
    series = f"generate_series(0, {loans - 1}) g"
    _insert_select(
        Borrower,
        {
            "created_at": "now()",
            "updated_at": "now()",
            "partner_id": str(p),
            "mis_client_id": "'B' || lpad(g::text, 7, '0')",
            "first_name": "'Rosa'",
            "last_name": "'Quispe ' || g",
            "gender": "'female'",
        },
        series,
    )
    states = ["draft", "submitted", "sent", "sent", "approved", "rejected"]
    state = "(ARRAY[{}])[mod(g, {}) + 1]".format(", ".join(f"'{s}'" for s in states), len(states))
    _insert_select(
        Loan,
        {
            # One import a minute, newest last: lists ordered by creation read the newest.
            "created_at": "now() - (g || ' minutes')::interval",
            "updated_at": "now()",
            "partner_id": str(p),
            "mis_loan_id": "'L' || lpad(g::text, 7, '0')",
            "amount": "1200.00",
            "currency": "'PEN'",
            "disbursal_date": "date '2024-12-10'",
            "state": state,
            "state_changed_at": "now() - (g || ' minutes')::interval",
            "description": "'Benchmark loan'",
            "loan_use": "'Stock'",
        },
        series,
    )
    numbered = (
        f"(SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM lending_loan "  # noqa: S608
        f"WHERE partner_id = {p}) l"
    )
    _insert_select(
        LoanBorrower,
        {
            "loan_id": "l.id",
            "borrower_id": "b.id",
            "amount": "1200.00",
        },
        f"{numbered} JOIN lending_borrower b ON b.partner_id = {p} "
        "AND b.mis_client_id = 'B' || lpad(l.k::text, 7, '0')",
    )
    _insert_select(
        ScheduleLine,
        {
            "loan_id": "l.id",
            "due_date": "date '2025-01-10' + 30 * (s + 1)",
            "principal": "100.00",
            "interest": "12.00",
        },
        f"{numbered} CROSS JOIN generate_series(0, {LINES - 1}) s",
    )
    per_month = loans * REPAYMENTS_PER_LOAN // MONTHS
    # Repayment i: loan i mod loans, month i // per_month, so each month repays `per_month`
    # different loans.
    _insert_select(
        Repayment,
        {
            "created_at": "now()",
            "updated_at": "now()",
            "partner_id": str(p),
            "loan_id": "l.id",
            "mis_repayment_id": "'P' || lpad(i::text, 8, '0')",
            "date": f"date '2025-01-01' + make_interval(months => i / {per_month})::interval"
            " + mod(i, 20) * interval '1 day'",
            "amount": "112.00",
            "principal": "100.00",
            "interest": "12.00",
        },
        f"generate_series(0, {loans * REPAYMENTS_PER_LOAN - 1}) i JOIN {numbered} "
        f"ON l.k = mod(i, {loans})",
    )
    _history_of(Borrower, "t.partner_id = %s", [p])
    _history_of(Loan, "t.partner_id = %s", [p])
    loan_ids = "t.loan_id IN (SELECT id FROM lending_loan WHERE partner_id = %s)"
    _history_of(LoanBorrower, loan_ids, [p])
    _history_of(ScheduleLine, loan_ids, [p])
    _history_of(Repayment, "t.partner_id = %s", [p])
