"""Deployment checks for the Kiva integration."""

from django.conf import settings
from django.core.checks import Warning, register


@register(deploy=True)
def sandbox_off_in_production(app_configs, **kwargs):
    if settings.PRODUCTION and settings.KIVA_SANDBOX_ENABLED:
        return [
            Warning(
                "KIVA_SANDBOX_ENABLED is on in production.",
                hint="The sandbox's pages show every request it received to anyone; turn it off.",
                id="kiva.W001",
            )
        ]
    return []
