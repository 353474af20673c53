"""Shared by the Kiva management commands."""

from django.core.management.base import CommandError
from django.db.models import Q

from integrations.kiva.models import KivaConnection
from kivaportal.partners.models import Partner


def find_partner(value: str) -> Partner:
    """A partner by its Kiva partner id or its exact name."""
    try:
        return Partner.objects.get(Q(kiva_partner_id=value) | Q(name=value))
    except Partner.DoesNotExist as exc:
        raise CommandError(f"No partner with Kiva id or name {value!r}.") from exc


def connections(partner: str | None):
    if partner:
        found = KivaConnection.objects.filter(partner=find_partner(partner))
        if not found:
            raise CommandError(f"Partner {partner!r} has no Kiva connection; run kiva_connect.")
        return found.select_related("partner")
    return KivaConnection.objects.filter(is_active=True).select_related("partner")
