"""Trigram indexes for the review queue's search (issue 13), on PostgreSQL only.

The queue searches with `icontains`, which PostgreSQL runs as UPPER(column) LIKE '%WORD%': a
GIN index of UPPER(column) with pg_trgm's operator class finds the rows without reading them
all (kivaportal/review/selectors.py). SQLite (`make run`) has neither GIN nor pg_trgm: there
this migration does nothing and the search reads the rows. The indexes are not in the models'
Meta, since Django's index classes would create them on SQLite too.
"""

from django.db import migrations

# (table, column, index name)
INDEXES = [
    ("lending_borrower", "first_name", "borrower_first_name_trgm"),
    ("lending_borrower", "last_name", "borrower_last_name_trgm"),
    ("lending_borrower", "mis_client_id", "borrower_client_id_trgm"),
    ("lending_loan", "mis_loan_id", "loan_mis_loan_id_trgm"),
    ("lending_loan", "group_name", "loan_group_name_trgm"),
    ("lending_loan", "group_client_id", "loan_group_client_id_trgm"),
    ("lending_loanborrower", "mis_loan_id", "loanborrower_mis_id_trgm"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column, name in INDEXES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f'USING gin ((UPPER("{column}"::text)) gin_trgm_ops)'
        )
    # The planner's statistics of the indexed expressions (how common a word is): without
    # them it cannot tell a rare name from a common one until autovacuum analyses the tables.
    for table in sorted({table for table, _column, _name in INDEXES}):
        schema_editor.execute(f'ANALYZE "{table}"')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _table, _column, name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [
        ("lending", "0009_loan_at_kiva_environment"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
