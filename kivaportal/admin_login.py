"""The admin's login form (kivaportal.admin_site)."""

from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from kivaportal.partners.selectors import may_use_admin


class PortalAdminLoginForm(AuthenticationForm):
    """The admin's login admits whoever the admin admits (Django's asks for `is_staff`, which
    partner members do not have): the same people as the portal's login."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "no_partner": _("This account is not a member of any partner yet."),
    }
    required_css_class = "required"

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not may_use_admin(user):
            raise ValidationError(self.error_messages["no_partner"], code="no_partner")
