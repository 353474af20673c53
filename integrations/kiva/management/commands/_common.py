"""Shared by the Kiva management commands."""

from django.core.management.base import CommandError

from integrations.kiva.models import KivaConnection
from kivaportal.partners.models import Partner


def find_partner(value: str) -> Partner:
    """A partner by its Kiva partner id or its exact name."""
    partner = (
        Partner.objects.filter(kiva_partner_id=value).first()
        or Partner.objects.filter(name=value).first()
    )
    if partner is None:
        raise CommandError(f"No partner with Kiva id or name {value!r}.")
    return partner


def connections(partner: str | None):
    if partner:
        found = KivaConnection.objects.filter(partner=find_partner(partner))
        if not found:
            raise CommandError(f"Partner {partner!r} has no Kiva connection; run kiva_connect.")
        return found.select_related("partner")
    return KivaConnection.objects.filter(is_active=True).select_related("partner")
