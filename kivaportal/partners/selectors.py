"""Reads about who may do what in which partner."""

from kivaportal.partners.roles import Action, role_allows


def user_roles(user) -> dict[int, str]:
    """{partner_id: role} for the user's active memberships; cached on the user object."""
    if user is None or not user.is_authenticated or not user.is_active:
        return {}
    cached = getattr(user, "_portal_roles", None)
    if cached is None:
        from kivaportal.partners.models import Membership

        cached = dict(
            Membership.objects.filter(user=user, is_active=True).values_list("partner_id", "role")
        )
        user._portal_roles = cached
    return cached


def user_can(user, action: Action, partner_id: int | None = None) -> bool:
    """Whether `user` may do `action` in `partner_id` (or, without a partner, in any of theirs)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
        return True
    roles = user_roles(user)
    if partner_id is not None:
        return role_allows(roles.get(partner_id, ""), action)
    return any(role_allows(role, action) for role in roles.values())


def partner_ids_where(user, action: Action) -> set[int] | None:
    """Partners in which `user` may do `action`; None means all (superuser)."""
    if user.is_superuser:
        return None
    return {pid for pid, role in user_roles(user).items() if role_allows(role, action)}


def may_use_admin(user) -> bool:
    """The admin (its login included) admits superusers and active members of a partner."""
    return user.is_active and (user.is_superuser or bool(user_roles(user)))


def partner_kiva_environment(partner_id: int) -> str:
    """The Kiva environment the partner's records go to now (its active connection's), or ""
    (no active connection). What Kiva knows of a loan counts only as that environment knows it
    (`LoanAtKiva.known_in`, docs/kiva.md "Stage and production"). One query."""
    from kivaportal.partners.models import Partner

    return (
        Partner.objects.filter(pk=partner_id, kiva_connection__is_active=True)
        .values_list("kiva_connection__environment", flat=True)
        .first()
        or ""
    )
