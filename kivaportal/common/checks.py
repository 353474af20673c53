"""The shape of a data check's finding, shared by loans, repayments and journals.

A check names the field it is about and says whether it blocks sending to Kiva (error) or only
asks a person to look (warning). Its message is kept as the untranslated template and its
values, and translated when read: findings stored on a record (see `record_recheck`) show in
the language of whoever reads them, not of whoever ran the check.
"""

from dataclasses import dataclass, field
from enum import StrEnum

from django.utils.translation import gettext


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    field: str
    code: str
    template: str  # marked with gettext_noop where it is written
    params: dict = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    @property
    def message(self) -> str:
        return self.message_with()

    def message_with(self, **params) -> str:
        """The message with some values replaced for the reader (a field's label for its
        name, see the review pages' `finding_message`)."""
        text = gettext(self.template)
        values = {**self.params, **params}
        return text % values if values else text

    def to_dict(self) -> dict:
        return {
            "severity": str(self.severity),
            "field": self.field,
            "code": self.code,
            "template": self.template,
            "params": {k: str(v) for k, v in self.params.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Finding":
        return cls(
            Severity(data["severity"]),
            data["field"],
            data["code"],
            data["template"],
            data.get("params", {}),
        )


# Positional-only, so that a message may itself use %(field)s.
def error(field, template, code, /, **params) -> Finding:
    return Finding(Severity.ERROR, field, code, template, params)


def warning(field, template, code, /, **params) -> Finding:
    return Finding(Severity.WARNING, field, code, template, params)


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.ERROR]


def warnings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.WARNING]
