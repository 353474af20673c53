"""What changed since Kiva last received a record: the new version's JSON against the JSON
frozen in the last sent submission of an earlier version, field by field."""

import json
from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType

from integrations.kiva import payloads
from integrations.kiva.selectors import partner_connection
from kivaportal.pipeline.models import Submission, SubmissionKind, SubmissionState
from kivaportal.pipeline.preview import payload_preview


@dataclass(frozen=True)
class Change:
    path: str
    sent: object
    now: object


def _flatten(value, prefix="") -> dict:
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_flatten(item, f"{prefix}[{i}]"))
        return out or {prefix: []}
    return {prefix: value}


def _report_lines(bodies) -> dict:
    """A report's lines by loan (and client) id, over all its chunks."""
    lines = {}
    for body in bodies:
        for line in body.get("repayments", []):
            key = line.get("loan_id", "") + (
                f" / {line['client_id']}" if "client_id" in line else ""
            )
            lines[key] = line.get("amount")
    return lines


def parse(text):
    return json.loads(text, parse_float=str)  # numbers compared exactly, as written


def changes_since_sent(record):
    """(version sent, [Change]) against the last version Kiva received, or None if none."""
    sent = list(
        Submission.objects.filter(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            record_version__lt=record.version,
            state=SubmissionState.SENT,
        ).order_by("-record_version", "chunk")
    )
    if not sent:
        return None
    version = sent[0].record_version
    sent = [s for s in sent if s.record_version == version]
    if sent[0].kind == SubmissionKind.REPAYMENTS:
        before = _report_lines(parse(s.payload) for s in sent)
        after = _report_lines(
            parse(payloads.to_json(b).decode())
            for b in payloads.report_batches(
                record, connection=partner_connection(record.partner_id)
            )
        )
    else:
        before = _flatten(parse(sent[0].payload))
        after = _flatten(parse(payload_preview(record).json))
        # The preview shows a placeholder where the photo goes: not a change by itself.
        before.pop("image_encoded", None)
        after.pop("image_encoded", None)
    paths = sorted(set(before) | set(after))
    return version, [
        Change(p, before.get(p), after.get(p)) for p in paths if before.get(p) != after.get(p)
    ]
