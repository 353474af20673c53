"""Emails about records: returned to their preparer, waiting for review too long, needing
attention or sent to Kiva with problems, and a daily digest (docs/architecture.md, "Notifications").

Each `notifications_send_*` finds the events of its kind, works out who is told about each
(members of the record's partner only, by role, who have the email turned on and an address),
and sends each person one email listing the events they have not been told about yet, in their
language. The `SentNotification` rows are written in the same transaction as the mail is
handed to the mail backend: a second run sends nothing twice, and a mail that fails is tried
again at the next run. The Celery beat runs them (`review.notifications_send`,
`review.notifications_digest`); so does `manage.py notifications_send`.
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kivaportal.kinds import KINDS, kind_of
from kivaportal.notifications.models import Event, NotificationSettings, SentNotification
from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Action, role_allows
from kivaportal.pipeline.models import Submission, SubmissionState
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import ATTENTION_STATES, RecordState

logger = logging.getLogger(__name__)

# The pipeline's moves that leave a record waiting for a person's decision.
ATTENTION_ACTIONS = (AuditAction.NEEDS_ATTENTION, AuditAction.REJECTED, AuditAction.FAILED)


@dataclass(frozen=True)
class Notice:
    """One event about one record, for the people of its partner who should hear of it."""

    partner_id: int
    key: str
    record: object  # the record (or submission): its label is read in the reader's language
    url: str
    detail: str = ""  # a reviewer's comment, Kiva's problems: shown as written
    code: str = ""  # an audit code, shown by its label in the reader's language
    at: object = None  # when it began waiting
    people: frozenset = field(default_factory=frozenset)  # user ids; empty: by role


def _url(record) -> str:
    path = reverse("review:record", args=[record.partner_id, kind_of(record).slug, record.pk])
    return settings.PORTAL_URL.rstrip("/") + path


def _records(entries):
    """{(content_type_id, object_id): record} for the records of audit entries or
    submissions, one query per kind."""
    wanted: dict[int, set] = {}
    for entry in entries:
        wanted.setdefault(entry.content_type_id, set()).add(entry.object_id)
    found = {}
    for content_type_id, ids in wanted.items():
        model = ContentType.objects.get_for_id(content_type_id).model_class()
        for record in model.objects.filter(pk__in=ids):
            found[(content_type_id, record.pk)] = record
    return found


def _since(now):
    return now - timedelta(hours=settings.NOTIFY_LOOKBACK_HOURS)


def returned_notices(now) -> list[Notice]:
    """Records a reviewer sent back, still waiting on their preparer: to whoever prepared or
    last changed them."""
    entries = list(
        AuditEntry.objects.filter(
            action=AuditAction.CHANGES_REQUESTED, created_at__gte=_since(now)
        ).order_by("created_at", "id")
    )
    records = _records(entries)
    notices = []
    for entry in entries:
        record = records.get((entry.content_type_id, entry.object_id))
        if record is None or record.state != RecordState.CHANGES_REQUESTED:
            continue
        people = {pk for pk in (record.created_by_id, record.updated_by_id) if pk}
        people.discard(entry.actor_id)  # a partner admin who returned their own work
        notices.append(
            Notice(
                record.partner_id,
                f"audit:{entry.pk}",
                record,
                _url(record),
                detail=entry.comment_text,
                people=frozenset(people),
            )
        )
    return notices


def waiting_notices(now) -> list[Notice]:
    """Records submitted more than NOTIFY_WAITING_HOURS ago and not reviewed yet: to the
    partner's reviewers (once per submission)."""
    before = now - timedelta(hours=settings.NOTIFY_WAITING_HOURS)
    notices = []
    for kind in KINDS.values():
        records = kind.model.objects.filter(state=RecordState.SUBMITTED).filter(
            Q(state_changed_at__lt=before) | Q(state_changed_at__isnull=True, created_at__lt=before)
        )
        for record in records.order_by("state_changed_at", "id"):
            since = record.state_changed_at or record.created_at
            notices.append(
                Notice(
                    record.partner_id,
                    f"{kind.slug}:{record.pk}:{since.isoformat()}",
                    record,
                    _url(record),
                    at=since,
                )
            )
    return notices


