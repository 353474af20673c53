"""The portal's admin site: open to superusers and to active members of a partner.

Members do not need Django's `is_staff` flag or model permissions: what they may do comes from
their role in each partner (kivaportal.partners.roles), checked by PartnerScopedAdmin.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _

from kivaportal.partners.selectors import may_use_admin


class PortalAdminSite(admin.AdminSite):
    site_header = _("Kiva partner portal")
    site_title = _("Kiva partner portal")
    index_title = _("Administration")

    @property
    def login_form(self):
        # Imported when first used: auth's forms need the app registry, still loading when
        # this module is (it holds the admin's AppConfig).
        from kivaportal.admin_login import PortalAdminLoginForm

        return PortalAdminLoginForm

    def has_permission(self, request):
        return may_use_admin(request.user)


class PortalAdminConfig(AdminConfig):
    default_site = "kivaportal.admin_site.PortalAdminSite"
