"""Which records may never be hard-deleted: whatever has left, or is on its way, to Kiva.

Kiva keeps what it received. Deleting our row would lose the trail of what was sent, and the
next import of the same MIS id would create a second record that the pipeline sends again (a
second draft at Kiva). So a loan, journal or repayment report that was ever queued or sent,
and the parts it was sent with (borrowers, shares, schedule, repayments of a sent month),
stay; they are withdrawn or corrected as a new version instead (docs/security.md).
"""

from django.contrib.contenttypes.models import ContentType
from django.utils.translation import gettext as _

from kivaportal.workflow.states import RecordState as S

# States a record reaches only by being approved and handed to the pipeline, or never left.
NEVER_SENT_STATES = frozenset({S.DRAFT, S.CHANGES_REQUESTED, S.SUBMITTED, S.WITHDRAWN})


def record_was_handed_to_kiva(record) -> bool:
    """Whether a reviewed record was ever approved for sending: a version after a sent one,
    a push state, or any submission in the outbox that was not cancelled."""
    from kivaportal.pipeline.models import Submission, SubmissionState

    if record.version > 1 or record.state not in NEVER_SENT_STATES:
        return True
    return (
        Submission.objects.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=record.pk
        )
        .exclude(state=SubmissionState.CANCELLED)
        .exists()
    )


def _sent_parent(obj):
    """The reviewed record whose sending `obj` took part in, if any."""
    from kivaportal.lending.models import Borrower, LoanBorrower, ScheduleLine
    from kivaportal.repayments.models import Repayment, RepaymentReport

    if isinstance(obj, LoanBorrower | ScheduleLine):
        return obj.loan if record_was_handed_to_kiva(obj.loan) else None
    if isinstance(obj, Borrower):
        for share in obj.loan_shares.select_related("loan"):
            if record_was_handed_to_kiva(share.loan):
                return share.loan
        return None
    if isinstance(obj, Repayment):
        # Its loan was sent long before (Kiva lists it): what matters is its month's report.
        report = RepaymentReport.objects.filter(
            partner_id=obj.partner_id, month=obj.date.replace(day=1)
        ).first()
        if report is not None and record_was_handed_to_kiva(report):
            return report
    return None


def delete_refusal(obj) -> str | None:
    """Why `obj` may not be deleted, or None."""
    if hasattr(obj, "state") and hasattr(obj, "version") and obj.pk is not None:
        if record_was_handed_to_kiva(obj):
            return _(
                "%(record)s was sent to Kiva (or is on its way): it cannot be deleted. Withdraw "
                "it, or correct it as a new version."
            ) % {"record": obj}
        return None
    parent = _sent_parent(obj)
    if parent is not None:
        return _(
            "%(part)s is part of %(record)s, which was sent to Kiva (or is on its way): it "
            "cannot be deleted."
        ) % {"part": obj, "record": parent}
    return None
