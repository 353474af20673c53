"""A stand-in for a phone camera's photo: 4000x3000, about 2.4 MB as JPEG, with the colour
fields, detail and grain that make real photos compress as they do (a flat test image shrinks
to almost nothing and would prove nothing about page weight)."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image


def camera_photo_bytes(size=(4000, 3000)) -> bytes:
    fields = Image.merge("RGB", [Image.effect_noise((40, 30), 90) for _ in range(3)])
    fields = fields.resize(size, Image.Resampling.BICUBIC)
    detail = Image.effect_noise((size[0] // 4, size[1] // 4), 40).resize(
        size, Image.Resampling.BICUBIC
    )
    grain = Image.effect_noise(size, 12)
    image = Image.blend(
        Image.blend(fields, detail.convert("RGB"), 0.35), grain.convert("RGB"), 0.12
    )
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def upload(data: bytes, name="camera.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="image/jpeg")
