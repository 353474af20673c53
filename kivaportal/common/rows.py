"""One UPDATE of a row's fields, one INSERT of a new row, one row read under its lock,
compiled without the ORM's query machinery: the send's hot path writes a few rows per send,
and the ORM's compilation cost more CPU than the statements (docs/pipeline.md, section 9).
Values go through each field's own preparation (`get_db_prep_save`: JSON, dates), as the
ORM's would."""

from functools import cache

from django.db import connection


@cache
def _columns(model) -> dict:
    return {f.attname: f for f in model._meta.concrete_fields} | {
        f.name: f for f in model._meta.concrete_fields
    }


def row_update(model, *, pk, fields: dict, where: dict | None = None) -> int:
    """UPDATE `model`'s row `pk` SET `fields` if its columns equal `where`; the rows changed
    (0 or 1)."""
    columns = _columns(model)
    sets, params = [], []
    for name, value in fields.items():
        field = columns[name]
        sets.append(f'"{field.column}" = %s')
        params.append(field.get_db_prep_save(value, connection))
    conditions = [f'"{model._meta.pk.column}" = %s']
    params.append(pk)
    for name, value in (where or {}).items():
        field = columns[name]
        conditions.append(f'"{field.column}" = %s')
        params.append(field.get_db_prep_value(value, connection))
    # Names from the model, values as parameters.
    table, sets, conditions = model._meta.db_table, ", ".join(sets), " AND ".join(conditions)
    sql = f'UPDATE "{table}" SET {sets} WHERE {conditions}'  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@cache
def _insert(model) -> tuple[str, list]:
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    marks = ", ".join(["%s"] * len(fields))
    pk = model._meta.pk.column
    # Names from the model, values as parameters.
    sql = f'INSERT INTO "{model._meta.db_table}" ({columns}) VALUES ({marks}) RETURNING "{pk}"'  # noqa: S608
    return sql, fields


def row_insert(instance):
    """INSERT a new `instance` (each field's `pre_save`, then its preparation, as the ORM's
    insert does: auto_now_add, JSON) and set its primary key. No `save()` and no signals: for
    models that have neither custom behaviour on insert nor receivers."""
    if connection.vendor != "postgresql":  # RETURNING: the development database goes the ORM's way
        instance.save(force_insert=True)
        return instance
    sql, fields = _insert(type(instance))
    params = [f.get_db_prep_save(f.pre_save(instance, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        instance.pk = cursor.fetchone()[0]
    instance._state.adding = False
    instance._state.db = connection.alias
    return instance


@cache
def _lock(model, names: tuple) -> tuple[str, list]:
    fields = [model._meta.get_field(name) for name in names]
    columns = ", ".join(f'"{f.column}"' for f in fields)
    pk = model._meta.pk.column
    # Names from the model, values as parameters.
    sql = f'SELECT {columns} FROM "{model._meta.db_table}" WHERE "{pk}" = %s FOR UPDATE'  # noqa: S608
    return sql, fields


def row_lock(model, pk, names: tuple):
    """`model.objects.select_for_update().only(*names).get(pk=pk)` in one statement built
    once (PostgreSQL; elsewhere the ORM's). `model.DoesNotExist` if there is no such row."""
    if connection.vendor != "postgresql":
        return model.objects.select_for_update().only(*names).get(pk=pk)
    sql, fields = _lock(model, names)
    with connection.cursor() as cursor:
        cursor.execute(sql, [pk])
        row = cursor.fetchone()
    if row is None:
        raise model.DoesNotExist(f"{model.__name__} {pk} does not exist")
    values = list(row)
    for i, field in enumerate(fields):
        for converter in field.get_db_converters(connection):
            values[i] = converter(values[i], field, connection)
    return model.from_db(connection.alias, [f.attname for f in fields], values)
