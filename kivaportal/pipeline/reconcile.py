"""Settling with Kiva's own list what the portal cannot know from an answer: GET loans shows
whether a loan draft whose answer was lost was created (docs/pipeline.md, section 3,
"Outcome unknown")."""

import json

from kivaportal.pipeline.attempts import attempt_finish, attempt_start
from kivaportal.pipeline.models import AttemptOutcome, Submission, SubmissionKind, SubmissionState


def loan_draft_lookup(submission, client) -> str:
    """The uuid of the draft this submission created, if GET loans shows it; "" otherwise
    (not listed, or the look-up itself failed: nothing is decided then)."""
    body = json.loads(submission.payload)
    ids = {e.get("loan_id") for e in body.get("entreps", [])} | {body.get("internal_loan_id")}
    ids.discard(None)
    known = set(
        Submission.objects.filter(
            content_type_id=submission.content_type_id,
            object_id=submission.object_id,
            kind=SubmissionKind.LOAN_DRAFT,
            state=SubmissionState.SENT,
        ).values_list("kiva_reference", flat=True)
    )
    for mis_id in sorted(ids):
        attempt = attempt_start(submission, method="GET", endpoint=f"loans?query={mis_id}")
        try:
            loans = client.all_loans(query=mis_id)
        except Exception as exc:  # noqa: BLE001 - the look-up failing decides nothing
            attempt_finish(attempt, outcome=AttemptOutcome.LOOKUP_FAILED, exc=exc)
            return ""
        attempt_finish(attempt, outcome=AttemptOutcome.LOOKUP)
        for item in loans:
            uuid = str(item.get("uuid") or item.get("loan_draft_uuid") or "")
            if item.get("internal_loan_id") in ids and uuid and uuid not in known:
                return uuid
    return ""
