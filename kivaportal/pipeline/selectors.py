"""Reads of the outbox for the review pages."""

import json
from dataclasses import dataclass
from datetime import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import Max, Prefetch
from django.utils.translation import gettext as _

from kivaportal.lending.models import LoanAtKiva
from kivaportal.pipeline.models import (
    Attempt,
    AttemptOutcome,
    Reconciliation,
    Submission,
    SubmissionKind,
    SubmissionState,
)
from kivaportal.workflow.states import RecordState


def record_submissions(record, limit=50):
    """A record's submissions, newest version first, each with its attempts (two queries)."""
    return list(
        Submission.objects.filter(
            content_type=ContentType.objects.get_for_model(record), object_id=record.pk
        )
        .select_related("created_by")
        .prefetch_related(Prefetch("attempt_rows", Attempt.objects.order_by("number", "id")))
        .order_by("-record_version", "chunk")[:limit]
    )


def record_send_progress(record) -> dict:
    """How far the sending of a record's current version is: chunks in all, sent, still on
    their way, and stopped (failed, rejected, needs attention). One query."""
    from django.db.models import Count, Q

    on_the_way = (SubmissionState.PENDING, SubmissionState.SENDING, SubmissionState.RETRYING)
    stopped = (
        SubmissionState.FAILED,
        SubmissionState.REJECTED,
        SubmissionState.NEEDS_ATTENTION,
    )
    counts = (
        Submission.objects.filter(
            content_type=ContentType.objects.get_for_model(record),
            object_id=record.pk,
            record_version=record.version,
        )
        .exclude(state=SubmissionState.CANCELLED)
        .aggregate(
            chunks=Count("id"),
            sent=Count("id", filter=Q(state=SubmissionState.SENT)),
            waiting=Count("id", filter=Q(state__in=on_the_way)),
            stopped=Count("id", filter=Q(state__in=stopped)),
        )
    )
    return {
        "state": record.state,
        "version": record.version,
        **counts,
        "done": counts["chunks"] > 0 and counts["waiting"] == 0,
    }


def partner_last_reconciliation(partner):
    """The partner's latest reconciliation with Kiva (pipeline.reconcile), or None."""
    return Reconciliation.objects.filter(partner=partner).order_by("-started_at", "-id").first()


def version_problems(submissions, version) -> list[tuple[int, dict]]:
    """(chunk, problem) for every problem Kiva reported on the sent submissions of one version
    of a record, across all its chunks: one table for staff."""
    return [
        (s.chunk, problem)
        for s in sorted(submissions, key=lambda s: s.chunk)
        if s.record_version == version and s.state == SubmissionState.SENT
        for problem in s.problems
        if isinstance(problem, dict)
    ]


def sent_with_problems_counts(partner) -> dict[str, int]:
    """Per kind of submission, how many records' current version was sent with problems
    reported by Kiva (one query per kind that has any)."""
    rows = (
        Submission.objects.filter(partner=partner, state=SubmissionState.SENT)
        .exclude(problems=[])
        .values_list("content_type_id", "kind", "object_id", "record_version")
        .distinct()
    )
    by_type: dict[int, list] = {}
    for content_type_id, kind, object_id, version in rows:
        by_type.setdefault(content_type_id, []).append((kind, object_id, version))
    counts: dict[str, int] = {}
    for content_type_id, found in by_type.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        current = dict(
            model.objects.filter(pk__in={o for _k, o, _v in found}).values_list("pk", "version")
        )
        for kind, object_id, version in {(k, o, v) for k, o, v in found}:
            if current.get(object_id) == version:
                counts[kind] = counts.get(kind, 0) + 1
    return counts


@dataclass
class AttentionCase:
    """A submission that needs attention and what the portal knows of it at Kiva: the
    evidence staff decide on (docs/pipeline.md, "Needs attention, in bulk")."""

    submission: Submission
    # A draft of this loan Kiva lists that no sent submission (same environment) accounts
    # for, and where the portal saw it: "lookup" (GET loans after the lost answer) or
    # "reconciliation" (Kiva's whole list).
    found_uuid: str = ""
    found_by: str = ""
    # A new version held back because Kiva holds a draft of an earlier version: its uuid,
    # and whether Kiva has since stopped listing it (deleted in PA2).
    earlier_draft: str = ""
    earlier_gone: bool = False
    # The last POST whose answer was lost, and whether Kiva's list was read completely after
    # it (a look-up that answered, or a finished reconciliation).
    lost_at: datetime | None = None
    checked_since: bool = False

    @property
    def lookups(self):
        return [a for a in self.submission.attempt_rows.all() if a.method == "GET"]

    def refusal_to_mark_found(self) -> str:
        if self.submission.kind != SubmissionKind.LOAN_DRAFT:
            return _("Only a loan draft can be found at Kiva: check PA2 and decide on its page.")
        if not self.found_uuid:
            return _("Kiva lists no draft of this loan that is not already accounted for.")
        return ""

    def refusal_to_send_again(self) -> str:
        if self.found_uuid:
            return _("Kiva lists draft %(uuid)s of this loan: mark it as sent instead.") % {
                "uuid": self.found_uuid
            }
        if self.earlier_draft and not self.earlier_gone:
            return _(
                "Kiva still lists draft %(uuid)s of an earlier version: delete it in PA2; once "
                "reconciliation no longer sees it, send again."
            ) % {"uuid": self.earlier_draft}
        if (
            self.submission.kind == SubmissionKind.LOAN_DRAFT
            and self.lost_at
            and not (self.checked_since)
        ):
            return _(
                "Kiva's list has not been read since the answer was lost (the look-up failed): "
                "reconcile with Kiva first."
            )
        return ""


