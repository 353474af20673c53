"""Loan photos for a file import: the loans file's `photo` column names an image inside a .zip
uploaded with it. The portal never fetches a URL for a photo (docs/security.md: a server that
fetches what a file names can be made to call internal addresses, and hang on slow or huge
answers).

The archive is read member by member, never extracted: a name is only a key into it (no path
reaches the file system), each member's size is refused above PORTAL_PHOTO_MAX_MB before it is
read, and the image must be a JPEG or PNG that Pillow verifies, within Pillow's pixel limit."""

import hashlib
import io
import zipfile
from collections.abc import Callable

from django.conf import settings
from django.utils.translation import gettext as _

from integrations.mis.fields import Invalid

MAX_MEMBERS = 100_000


class PhotoArchive:
    def __init__(self, opener: Callable):
        self.opener = opener
        self._index: dict[str, str] | None = None

    def _names(self) -> dict[str, str]:
        """Member names by their file name, case-insensitive (folders inside are allowed)."""
        if self._index is None:
            try:
                with self.opener() as raw, zipfile.ZipFile(raw) as archive:
                    infos = archive.infolist()
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise Invalid(_("The photos file is not a valid .zip archive.")) from exc
            if len(infos) > MAX_MEMBERS:
                raise Invalid(_("The photos .zip holds too many files."))
            self._index = {}
            for info in infos:
                if not info.is_dir():
                    self._index.setdefault(info.filename.rsplit("/", 1)[-1].lower(), info.filename)
        return self._index

    def read(self, name: str) -> bytes:
        member = self._names().get(name.strip().rsplit("/", 1)[-1].lower())
        if member is None:
            raise Invalid(_("No file named “%(name)s” in the photos .zip.") % {"name": name})
        limit = settings.PORTAL_PHOTO_MAX_MB
        with self.opener() as raw, zipfile.ZipFile(raw) as archive:
            info = archive.getinfo(member)
            if info.file_size > limit * 1024 * 1024:
                raise Invalid(
                    _("This photo is %(size).1f MB; the largest accepted is %(limit)s MB.")
                    % {"size": info.file_size / 1024 / 1024, "limit": f"{limit:g}"}
                )
            try:
                return archive.read(member)  # checks the size and CRC the archive states
            except (zipfile.BadZipFile, OSError, ValueError) as exc:
                raise Invalid(
                    _("“%(name)s” cannot be read from the .zip.") % {"name": name}
                ) from exc

    def photo(self, name: str):
        """(a loader of the bytes, extension, SHA-256) of a valid photo; raises Invalid. The
        bytes are read again when written, not held for every loan of the file."""
        from PIL import Image, UnidentifiedImageError

        data = self.read(name)
        try:
            with Image.open(io.BytesIO(data)) as image:
                kind = (image.format or "").lower()
                image.verify()
        except (
            UnidentifiedImageError,
            OSError,
            SyntaxError,
            ValueError,
            Image.DecompressionBombError,
        ) as exc:
            raise Invalid(_("“%(name)s” is not a JPEG or PNG image.") % {"name": name}) from exc
        if kind not in ("jpeg", "png"):
            raise Invalid(_("“%(name)s” is not a JPEG or PNG image.") % {"name": name})
        digest = hashlib.sha256(data).hexdigest()
        return (lambda: self.read(name)), ("jpg" if kind == "jpeg" else "png"), digest
