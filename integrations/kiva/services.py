"""Writes for Kiva connections: configure, test, and sync reference data."""

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from integrations.kiva.client import CONFIG_LISTS, KivaClient
from integrations.kiva.errors import KivaError
from integrations.kiva.models import Environment, KivaConnection
from integrations.kiva.reference import SyncCounts, upsert_list
from kivaportal.common import crypto
from kivaportal.common.messages import message, message_fields, message_text
from kivaportal.partners.models import Partner
from kivaportal.partners.roles import Action
from kivaportal.partners.selectors import user_can
from kivaportal.workflow.audit import AuditAction
from kivaportal.workflow.transitions import audit_record

logger = logging.getLogger(__name__)

# The audience the sandbox's registered clients use (any string would do; the same on every
# host and port, so a connection can move between the in-portal and standalone sandbox).
SANDBOX_AUDIENCE = "https://kiva-sandbox.invalid"


def environment_defaults(environment: str) -> dict[str, str]:
    """Token URL, API base URL and audience a new connection starts from (all editable)."""
    if environment == Environment.PRODUCTION:
        return {
            "token_url": settings.KIVA_PRODUCTION_TOKEN_URL,
            "api_base_url": settings.KIVA_PRODUCTION_API_URL,
            "audience": settings.KIVA_PRODUCTION_AUDIENCE,
        }
    if environment == Environment.STAGE:
        return {
            "token_url": settings.KIVA_STAGE_TOKEN_URL,
            "api_base_url": settings.KIVA_STAGE_API_URL,
            "audience": settings.KIVA_STAGE_AUDIENCE,
        }
    base = settings.KIVA_SANDBOX_URL.rstrip("/") + "/"
    return {"token_url": base + "oauth/token", "api_base_url": base, "audience": SANDBOX_AUDIENCE}


# Where the client secret goes and where tokens are used: changing any of them without the
# secret would let whoever edits the connection send the stored secret (token URL) or a live
# token (API URL) to a host of their choosing (docs/security.md, "Kiva credentials").
SECRET_BOUND_FIELDS = ("environment", "token_url", "api_base_url", "audience")
# Changes worth an audit entry of their own (everything else is in the history table).
AUDITED_FIELDS = (*SECRET_BOUND_FIELDS, "client_id", "kiva_partner_id", "scopes", "is_active")


def connection_secret_bound_changes(connection: KivaConnection) -> list[str]:
    """The secret-bound fields `connection` (unsaved edits) changes from what is stored."""
    if connection.pk is None:
        return []
    stored = KivaConnection.objects.filter(pk=connection.pk).values(*SECRET_BOUND_FIELDS).first()
    if stored is None:
        return []
    return [name for name in SECRET_BOUND_FIELDS if getattr(connection, name) != stored[name]]


@transaction.atomic
def connection_save(*, connection: KivaConnection, by, client_secret: str | None = None):
    """Save `connection` (a new one, or edits on a loaded one), the one way it is written.

    Changing where the secret or tokens go (environment, token URL, API URL, audience) needs
    the secret entered again; the change is audited in the same transaction, without the
    secret. `client_secret=None` keeps the stored one.
    """
    before = (
        KivaConnection.objects.select_for_update().filter(pk=connection.pk).first()
        if connection.pk
        else None
    )
    moved = connection_secret_bound_changes(connection)
    if moved and not client_secret:
        labels = [str(KivaConnection._meta.get_field(f).verbose_name) for f in moved]
        raise ValidationError(
            {
                "client_secret": _(
                    "Enter the client secret again to change %(fields)s: the secret goes to the "
                    "token URL, and tokens to the API URL."
                )
                % {"fields": ", ".join(labels)}
            }
        )
    if client_secret:
        connection.set_client_secret(client_secret)
    if not connection.has_secret:
        raise ValidationError({"client_secret": _("A client secret is required.")})
    if before is None:
        connection.created_by = connection.created_by or by
    connection.updated_by = by
    connection.full_clean()
    connection.save()
    changes = {
        name: {"from": getattr(before, name) if before else "", "to": getattr(connection, name)}
        for name in AUDITED_FIELDS
        if before is None or getattr(before, name) != getattr(connection, name)
    }
    if changes or client_secret:
        audit_record(
            record=connection,
            actor=by,
            action=AuditAction.CONNECTION_CHANGED,
            data={
                "created": before is None,
                "fields": changes,
                "secret_replaced": bool(client_secret),
            },
        )
    return connection