def attention_notices(now) -> list[Notice]:
    """Records Kiva rejected, whose outcome is unknown, or whose sending failed, still so."""
    entries = list(
        AuditEntry.objects.filter(
            action__in=ATTENTION_ACTIONS, created_at__gte=_since(now)
        ).order_by("created_at", "id")
    )
    records = _records(entries)
    notices = []
    for entry in entries:
        record = records.get((entry.content_type_id, entry.object_id))
        if record is None or record.state not in ATTENTION_STATES:
            continue
        notices.append(
            Notice(
                record.partner_id,
                f"audit:{entry.pk}",
                record,
                _url(record),
                code=entry.action,
            )
        )
    return notices


def sent_with_problems_notices(now) -> list[Notice]:
    """Submissions Kiva accepted while reporting problems (per repayment line, warnings)."""
    submissions = list(
        Submission.objects.filter(state=SubmissionState.SENT, sent_at__gte=_since(now))
        .exclude(problems=[])
        .order_by("sent_at", "id")
    )
    records = _records(submissions)
    notices = []
    for submission in submissions:
        record = records.get((submission.content_type_id, submission.object_id))
        if record is None:
            continue
        problems = [p for p in submission.problems if isinstance(p, dict)]
        first = problems[0] if problems else {}
        notices.append(
            Notice(
                submission.partner_id,
                f"submission:{submission.pk}",
                submission,
                _url(record),
                detail=f"{len(submission.problems)}: "
                + str(first.get("details") or first.get("message") or first.get("code") or ""),
            )
        )
    return notices


# Who hears of each event, by their role in the record's partner.
AUDIENCE = {
    Event.RETURNED: None,  # the people named on the notice
    Event.WAITING: Action.APPROVE,  # reviewers and partner admins
    Event.ATTENTION: Action.EDIT,  # preparers and partner admins
    Event.SENT_WITH_PROBLEMS: Action.EDIT,
}
FINDERS = {
    Event.RETURNED: returned_notices,
    Event.WAITING: waiting_notices,
    Event.ATTENTION: attention_notices,
    Event.SENT_WITH_PROBLEMS: sent_with_problems_notices,
}


def _members(partner_ids):
    """{partner_id: [(user, role)]}: the active members of those partners with an address."""
    members: dict[int, list] = {}
    rows = Membership.objects.filter(
        partner_id__in=partner_ids, is_active=True, user__is_active=True
    ).exclude(user__email="")
    for membership in rows.select_related("user"):
        members.setdefault(membership.partner_id, []).append((membership.user, membership.role))
    return members


def _preferences(users) -> dict[int, NotificationSettings]:
    found = {s.user_id: s for s in NotificationSettings.objects.filter(user__in=users)}
    return {user.pk: found.get(user.pk) or NotificationSettings(user=user) for user in users}


def _deliver(*, user, prefs, partner_id, event, keys, subject, template, context) -> bool:
    """Record `keys` as told to `user` and hand the mail to the backend, in one transaction:
    False (nothing sent) if another run recorded them first."""
    try:
        with transaction.atomic():
            SentNotification.objects.bulk_create(
                [
                    SentNotification(user=user, partner_id=partner_id, event=event, key=key)
                    for key in keys
                ]
            )
            with translation.override(prefs.language):
                body = render_to_string(template, {**context, "user": user})
                subject = str(subject())
            send_mail(subject, body, None, [user.email])
    except IntegrityError:  # another run told them first
        return False
    except Exception:  # the mail server: nothing recorded, the next run tries again
        logger.exception("notifications: %s email to user %s not sent", event, user.pk)
        return False
    return True


def _already_told(user, event, keys) -> set[str]:
    return set(
        SentNotification.objects.filter(user=user, event=event, key__in=keys).values_list(
            "key", flat=True
        )
    )


