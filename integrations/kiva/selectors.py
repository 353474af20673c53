"""Reads of the Kiva connection."""

from integrations.kiva.models import KivaConnection


def partner_connection(partner_id, *, active_only=False) -> KivaConnection | None:
    """A partner's Kiva connection (one per partner), or None if it has none. `active_only`:
    None as well when the connection is switched off (nothing may be sent through it)."""
    connections = KivaConnection.objects.filter(partner_id=partner_id)
    if active_only:
        connections = connections.filter(is_active=True)
    return connections.first()