@transaction.atomic
def connection_stage_approval_record(*, connection: KivaConnection, by, approved_on):
    """A partner admin records that Kiva approved the partner's stage tests (the date Kiva
    did), audited; production sending waits for it (`KivaConnection.production_refusal`)."""
    if not user_can(by, Action.MANAGE, connection.partner_id):
        raise PermissionDenied(_("Only partner admins record Kiva's approval of stage tests."))
    if approved_on is None:
        raise ValidationError({"approved_on": _("Give the date Kiva approved the stage tests.")})
    if approved_on > timezone.localdate():
        raise ValidationError({"approved_on": _("The date of Kiva's approval is in the future.")})
    connection = KivaConnection.objects.select_for_update().get(pk=connection.pk)
    before = connection.stage_approved_on
    connection.stage_approved_on = approved_on
    connection.stage_approved_by = by
    connection.updated_by = by
    connection.save()
    audit_record(
        record=connection,
        actor=by,
        action=AuditAction.STAGE_APPROVED,
        data={
            "approved_on": approved_on.isoformat(),
            "before": before.isoformat() if before else None,
            "environment": connection.environment,
        },
    )
    return connection


def connection_configure(
    *,
    partner: Partner,
    environment: str,
    client_id: str,
    client_secret: str | None = None,
    token_url: str = "",
    api_base_url: str = "",
    audience: str = "",
    by=None,
    **options,
) -> KivaConnection:
    """Create or update `partner`'s connection. Empty URLs take the environment's defaults;
    `client_secret=None` keeps the stored secret (only while the environment, URLs and
    audience stay as they are: see `connection_save`). `options` are other KivaConnection
    fields (kiva_partner_id, scopes, journal_path, journal_body_style, timeouts...)."""
    defaults = environment_defaults(environment)
    connection = KivaConnection.objects.filter(partner=partner).first() or KivaConnection(
        partner=partner, created_by=by, kiva_partner_id=partner.kiva_partner_id
    )
    connection.environment = environment
    connection.token_url = token_url or defaults["token_url"]
    connection.api_base_url = api_base_url or defaults["api_base_url"]
    connection.audience = audience or defaults["audience"]
    connection.client_id = client_id
    for name, value in options.items():
        if value is not None:
            setattr(connection, name, value)
    if not connection.audience:
        raise ValueError(_("The audience is required (Kiva tells each partner its value)."))
    if not connection.has_secret and not client_secret:
        raise ValueError(_("The client secret is required."))
    return connection_save(connection=connection, by=by, client_secret=client_secret)


@dataclass
class ConnectionReport:
    ok: bool = True
    lines: list[str] = field(default_factory=list)

    def add(self, ok: bool, text: str) -> None:
        self.ok = self.ok and ok
        self.lines.append(("OK    " if ok else "FAIL  ") + text)

    def __str__(self):
        return "\n".join(self.lines)


def connection_test(
    *, connection: KivaConnection, client: KivaClient | None = None
) -> ConnectionReport:
    """Fetch a fresh token and the four reference lists; say plainly what happened.

    The outcome is kept on the connection (last_tested_at, last_test_ok, last_test_report).
    """
    client = client or KivaClient(connection)
    report = ConnectionReport()
    try:
        token = client.token(fresh=True)
    except (KivaError, crypto.DecryptionError, ImproperlyConfigured) as exc:
        report.add(
            False, _("Token from %(url)s: %(error)s") % {"url": connection.token_url, "error": exc}
        )
    else:
        report.add(
            True,
            _("Token from %(url)s, scopes: %(scopes)s")
            % {"url": connection.token_url, "scopes": token.scope or "-"},
        )
        missing = set(connection.scope_list) - set(token.scope.split())
        if token.scope and missing:
            report.add(
                False,
                _("Scopes requested but not granted: %(scopes)s")
                % {"scopes": " ".join(sorted(missing))},
            )
        if token.partner_id and token.partner_id != connection.kiva_partner_id:
            report.add(
                False,
                _("The token is for Kiva partner %(theirs)s, the connection says %(ours)s.")
                % {"theirs": token.partner_id, "ours": connection.kiva_partner_id},
            )
        for name in CONFIG_LISTS:
            try:
                items = client.config_list(name)
            except KivaError as exc:
                report.add(False, _("config/%(name)s: %(error)s") % {"name": name, "error": exc})
            else:
                report.add(
                    True,
                    _("config/%(name)s: %(count)d items") % {"name": name, "count": len(items)},
                )
    KivaConnection.objects.filter(pk=connection.pk).update(
        last_tested_at=timezone.now(), last_test_ok=report.ok, last_test_report=str(report)
    )
    return report


