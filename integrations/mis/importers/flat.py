"""Importers whose file has one record per row, matched by one MIS id (borrowers, repayments,
journals): a batch loop shared by the check pass and the write pass (one pass for a file
import), and the step that creates, updates or leaves alone one plain (unreviewed) record."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.mis.formats import FileError
from integrations.mis.importers.base import Importer, batches, intake_lock


class FlatImporter(Importer):
    key_column = ""
    # A file import (`commit`) checks and writes in one pass: each row is read and parsed
    # once, each batch written as soon as it is checked, and the whole import rolled back if
    # any row had a problem. `check()` then `write()` (the API) still read the rows twice.
    one_pass = True

    def key(self, values: dict):
        return values[self.key_column]

    def check(self):
        source = self.sources["main"]
        seen: dict = {}
        self._run(source, write=False, seen=seen)
        return self.outcome

    def write(self):
        self._run(self.sources["main"], write=True, seen=None)
        self.written()
        return self.outcome

    def commit(self):
        if not self.one_pass:
            return super().commit()
        with transaction.atomic():
            intake_lock(partner=self.partner)
            self._run(self.sources["main"], write=True, seen={})
            if self.outcome.ok:
                self.written()
            else:
                transaction.set_rollback(True)  # nothing half-written
        return self.outcome

    def _run(self, source, *, write, seen):
        """The batch loop. `seen` (duplicate detection) is given when the rows are checked:
        alone (write False) or in the one pass that also writes them."""
        done = 0
        checking = seen is not None
        self._noting = checking
        try:
            for batch in batches(source):
                if done == 0 and checking and not self.check_header(source, self.columns):
                    return
                cleaned = []
                for row in batch:
                    values = self.clean(row, self.columns)
                    if values is None:
                        continue
                    if seen is not None and not self._first_time(seen, row, values):
                        continue
                    cleaned.append((row, values))
                # What `process` collects for `flush`: new rows, changed rows, changed fields.
                self._create, self._update, self._fields = [], [], set()
                context = self.prepare(cleaned)
                for row, values in cleaned:
                    self.process(row, values, context, write=write)
                if write and self.outcome.ok:  # after a problem only check: it rolls back
                    self.flush()
                done += len(batch)
                if checking:
                    self.progress("check", len(batch))
                if write:
                    self.progress("write", len(batch))
            if done == 0 and checking:
                self.check_header(source, self.columns)
        except FileError as exc:
            self.outcome.add(exc.problem)

    def _first_time(self, seen, row, values) -> bool:
        key = self.key(values)
        if key in seen:
            first = seen[key]
            if isinstance(first, str):  # JSON: the first item's path, e.g. repayments[0]
                message = _("Duplicate of %(item)s.") % {"item": first}
            elif first is None:
                message = _("Duplicate: the same id appears more than once.")
            else:
                message = _("Duplicate: the same id is already on row %(row)d.") % {"row": first}
            self.problem(row, self.key_column, message)
            return False
        seen[key] = (
            row.number if row.paths is None else row.where(self.key_column).rsplit(".", 1)[0]
        )
        return True

    def upsert(self, row, key, record, values: dict, fields: dict, *, write, build):
        """Borrowers and repayments: a new record (`build()` makes it), a changed one updated in
        place, an unchanged one left alone. The check pass only notes the action."""
        if record is None:
            if self._noting:
                self.note(row, key, "create")
            if write:
                self._create.append(build())
            return
        changed = changed_fields(record, values, fields)
        if self._noting:
            self.note(row, key, "update" if changed else "unchanged", changed)
        if write and changed:
            for column, attname in fields.items():
                if attname in changed:
                    setattr(record, attname, values[column])
            record.updated_by = self.actor
            record.updated_at = timezone.now()
            self._update.append(record)
            self._fields.update(changed)

    # Per type.
    def prepare(self, cleaned) -> dict:
        """Whatever the batch needs from the database, in a few queries."""
        return {}

    def process(self, row, values, context, *, write):
        raise NotImplementedError

    def flush(self):
        """Write what `process` collected for the batch."""

    def written(self):
        """After the last batch was written (and only if nothing was wrong)."""


def changed_fields(obj, values: dict, mapping: dict) -> list[str]:
    """The model fields whose value differs from the row's (only columns the row has)."""
    changed = []
    for column, attname in mapping.items():
        if column in values and getattr(obj, attname) != values[column]:
            changed.append(attname)
    return changed
