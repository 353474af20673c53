"""The shape of a data check's finding, shared by loans, repayments and journals.

A check names the field it is about and says whether it blocks sending to Kiva (error) or only
asks a person to look (warning).
"""

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    severity: Severity
    field: str
    message: str
    code: str

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.ERROR]


def warnings(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.severity == Severity.WARNING]
