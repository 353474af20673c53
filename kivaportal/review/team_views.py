"""The team page of a partner (partner admins only): its members with their role and login
state, an invitation form, and the Kiva reference data with a "sync now" button. Every change
goes through `kivaportal.review.team` (or `controls.lockout_clear`), audited there.

Another partner's page, or a membership of another partner posted to this one, is a 404.
"""

from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from integrations.kiva.selectors import partner_connection
from kivaportal.partners.models import Membership, Partner
from kivaportal.partners.roles import Action, Role
from kivaportal.partners.selectors import user_can
from kivaportal.review import team
from kivaportal.review.controls import lockout_clear
from kivaportal.workflow.errors import ReviewError


class InviteForm(forms.Form):
    email = forms.EmailField(label=gettext_lazy("Email address"))
    role = forms.ChoiceField(
        label=gettext_lazy("Role"), choices=Role.choices, initial=Role.PREPARER
    )


def _managed_partner(request, partner_id):
    """The partner, if the user manages it; a 404 otherwise (not telling it exists)."""
    partner = get_object_or_404(Partner.objects.for_user(request.user), pk=partner_id)
    if not user_can(request.user, Action.MANAGE, partner.pk):
        raise Http404
    return partner


def _base_url(request):
    return f"{request.scheme}://{request.get_host()}"


def _members(partner):
    memberships = list(
        Membership.objects.filter(partner=partner)
        .select_related("user")
        .order_by("-is_active", "user__username")
    )
    usernames = [m.user.username for m in memberships]
    limit = settings.AXES_FAILURE_LIMIT
    locked = set(
        AccessAttempt.objects.filter(username__in=usernames, failures_since_start__gte=limit)
        .values("username")
        .annotate(last=Max("attempt_time"))
        .values_list("username", flat=True)
    )
    for membership in memberships:
        membership.locked_out = membership.user.username in locked
        membership.pending = team.invitation_pending(membership.user)
    return memberships


@login_required
def team_page(request, partner_id):
    partner = _managed_partner(request, partner_id)
    form = InviteForm()
    if request.method == "POST":
        form = InviteForm(request.POST)
        if form.is_valid():
            try:
                membership = team.member_invite(
                    partner=partner,
                    email=form.cleaned_data["email"],
                    role=form.cleaned_data["role"],
                    by=request.user,
                    base_url=_base_url(request),
                )
            except ReviewError as refusal:
                form.add_error("email", refusal.message)
            else:
                messages.success(
                    request,
                    _("%(email)s is invited as %(role)s: a link to set a password is on its way.")
                    % {"email": membership.user.email, "role": membership.get_role_display()}
                    if team.invitation_pending(membership.user)
                    else _("%(user)s is now a member, as %(role)s.")
                    % {"user": membership.user, "role": membership.get_role_display()},
                )
                return redirect("review:team", partner_id=partner.pk)
    return render(
        request,
        "review/team.html",
        {
            "partner": partner,
            "members": _members(partner),
            "form": form,
            "roles": Role.choices,
            "connection": partner_connection(partner.pk),
            "can_manage": True,
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def team_act(request, partner_id):
    partner = _managed_partner(request, partner_id)
    # Only this partner's memberships: a forged id of another partner's member is a 404.
    membership = get_object_or_404(
        Membership.objects.filter(partner=partner).select_related("user"),
        pk=request.POST.get("membership") if str(request.POST.get("membership")).isdigit() else 0,
    )
    action = request.POST.get("action")
    name = membership.user.get_full_name() or membership.user.get_username()
    try:
        if action == "role":
            team.member_role_change(
                membership=membership, role=request.POST.get("role", ""), by=request.user
            )
            membership.refresh_from_db()
            done = _("%(name)s is now %(role)s.") % {
                "name": name,
                "role": membership.get_role_display(),
            }
        elif action == "remove":
            team.member_remove(membership=membership, by=request.user)
            done = _("%(name)s is no longer a member of %(partner)s.") % {
                "name": name,
                "partner": partner,
            }
        elif action == "password_reset":
            team.member_password_reset(
                membership=membership, by=request.user, base_url=_base_url(request)
            )
            done = _("A link to set a new password was mailed to %(name)s.") % {"name": name}
        elif action == "unlock":
            if not membership.is_active:
                raise ReviewError(_("%(name)s is no longer a member.") % {"name": name})
            lockout_clear(username=membership.user.get_username(), by=request.user)
            done = _("%(name)s can log in again.") % {"name": name}
        else:
            raise ReviewError(_("Unknown action."))
    except ReviewError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, done)
    return redirect("review:team", partner_id=partner.pk)


@login_required
@require_POST
def reference_sync(request, partner_id):
    partner = _managed_partner(request, partner_id)
    try:
        team.reference_sync_request(partner=partner, by=request.user)
    except ReviewError as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(
            request,
            _("Reference data sync with Kiva started: “last synced” changes when it is done."),
        )
    return redirect("review:team", partner_id=partner.pk)


class WelcomeView(auth_views.PasswordResetConfirmView):
    """An invited person sets their first password through their link, which opens the
    account. Only for an account never opened: not a way to switch on an account the
    operators switched off."""

    template_name = "registration/welcome.html"
    success_url = reverse_lazy("login")
    reset_url_token = "set-password"  # noqa: S105 - the URL segment Django's view uses

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        if user is not None and not team.invitation_pending(user):
            return None  # the link reads as invalid
        return user

    @transaction.atomic
    def form_valid(self, form):
        response = super().form_valid(form)
        team.member_invite_accept(user=form.user)
        messages.success(
            self.request,
            _("Your password is set. Log in with your username, %(username)s.")
            % {"username": form.user.get_username()},
        )
        return response
