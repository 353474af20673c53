"""The portal's admin site: open to superusers and to active members of a partner.

Members do not need Django's `is_staff` flag or model permissions: what they may do comes from
their role in each partner (kivaportal.partners.roles), checked by PartnerScopedAdmin.
"""

from functools import update_wrapper

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.core.exceptions import BadRequest
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

    def admin_view(self, view, cacheable=False):
        guarded = super().admin_view(view, cacheable)

        def inner(request, *args, **kwargs):
            # A NUL byte can reach no column (PostgreSQL refuses it in text): a bad request for
            # every admin page, before any model admin parses it.
            if "\x00" in request.path or any(
                "\x00" in key or any("\x00" in value for value in values)
                for key, values in request.GET.lists()
            ):
                raise BadRequest("NUL byte in the URL")
            return guarded(request, *args, **kwargs)

        return update_wrapper(inner, guarded)


class PortalAdminConfig(AdminConfig):
    default_site = "kivaportal.admin_site.PortalAdminSite"
