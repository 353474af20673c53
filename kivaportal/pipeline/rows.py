"""One UPDATE of a row's fields, compiled without the ORM's query machinery: the send's hot
path writes a few rows per send, and the ORM's compilation cost more CPU than the statements
(docs/pipeline.md, section 9). Values go through each field's own preparation
(`get_db_prep_save`: JSON, dates), as the ORM's would."""

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