def needs_attention_cases(submissions, limit=None) -> list[AttentionCase]:
    """The evidence for each of `submissions` (a queryset: needs attention), in a fixed
    number of queries whatever their number; the oldest first, at most `limit`."""
    submissions = list(
        submissions.select_related("created_by", "partner")
        .prefetch_related(Prefetch("attempt_rows", Attempt.objects.order_by("number", "id")))
        .order_by("created_at", "id")[:limit]
    )
    if not submissions:
        return []
    drafts = [s for s in submissions if s.kind == SubmissionKind.LOAN_DRAFT]
    loan_ids = {s.object_id for s in drafts}
    at_kiva = {a.loan_id: a for a in LoanAtKiva.objects.filter(loan_id__in=loan_ids)}
    sent = {}  # (loan id, environment) -> [(version, uuid)]
    for object_id, environment, version, uuid in Submission.objects.filter(
        content_type_id__in={s.content_type_id for s in drafts},
        object_id__in=loan_ids,
        kind=SubmissionKind.LOAN_DRAFT,
        state=SubmissionState.SENT,
    ).values_list("object_id", "environment", "record_version", "kiva_reference"):
        sent.setdefault((object_id, environment), []).append((version, uuid))
    reconciled = {
        (row["partner_id"], row["environment"]): row["last"]
        for row in Reconciliation.objects.filter(
            partner_id__in={s.partner_id for s in submissions}, state="done"
        )
        .values("partner_id", "environment")
        .annotate(last=Max("started_at"))
        .order_by()
    }
    cases = []
    for s in submissions:
        case = AttentionCase(submission=s)
        posts = [a for a in s.attempt_rows.all() if a.method == "POST"]
        lost = [a.started_at for a in posts if a.outcome == AttemptOutcome.AMBIGUOUS]
        case.lost_at = max(lost) if lost else None
        if s.kind != SubmissionKind.LOAN_DRAFT:
            cases.append(case)
            continue
        mine = sent.get((s.object_id, s.environment), []) + (
            sent.get((s.object_id, ""), []) if s.environment else []
        )
        accounted = {uuid for _v, uuid in mine}
        for attempt in reversed(case.lookups):
            found = _found_in(attempt)
            if found and found not in accounted:
                case.found_uuid, case.found_by = found, "lookup"
                break
        at = at_kiva.get(s.object_id)
        if at is not None and not at.known_in(s.environment):
            at = None  # what another environment (stage) knows of the loan is not evidence here
        listed = at is not None and at.draft_uuid and not at.missing_since
        if not case.found_uuid and listed and str(at.draft_uuid) not in accounted:
            case.found_uuid, case.found_by = str(at.draft_uuid), "reconciliation"
        earlier = sorted(v for v in mine if v[0] < s.record_version)
        if earlier:
            case.earlier_draft = earlier[-1][1]
            case.earlier_gone = (
                at is not None
                and str(at.draft_uuid) == case.earlier_draft
                and (at.missing_since is not None or at.status == "deleted")
            )
        if case.lost_at:
            checked = [
                a.started_at
                for a in case.lookups
                if a.outcome == AttemptOutcome.LOOKUP and a.started_at > case.lost_at
            ]
            done_at = reconciled.get((s.partner_id, s.environment))
            case.checked_since = bool(checked) or bool(done_at and done_at > case.lost_at)
        cases.append(case)
    return cases


def _found_in(attempt) -> str:
    if attempt.outcome != AttemptOutcome.LOOKUP or not attempt.response_body:
        return ""
    try:
        data = json.loads(attempt.response_body)
    except ValueError:
        return ""
    return str(data.get("found") or "") if isinstance(data, dict) else ""


def records_sent_elsewhere(partner, environment, limit=500) -> list[tuple[object, str]]:
    """(record, environment) for each record of `partner` whose current version was sent,
    all of it, to another environment than `environment` (stage, before the switch to
    production) and not left out of production by a person: "sent" there is not "sent" for
    `environment` (docs/kiva.md, "Stage and production"). A fixed number of queries: one,
    plus one per kind of record."""
    rows = (
        Submission.objects.filter(partner=partner, state=SubmissionState.SENT)
        .filter(left_out_at__isnull=True)
        .exclude(environment__in=[environment, ""])
        .values_list("content_type_id", "object_id", "record_version", "environment")
        .distinct()
    )
    by_type: dict[int, dict[tuple[int, int], str]] = {}
    for content_type_id, object_id, version, where in rows:
        by_type.setdefault(content_type_id, {})[(object_id, version)] = where
    found = []
    for content_type_id, sent in by_type.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        records = model.objects.filter(
            partner=partner, pk__in={o for o, _v in sent}, state=RecordState.SENT
        ).order_by("pk")
        for record in records:
            where = sent.get((record.pk, record.version))
            if where:
                found.append((record, where))
    return found[:limit]