def notifications_send(event, now=None) -> int:
    """Send the emails of one kind of event (returned, waiting, attention, sent with
    problems); returns how many emails were sent."""
    now = now or timezone.now()
    notices = FINDERS[event](now)
    if not notices:
        return 0
    partners = {p.pk: p for p in Partner.objects.filter(pk__in={n.partner_id for n in notices})}
    members = _members(partners)
    prefs = _preferences([user for rows in members.values() for user, _role in rows])
    sent = 0
    for partner_id, partner in partners.items():
        mine = [n for n in notices if n.partner_id == partner_id]
        for user, role in members.get(partner_id, []):
            if not prefs[user.pk].wants(event):
                continue
            if AUDIENCE[event] is None:
                theirs = [n for n in mine if user.pk in n.people]
            elif user.is_superuser or role_allows(role, AUDIENCE[event]):
                theirs = mine
            else:
                theirs = []
            told = _already_told(user, event, [n.key for n in theirs]) if theirs else set()
            theirs = [n for n in theirs if n.key not in told]
            if not theirs:
                continue
            count = len(theirs)
            sent += _deliver(
                user=user,
                prefs=prefs[user.pk],
                partner_id=partner_id,
                event=event,
                keys=[n.key for n in theirs],
                subject=lambda event=event, count=count, partner=partner: _subject(
                    event, count, partner
                ),
                template=f"notifications/email/{event}.txt",
                context={
                    "partner": partner,
                    "notices": theirs,
                    "hours": settings.NOTIFY_WAITING_HOURS,
                    "settings_url": _settings_url(),
                },
            )
    if sent:
        logger.info("notifications: %d %s emails sent", sent, event)
    return sent


def _subject(event, n, partner):
    subjects = {
        Event.RETURNED: ngettext(
            "%(n)d record returned to you", "%(n)d records returned to you", n
        ),
        Event.WAITING: ngettext(
            "%(n)d record waiting for review", "%(n)d records waiting for review", n
        ),
        Event.ATTENTION: ngettext(
            "%(n)d record needs attention", "%(n)d records need attention", n
        ),
        Event.SENT_WITH_PROBLEMS: ngettext(
            "%(n)d record sent to Kiva with problems", "%(n)d records sent to Kiva with problems", n
        ),
    }
    return f"[{partner.name}] " + subjects[event] % {"n": n}


def _settings_url():
    return settings.PORTAL_URL.rstrip("/") + reverse("notifications:settings")


def notifications_send_all(now=None) -> dict[str, int]:
    """Every kind of event but the digest (the beat runs this every few minutes)."""
    return {event: notifications_send(event, now) for event in FINDERS}


@dataclass
class Digest:
    waiting: int = 0
    returned: list = field(default_factory=list)
    attention: list = field(default_factory=list)

    def __bool__(self):
        return bool(self.waiting or self.returned or self.attention)


DIGEST_SHOWN = 20


def _digest(partner, user, role) -> Digest:
    digest = Digest()
    for kind in KINDS.values():
        records = kind.model.objects.filter(partner=partner)
        if user.is_superuser or role_allows(role, Action.APPROVE):
            digest.waiting += records.filter(state=RecordState.SUBMITTED).count()
        for record in records.filter(state=RecordState.CHANGES_REQUESTED).filter(
            Q(created_by=user) | Q(updated_by=user)
        )[:DIGEST_SHOWN]:
            digest.returned.append((record, _url(record)))
        if user.is_superuser or role_allows(role, Action.EDIT):
            for record in records.filter(state__in=ATTENTION_STATES)[:DIGEST_SHOWN]:
                digest.attention.append((record, _url(record), record.state))
    return digest


def notifications_send_digest(now=None) -> int:
    """Each member who wants it gets, once a day per partner, what waits for them there:
    records to review, records returned to them, records needing attention. Nothing to say,
    no email."""
    now = timezone.localtime(now or timezone.now())
    key = now.date().isoformat()
    partners = {p.pk: p for p in Partner.objects.filter(is_active=True)}
    members = _members(partners)
    prefs = _preferences([user for rows in members.values() for user, _role in rows])
    sent = 0
    for partner_id, partner in partners.items():
        for user, role in members.get(partner_id, []):
            if not prefs[user.pk].digest or _already_told(user, Event.DIGEST, [key]):
                continue
            digest = _digest(partner, user, role)
            if not digest:
                continue
            sent += _deliver(
                user=user,
                prefs=prefs[user.pk],
                partner_id=partner_id,
                event=Event.DIGEST,
                keys=[key],
                subject=lambda partner=partner: (
                    f"[{partner.name}] "
                    + _("What waits for you on %(day)s") % {"day": date_format(now.date())}
                ),
                template="notifications/email/digest.txt",
                context={
                    "partner": partner,
                    "digest": digest,
                    "day": now.date(),
                    "queue_url": settings.PORTAL_URL.rstrip("/")
                    + reverse("review:dashboard", args=[partner.pk]),
                    "settings_url": _settings_url(),
                },
            )
    return sent
