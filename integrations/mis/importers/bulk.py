"""Bulk inserts with their history rows, for the intake's big tables (repayments, loans, their
borrowers and schedule lines).

On PostgreSQL the rows go in by COPY (psycopg 3's `cursor.copy`): one statement per batch,
whatever its size, instead of one parsed INSERT per row. Their ids are taken from the table's
sequence first (one query), so their history rows ("+", one per row, as django-simple-history
writes them) are written right after by PostgreSQL itself, INSERT ... SELECT from the new rows
by id, without passing through Python. Values have already
been parsed and checked by the importer, so they go to the driver as they are (Decimal, date,
int, str); only the fields that need Django's conversion (date-times, JSON, files) get it.

Elsewhere (SQLite, in development) it is django-simple-history's `bulk_create_with_history`.
"""

import functools

from django.db import connection as default_connection
from django.db import connections, router
from django.db.models import (
    AutoField,
    BigAutoField,
    BigIntegerField,
    BooleanField,
    CharField,
    DateField,
    DateTimeField,
    DecimalField,
    ForeignKey,
    IntegerField,
    TextField,
)
from django.db.models.expressions import RawSQL
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from integrations.mis.importers.base import BATCH_SIZE
from kivaportal.common.commit import on_commit_once

# Values of these fields reach the driver as the importer made them; others are converted.
AS_IS = (CharField, TextField, DecimalField, IntegerField, BigIntegerField, BooleanField)


def _as_is(field) -> bool:
    # Ids (AutoField) are the sequence's integers; a DateTimeField (a DateField) has _getter's
    # own case.
    return isinstance(field, (*AS_IS, AutoField, BigAutoField, DateField, ForeignKey))


def _getter(field, connection):
    attname = field.attname
    if isinstance(field, DateTimeField):
        # psycopg writes an aware datetime as it is; a naive one gets Django's conversion.
        def get(obj):
            value = getattr(obj, attname)
            if value is None or value.tzinfo is not None:
                return value
            return field.get_db_prep_save(value, connection)

        return get
    if _as_is(field):
        return lambda obj: getattr(obj, attname)
    return lambda obj: field.get_db_prep_save(getattr(obj, attname), connection)


def key_in(keys, sql_type="text"):
    """The right side of an `__in` lookup of a batch's keys. On PostgreSQL one array
    parameter: with a thousand placeholders, building the query costs more than running it."""
    keys = list(keys)
    if default_connection.vendor != "postgresql":
        return keys
    return RawSQL(f"SELECT unnest(%s::{sql_type}[])", (keys,))  # noqa: S611 (type is ours)


def _copy(connection, table, columns, rows):
    quote = connection.ops.quote_name
    sql = f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)


def _take_ids(connection, model, n: int) -> list[int]:
    pk = model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [connection.ops.quote_name(model._meta.db_table), pk, n],
        )
        return [row[0] for row in cursor.fetchall()]


def insert_with_history(model, objs: list, *, user=None) -> list:
    """Insert `objs` (new, unsaved) and one "+" history row for each; their `pk` is set."""
    if not objs:
        return objs
    connection = connections[router.db_for_write(model)]
    if connection.vendor != "postgresql":
        return bulk_create_with_history(objs, model, BATCH_SIZE, default_user=user)
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    for field in fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objs:
                setattr(obj, field.attname, now)
    for obj, pk in zip(objs, _take_ids(connection, model, len(objs)), strict=True):
        obj.pk = pk
    own = [model._meta.pk, *fields]
    getters = [_getter(f, connection) for f in own]
    _copy(
        connection,
        model._meta.db_table,
        [f.column for f in own],
        (tuple(get(obj) for get in getters) for obj in objs),
    )
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias

    _history_of(connection, model, [obj.pk for obj in objs], now, user)
    return objs


@functools.cache
def _analyzer(alias: str, table: str):
    """One callable per table (equal to itself: `on_commit_once` sends one per commit)."""

    def analyze():
        with connections[alias].cursor() as cursor:
            cursor.execute(f'ANALYZE "{table}"')

    return analyze