# The reference lists by their names in the sync's report.
LIST_LABELS = {
    "activities": gettext_noop("Activities"),
    "locales": gettext_noop("Languages"),
    "themes": gettext_noop("Themes"),
    "locations": gettext_noop("Locations"),
}


def sync_report(counts: dict[str, SyncCounts]) -> dict:
    """What a sync did to each list, as a message (kivaportal/common/messages.py)."""
    lists = {
        name: message(
            gettext_noop(
                "%(list)s: %(created)d new, %(updated)d updated, %(retired)d retired, "
                "%(deleted)d removed, %(skipped)d skipped"
            ),
            list=message(LIST_LABELS[name]),
            created=c.created,
            updated=c.updated,
            retired=c.retired,
            deleted=c.deleted,
            skipped=c.skipped,
        )
        for name, c in counts.items()
    }
    return message(gettext_noop("%(activities)s; %(locales)s; %(themes)s; %(locations)s"), **lists)


def sync_failed(exc) -> dict:
    """A failed sync, as a message: Kiva's (or the client's) error as it is."""
    return message(gettext_noop("Failed: %(error)s"), error=exc)


def reference_sync(
    *, connection: KivaConnection, client: KivaClient | None = None
) -> dict[str, SyncCounts]:
    """Fetch the four config lists and upsert them into the partner's reference data.

    All four are fetched before anything is written, so a failure leaves the data as it was.
    Values Kiva no longer lists are deleted, or marked retired when loans refer to them.
    """
    client = client or KivaClient(connection)
    fetched = {name: client.config_list(name) for name in CONFIG_LISTS}
    now = timezone.now()
    with transaction.atomic():
        counts = {
            name: upsert_list(name, items, partner=connection.partner, now=now)
            for name, items in fetched.items()
        }
        summary = sync_report(counts)
        KivaConnection.objects.filter(pk=connection.pk).update(
            last_synced_at=now, **message_fields("last_sync_report", summary)
        )
    logger.info(
        "kiva reference sync for partner %s: %s", connection.partner_id, message_text(summary)
    )
    return counts


def reference_sync_connection(*, connection_id: int) -> str:
    """Sync one connection (a partner admin's "Sync reference data now", queued); a failure is
    kept on the connection (last_sync_report) as the periodic sync keeps it. Returns "ok" or
    what failed."""
    connection = (
        KivaConnection.objects.filter(pk=connection_id, is_active=True)
        .select_related("partner")
        .first()
    )
    if connection is None:
        return "no active connection"
    try:
        reference_sync(connection=connection)
    except KivaError as exc:
        logger.warning("kiva reference sync failed for partner %s: %s", connection.partner_id, exc)
        KivaConnection.objects.filter(pk=connection.pk).update(
            **message_fields("last_sync_report", sync_failed(exc))
        )
        return f"failed: {exc}"
    return "ok"


def reference_sync_all() -> dict[int, str]:
    """Sync every active connection; one partner's failure does not stop the others."""
    outcomes = {}
    for connection in KivaConnection.objects.filter(is_active=True).select_related("partner"):
        try:
            reference_sync(connection=connection)
            outcomes[connection.partner_id] = "ok"
        except KivaError as exc:
            logger.warning(
                "kiva reference sync failed for partner %s: %s", connection.partner_id, exc
            )
            KivaConnection.objects.filter(pk=connection.pk).update(
                **message_fields("last_sync_report", sync_failed(exc))
            )
            outcomes[connection.partner_id] = f"failed: {exc}"
    return outcomes
