"""The parts every importer shares: rows, columns, problems, the outcome, and the batch loop."""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from integrations.mis.fields import ISO, Invalid, NumberFormat, is_blank
from kivaportal.partners.models import Partner

BATCH_SIZE = 1000
MAX_PROBLEMS = 1000  # kept and shown; the count says how many more there were
PREVIEW_ROWS = 200


@dataclass(frozen=True)
class Problem:
    """One error: a file's row and column, or (row None) a JSON field path."""

    row: int | None
    column: str
    message: str
    source: str = ""
    code: str = "invalid"  # "conflict": the record exists but cannot be changed now

    def as_dict(self) -> dict:
        if self.row is None:
            return {"field": self.column, "message": self.message, "code": self.code}
        found = {"row": self.row, "column": self.column, "message": self.message}
        if self.source:
            found["file"] = self.source
        return found


@dataclass(slots=True)  # a loan import keeps one per loan
class Row:
    """One input record: a file row (`number`) or a JSON object (`paths` give field names)."""

    number: int | None
    raw: dict[str, Any]
    source: str = ""
    paths: dict[str, str] | None = None

    def where(self, column: str) -> str:
        if self.paths is None:
            return column
        return self.paths.get(column, column)


@dataclass(frozen=True)
class Column:
    name: str
    parse: Callable  # (value, fmt) -> value, raises Invalid
    required: bool = False
    help: str = ""
    example: str = ""


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    new_versions: int = 0
    unchanged: int = 0
    problem_count: int = 0
    problems: list[Problem] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)
    records: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def changes(self) -> int:
        return self.created + self.updated + self.new_versions

    def add(self, problem: Problem):
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "new_versions": self.new_versions,
            "unchanged": self.unchanged,
            "error_count": self.problem_count,
            "errors": [p.as_dict() for p in self.problems],
            "preview": self.preview,
        }


def intake_lock(*, partner):
    """One intake (file import or API call) at a time per partner, until the transaction ends:
    two at once could each decide "create" for the same MIS id."""
    list(Partner.objects.select_for_update().filter(pk=partner.pk).values_list("pk"))


def batches(rows: Iterable, size: int = BATCH_SIZE):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class Importer:
    """Base: `check()` reads every row and writes nothing; `write()` applies a checked input."""

    kind = ""
    columns: tuple[Column, ...] = ()

    def __init__(
        self,
        *,
        partner,
        sources: dict,
        fmt: NumberFormat = ISO,
        actor=None,
        via: dict | None = None,
        job_id: int | None = None,
        progress: Callable[[str, int], None] | None = None,
        collect_records: bool = False,
        preview_limit: int = PREVIEW_ROWS,
    ):
        self.partner = partner
        self.sources = sources
        self.fmt = fmt
        # The uploader, or the owner of the API key or MIS client: who the records are by.
        self.actor = actor
        self.via = via  # for the API: names the key or client in audit entries
        self.job_id = job_id
        self.progress = progress or (lambda phase, done: None)
        self.collect_records = collect_records
        self.preview_limit = preview_limit
        self.outcome = Outcome()

    # The audit entries' details: which key, client or import made the change.
    @property
    def audit_data(self) -> dict:
        if self.via:
            return dict(self.via)
        return {"import_job": self.job_id} if self.job_id else {}

    def problem(
        self, row: Row | None, column: str, message: str, code: str = "invalid", json_path=None
    ):
        """One problem, named by the file's row and column, or for JSON by the path of the
        value as the client sent it (`json_path` when it is not the column's own)."""
        if row is None:
            self.outcome.add(Problem(1, column, message, code=code))
        elif row.paths is not None and json_path is not None:
            self.outcome.add(Problem(None, json_path, message, row.source, code))
        else:
            self.outcome.add(Problem(row.number, row.where(column), message, row.source, code))

    def check_header(self, source, columns) -> bool:
        """For files: every required column present, none unknown. JSON sources skip this."""
        header = getattr(source, "header", None)
        if header is None:
            return True
        if not header:
            self.outcome.add(Problem(1, "", _("The file is empty."), source.name))
            return False
        known = {c.name for c in columns}
        ok = True
        seen = set()
        for name in header:
            if name in seen:
                self.outcome.add(Problem(1, name, _("The column appears twice."), source.name))
                ok = False
            seen.add(name)
            if name and name not in known:
                self.outcome.add(Problem(1, name, _("Unknown column."), source.name))
                ok = False
        for column in columns:
            if column.required and column.name not in header:
                self.outcome.add(
                    Problem(1, column.name, _("Required column missing."), source.name)
                )
                ok = False
        return ok

    def clean(self, row: Row, columns) -> dict | None:
        """The row's values parsed, only for the columns it has; None if any is wrong."""
        values = {}
        ok = True
        for column in columns:
            if column.name not in row.raw:
                if column.required and row.paths is not None:
                    self.problem(row, column.name, _("This field is required."))
                    ok = False
                continue
            raw = row.raw[column.name]
            if column.required and is_blank(raw):
                self.problem(row, column.name, _("This field is required."))
                ok = False
                continue
            try:
                values[column.name] = column.parse(raw, self.fmt)
            except Invalid as exc:
                self.problem(row, column.name, exc.message)
                ok = False
        return values if ok else None

    def note(self, row: Row, key: str, action: str, changed=(), record=None):
        """Count one row's action, and keep it for the preview and the API's answer."""
        counter = {"create": "created", "update": "updated", "new_version": "new_versions"}
        attr = counter.get(action, "unchanged")
        setattr(self.outcome, attr, getattr(self.outcome, attr) + 1)
        if len(self.outcome.preview) < self.preview_limit:
            self.outcome.preview.append(
                {"row": row.number, "key": key, "action": action, "changed": sorted(changed)}
            )

    def check(self) -> Outcome:
        raise NotImplementedError

    def write(self) -> Outcome:
        raise NotImplementedError

    def commit(self) -> Outcome:
        """Check, and write only if nothing is wrong; all or nothing, one partner at a time."""
        with transaction.atomic():
            intake_lock(partner=self.partner)
            self.check()
            if self.outcome.ok and self.outcome.changes:
                self.write()
        return self.outcome
