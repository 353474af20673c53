"""Every query is scoped to the user's partner organisations, through this one queryset.

Admin, review pages, APIs and exports call `Model.objects.for_user(user)` (or
`scope_queryset`) instead of filtering by hand. Models that reach their partner through a
relation declare the path in `partner_path` (for example `"loan__partner"`).
"""

from django.db import models

from kivaportal.partners.selectors import user_roles


def user_partner_ids(user) -> frozenset[int] | None:
    """The ids of the partners `user` is an active member of; None means "all" (superuser)."""
    if user is not None and user.is_authenticated and user.is_active and user.is_superuser:
        return None
    return frozenset(user_roles(user))


def scope_queryset(queryset: models.QuerySet, user) -> models.QuerySet:
    model = queryset.model
    path = getattr(model, "partner_path", None)
    if path is None:
        raise TypeError(f"{model.__name__} declares no partner_path; it cannot be scoped")
    partner_ids = user_partner_ids(user)
    if partner_ids is None:
        return queryset
    lookup = "id__in" if path == "" else f"{path}_id__in"
    return queryset.filter(**{lookup: partner_ids})


class PartnerScopedQuerySet(models.QuerySet):
    def for_user(self, user):
        return scope_queryset(self, user)
