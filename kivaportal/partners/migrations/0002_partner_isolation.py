"""Partner isolation in the database (PostgreSQL): a row that belongs to a partner never points
at another partner's row, whatever wrote it (admin, import, API, shell, raw SQL).

Django 5.2 has no composite foreign keys, so the rule is a trigger per table: on insert, and on
update of the partner or the link, the linked rows must have the same partner. The models'
`clean()` says the same in words (kivaportal.common.models.require_same_partner); this is the
backstop. SQLite (development) has no such guard.
"""

from django.db import migrations

# (table, [(column, referenced table)...]): each link must share the row's partner_id.
LINKS = {
    "repayments_repayment": [("loan_id", "lending_loan"), ("borrower_id", "lending_borrower")],
    "journals_journal": [("loan_id", "lending_loan"), ("borrower_id", "lending_borrower")],
    "lending_loan": [
        ("activity_id", "reference_activity"),
        ("theme_id", "reference_theme"),
        ("description_language_id", "reference_locale"),
        ("location_id", "reference_location"),
    ],
}


def _function(table, links):
    checks = "\n".join(
        f"""
  IF NEW.{column} IS NOT NULL AND NEW.partner_id IS DISTINCT FROM
      (SELECT partner_id FROM {target} WHERE id = NEW.{column}) THEN
    RAISE EXCEPTION '%: % % belongs to another partner', TG_TABLE_NAME, '{column}', NEW.{column}
      USING ERRCODE = 'integrity_constraint_violation';
  END IF;"""
        for column, target in links
    )
    columns = ", ".join(["partner_id", *(c for c, _t in links)])
    return f"""
CREATE OR REPLACE FUNCTION kp_same_partner_{table}() RETURNS trigger AS $$
BEGIN{checks}
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER kp_same_partner BEFORE INSERT OR UPDATE OF {columns} ON {table}
  FOR EACH ROW EXECUTE FUNCTION kp_same_partner_{table}();
"""


# A loan's borrowers (no partner column of their own): the borrower's partner is the loan's.
LOAN_BORROWER = """
CREATE OR REPLACE FUNCTION kp_same_partner_lending_loanborrower() RETURNS trigger AS $$
BEGIN
  IF (SELECT partner_id FROM lending_loan WHERE id = NEW.loan_id) IS DISTINCT FROM
     (SELECT partner_id FROM lending_borrower WHERE id = NEW.borrower_id) THEN
    RAISE EXCEPTION 'lending_loanborrower: borrower % belongs to another partner than loan %',
      NEW.borrower_id, NEW.loan_id USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER kp_same_partner BEFORE INSERT OR UPDATE OF loan_id, borrower_id
  ON lending_loanborrower FOR EACH ROW EXECUTE FUNCTION kp_same_partner_lending_loanborrower();
"""

# Moving a loan or a borrower to another partner would strand the rows that point at it.
MOVES = """
CREATE OR REPLACE FUNCTION kp_partner_move_guard() RETURNS trigger AS $$
BEGIN
  IF NEW.partner_id IS DISTINCT FROM OLD.partner_id AND (
       (TG_TABLE_NAME = 'lending_loan' AND (
          EXISTS (SELECT 1 FROM repayments_repayment WHERE loan_id = NEW.id)
          OR EXISTS (SELECT 1 FROM journals_journal WHERE loan_id = NEW.id)
          OR EXISTS (SELECT 1 FROM lending_loanborrower WHERE loan_id = NEW.id)))
    OR (TG_TABLE_NAME = 'lending_borrower' AND (
          EXISTS (SELECT 1 FROM repayments_repayment WHERE borrower_id = NEW.id)
          OR EXISTS (SELECT 1 FROM journals_journal WHERE borrower_id = NEW.id)
          OR EXISTS (SELECT 1 FROM lending_loanborrower WHERE borrower_id = NEW.id)))) THEN
    RAISE EXCEPTION '%: row % is linked to rows of its partner; it cannot move to another',
      TG_TABLE_NAME, NEW.id USING ERRCODE = 'integrity_constraint_violation';
  END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER kp_partner_move BEFORE UPDATE OF partner_id ON lending_loan
  FOR EACH ROW EXECUTE FUNCTION kp_partner_move_guard();
CREATE TRIGGER kp_partner_move BEFORE UPDATE OF partner_id ON lending_borrower
  FOR EACH ROW EXECUTE FUNCTION kp_partner_move_guard();
"""

DROP = """
DROP TRIGGER IF EXISTS kp_partner_move ON lending_borrower;
DROP TRIGGER IF EXISTS kp_partner_move ON lending_loan;
DROP FUNCTION IF EXISTS kp_partner_move_guard();
DROP TRIGGER IF EXISTS kp_same_partner ON lending_loanborrower;
DROP FUNCTION IF EXISTS kp_same_partner_lending_loanborrower();
""" + "".join(
    f"DROP TRIGGER IF EXISTS kp_same_partner ON {t};\n"
    f"DROP FUNCTION IF EXISTS kp_same_partner_{t}();\n"
    for t in LINKS
)


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "".join(_function(t, links) for t, links in LINKS.items()) + LOAN_BORROWER + MOVES,
            params=None,  # no placeholders: the % in the SQL are PL/pgSQL's
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("partners", "0001_initial"),
        ("lending", "0003_stored_findings"),
        ("repayments", "0003_stored_findings"),
        ("journals", "0003_stored_findings"),
        ("reference", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