def copy_with_history(model, columns: list[str], rows: list[tuple], *, fixed=None, user=None):
    """PostgreSQL only: insert `rows`, tuples of values for the fields `columns` (attnames),
    as they are, with `fixed` (attname -> value) the same for every row, and one "+" history
    row each. Fields in neither get their default; auto_now fields the time. No model
    instances: at 100,000 rows building them was a fifth of the import. Returns the new ids,
    in the rows' order."""
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    now = timezone.now()
    fixed = dict(fixed or {})
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname in columns or field.attname in fixed:
            continue
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            fixed[field.attname] = now
        elif field.has_default() or field.null:
            fixed[field.attname] = field.get_db_prep_save(field.get_default(), connection)
        else:
            raise ValueError(f"{model.__name__}.{field.name}: no value and no default")
    ids = _take_ids(connection, model, len(rows))
    names = [model._meta.pk.attname, *columns, *fixed]
    const = tuple(fixed.values())
    _copy(
        connection,
        model._meta.db_table,
        [model._meta.get_field(name).column for name in names],
        ((pk, *row, *const) for pk, row in zip(ids, rows, strict=True)),
    )
    _history_of(connection, model, ids, now, user)
    # A month's rows are new to PostgreSQL's statistics until autovacuum samples the table
    # again (after 10% of it changed): queries on that month then get nested-loop plans built
    # for a handful of rows (7 s instead of 70 ms for a report's loans without a repayment,
    # right after its lines were imported). ANALYZE samples the table after the commit (a
    # fraction of a second at 500,000 rows), before the tasks the import queued run.
    on_commit_once(_analyzer(connection.alias, model._meta.db_table), using=connection.alias)
    return ids


def _history_of(connection, model, ids: list[int], now, user, column=None):
    """The "+" history row of each row whose `column` (the primary key) is one of `ids`, as
    django-simple-history writes them, copied by PostgreSQL from the rows just inserted:
    nothing of them passes through Python again."""
    history = model.history.model
    quote = connection.ops.quote_name
    names, values, params = [], [], []
    for f in history._meta.concrete_fields:
        if f.attname == "history_id":
            continue
        names.append(quote(f.column))
        if f.attname == "history_date":
            values.append("%s")
            params.append(now)
        elif f.attname == "history_type":
            values.append("'+'")
        elif f.attname == "history_change_reason":
            values.append("NULL")
        elif f.attname == "history_user_id":
            values.append("%s")
            params.append(getattr(user, "pk", None))
        else:
            values.append(quote(model._meta.get_field(f.name).column))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(names)}) "  # noqa: S608 (names from model metadata)
            f"SELECT {', '.join(values)} FROM {quote(model._meta.db_table)} "
            f"WHERE {quote(column or model._meta.pk.column)} = ANY(%s)",
            [*params, ids],
        )


class Staging:
    """Parsed lines kept between an import's check and its write, in a temporary table of
    PostgreSQL (dropped at the end of the transaction), filled by COPY batch by batch: the
    write selects them into their table instead of reading and parsing the file again, and
    memory holds one batch. `columns`: (name, SQL type) pairs; each line is a tuple of them."""

    def __init__(self, name: str, columns):
        self.name = name
        self.columns = columns
        self.ready = False

    def _connection(self):
        return default_connection

    def _ensure(self, connection):
        if self.ready:
            return
        quote = connection.ops.quote_name
        types = ", ".join(f"{quote(name)} {sql_type}" for name, sql_type in self.columns)
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {quote(self.name)}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {quote(self.name)} "
                f"(n bigint GENERATED ALWAYS AS IDENTITY, {types}) ON COMMIT DROP"
            )
        self.ready = True

    def add(self, rows: list[tuple]):
        if not rows:
            return
        connection = self._connection()
        self._ensure(connection)
        _copy(connection, self.name, [name for name, _type in self.columns], rows)

    def write(self, model, *, select: dict, joins: str, params: dict, keys, loan_ids, user):
        """INSERT ... SELECT into `model`'s table the staged lines of the loans `keys` (MIS
        ids; their ids in `loan_ids`), in the order they were staged, `select` giving each
        field's SQL (the staged line is `s`, its loan `k`); then their history rows. Returns
        None when every staged line of those loans was written, else how many were not."""
        connection = self._connection()
        self._ensure(connection)
        quote = connection.ops.quote_name
        now = timezone.now()
        names, exprs, params = [], [], dict(params, keys=list(keys), loan_ids=list(loan_ids))
        for field in model._meta.concrete_fields:
            if field.primary_key:
                continue
            names.append(quote(field.column))
            if field.attname in select:
                exprs.append(select[field.attname])
            else:
                params[f"default_{field.attname}"] = field.get_db_prep_save(
                    field.get_default(), connection
                )
                exprs.append(f"%(default_{field.attname})s")
        table = quote(self.name)
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(names)}) "  # noqa: S608 (names from model metadata)
                f"SELECT {', '.join(exprs)} FROM {table} s "
                "JOIN unnest(%(keys)s::text[], %(loan_ids)s::bigint[]) AS k(mis_loan_id, loan_id) "
                f"ON k.mis_loan_id = s.mis_loan_id {joins} ORDER BY s.n",
                params,
            )
            written = cursor.rowcount
            cursor.execute(
                f"SELECT count(*) FROM {table} WHERE mis_loan_id = ANY(%s)",  # noqa: S608
                [params["keys"]],
            )
            staged = cursor.fetchone()[0]
        _history_of(connection, model, params["loan_ids"], now, user, column="loan_id")
        return None if written == staged else staged - written
