"""Upserting Kiva's config lists into the partner's reference tables.

Each list maps onto one model, keyed by Kiva's id (or, for locations, the full name that drafts
send). A value Kiva stops listing is deleted, unless a loan refers to it: then it is kept and
marked retired, so the loan still shows what it had and the checks warn about it.
"""

from dataclasses import dataclass

from django.db.models import ProtectedError

from kivaportal.reference.models import Activity, Locale, Location, Theme


@dataclass
class SyncCounts:
    created: int = 0
    updated: int = 0
    retired: int = 0
    deleted: int = 0
    skipped: int = 0  # items without the fields the portal needs

    def __str__(self):
        return (
            f"{self.created} new, {self.updated} updated, {self.retired} retired, "
            f"{self.deleted} removed, {self.skipped} skipped"
        )


def _activity(item):
    return {"kiva_id": int(item["activity_id"])}, {"name": str(item["activity"])}


def _theme(item):
    return {"kiva_id": int(item["theme_type_id"])}, {"name": str(item["theme_type"])}


def _locale(item):
    return (
        {"currency": str(item["currency"]).upper(), "language_id": int(item["language_id"])},
        {
            "language_code": str(item.get("language_code") or ""),
            "language_name": str(item.get("language_name") or ""),
        },
    )


def _location(item):
    return (
        {"full_name": str(item["full_name"])},
        {"country": str(item.get("country") or ""), "location": str(item.get("location") or "")},
    )


LISTS = {
    "activities": (Activity, _activity),
    "themes": (Theme, _theme),
    "locales": (Locale, _locale),
    "locations": (Location, _location),
}


def upsert_list(name: str, items: list, *, partner, now) -> SyncCounts:
    model, parse = LISTS[name]
    counts = SyncCounts()
    seen = set()
    existing = {}
    for obj in model.objects.filter(partner=partner):
        key, _values = _key_of(model, obj)
        existing[key] = obj
    for item in items:
        try:
            key_fields, values = parse(item)
        except (KeyError, TypeError, ValueError):
            counts.skipped += 1
            continue
        key = tuple(sorted(key_fields.items()))
        if key in seen:
            continue
        seen.add(key)
        obj = existing.get(key)
        if obj is None:
            model.objects.create(
                partner=partner, **key_fields, **values, retired=False, synced_at=now
            )
            counts.created += 1
            continue
        changed = obj.retired or any(getattr(obj, f) != v for f, v in values.items())
        for f, v in values.items():
            setattr(obj, f, v)
        obj.retired = False
        obj.synced_at = now
        if changed:
            obj.save()
            counts.updated += 1
        else:
            # Only the sync time moved: skip the history row a full save() would write.
            model.objects.filter(pk=obj.pk).update(synced_at=now)
    for key, obj in existing.items():
        if key in seen:
            continue
        try:
            obj.delete()
            counts.deleted += 1
        except ProtectedError:
            if not obj.retired:
                obj.retired = True
                obj.save()
                counts.retired += 1
    return counts


def _key_of(model, obj):
    if model is Locale:
        key = {"currency": obj.currency, "language_id": obj.language_id}
    elif model is Location:
        key = {"full_name": obj.full_name}
    else:
        key = {"kiva_id": obj.kiva_id}
    return tuple(sorted(key.items())), None
