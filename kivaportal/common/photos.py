"""Photos are scaled once, when they arrive, not on every view or send.

A record with a photo keeps three files: the original as uploaded (never changed), a copy the
size of the review pages (`photo_page`, a few tens of kilobytes where a phone's camera photo
weighs megabytes), and for a loan the copy that goes to Kiva (`photo_kiva`, scaled by
`integrations.kiva.photos`). `photo_copies_of` names the original the copies were made from,
so a copy that does not match the current photo is never used (see `PagePhoto`). The scaling
lives here, below everything; integrations/kiva/photos.py encodes the Kiva copy.

Every path that stores a photo calls `photo_copies_make` (the admin, the file and API intake,
the demo).
"""

import io

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _
from PIL import Image, ImageOps

# The review pages show a photo at most 18rem (288 CSS px) high: 720 px on the longer side
# stays sharp on a phone's 2x screen at a fraction of the original's weight.
PAGE_JPEG_QUALITY = 75
# The copy sent to Kiva: KIVA_PHOTO_MAX_SIDE pixels at this quality.
KIVA_JPEG_QUALITY = 85


def image_scaled(file, *, max_side: int, quality: int) -> tuple[bytes, str]:
    """(encoded image, "jpeg" or "png") of an image file or Django FieldFile, its longer side
    at most `max_side`. PNG stays PNG (it may carry transparency); everything else becomes
    JPEG. The EXIF orientation is applied first, so the photo is upright once EXIF is dropped."""
    if hasattr(file, "open"):
        file.open("rb")
    try:
        file.seek(0)
        with Image.open(file) as original:
            kind = "png" if original.format == "PNG" else "jpeg"
            image = ImageOps.exif_transpose(original)
            image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            if kind == "png":
                image.save(out, format="PNG", optimize=True)
            else:
                image.convert("RGB").save(out, format="JPEG", quality=quality, optimize=True)
    finally:
        if hasattr(file, "close"):
            file.close()
    return out.getvalue(), kind


def photo_copies_make(*, record, save: bool = True) -> None:
    """Write the scaled copies of `record.photo` (already stored) and point the record at them.

    With `save=True` only the copy fields are written to the row (an UPDATE, no history entry:
    they are derived from the photo, whose change is in the history). `save=False` leaves the
    row to the caller (records about to be created in bulk).
    """
    fields = ["photo_page", "photo_copies_of"]
    kiva = hasattr(record, "photo_kiva")
    if kiva:
        fields.append("photo_kiva")
    if not record.photo:
        for name in fields:
            setattr(record, name, "")
    else:
        stem = record.photo.name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        data, kind = image_scaled(
            record.photo, max_side=settings.PORTAL_PHOTO_PAGE_MAX_SIDE, quality=PAGE_JPEG_QUALITY
        )
        record.photo_page.save(f"{stem}.page.{kind}", ContentFile(data), save=False)
        if kiva:
            data, kind = image_scaled(
                record.photo, max_side=settings.KIVA_PHOTO_MAX_SIDE, quality=KIVA_JPEG_QUALITY
            )
            record.photo_kiva.save(f"{stem}.kiva.{kind}", ContentFile(data), save=False)
        record.photo_copies_of = record.photo.name
    if save and record.pk is not None:
        values = {name: getattr(record, name) for name in fields}
        values = {name: getattr(value, "name", value) or "" for name, value in values.items()}
        type(record)._default_manager.filter(pk=record.pk).update(**values)


def photo_validate_size(file) -> None:
    """Refuse a photo over PORTAL_PHOTO_MAX_MB (a form validator: the message names the limit)."""
    limit = settings.PORTAL_PHOTO_MAX_MB
    # Only a new upload: a photo stored before the limit was lowered does not block edits.
    if isinstance(file, UploadedFile) and file.size > limit * 1024 * 1024:
        raise ValidationError(
            _("This photo is %(size).1f MB; the largest accepted is %(limit)s MB."),
            code="photo_too_large",
            params={"size": file.size / 1024 / 1024, "limit": f"{limit:g}"},
        )
