"""A borrower photo as Kiva's `image_encoded`: base64 of a JPEG or PNG, scaled down.

Phone photos are often several megabytes; Kiva's size limit is not documented, so photos are
scaled to KIVA_PHOTO_MAX_SIDE pixels on their longer side. PNG stays PNG (it may carry
transparency); everything else becomes JPEG. The EXIF orientation is applied first, so the
photo is upright once EXIF is dropped.
"""

import base64

from django.conf import settings

from kivaportal.common.photos import KIVA_JPEG_QUALITY, image_scaled


def photo_bytes(file, *, max_side: int | None = None) -> tuple[bytes, str]:
    """(encoded image, "jpeg" or "png") for an image file or Django FieldFile, scaled for Kiva."""
    return image_scaled(
        file, max_side=max_side or settings.KIVA_PHOTO_MAX_SIDE, quality=KIVA_JPEG_QUALITY
    )


def photo_base64(file, *, data_uri: bool = False, max_side: int | None = None) -> str:
    data, kind = photo_bytes(file, max_side=max_side)
    return encoded_photo(data, kind, data_uri=data_uri)


def scaled_photo_base64(file, *, data_uri: bool = False) -> str:
    """`image_encoded` for a copy already scaled for Kiva when it was uploaded: its bytes as
    they are (encoding it again would lose quality for nothing)."""
    if hasattr(file, "open"):
        file.open("rb")
    try:
        file.seek(0)
        data = file.read()
    finally:
        if hasattr(file, "close"):
            file.close()
    kind = "png" if data.startswith(b"\x89PNG") else "jpeg"
    return encoded_photo(data, kind, data_uri=data_uri)


def encoded_photo(data: bytes, kind: str, *, data_uri: bool = False) -> str:
    encoded = base64.b64encode(data).decode("ascii")
    return f"data:image/{kind};base64,{encoded}" if data_uri else encoded
