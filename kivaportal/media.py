"""Uploaded files (loan and journal photos, MIS import files) served only to signed-in members
of the partner whose record holds them, in development and in production alike.

The URL is the file's storage name under MEDIA_URL (so `record.photo.url` works unchanged);
the view looks the name up among the fields that hold uploads, through `for_user` scoping, and
answers 404 for a file no record of the user's partners holds (another partner's included).
The bytes come from Django (FileResponse) or, with MEDIA_SERVE set, from the web server:
`x-accel-redirect` (nginx: an `internal` location at MEDIA_ACCEL_PREFIX aliased to
MEDIA_ROOT) or `x-sendfile` (Apache mod_xsendfile). docs/security.md, "Media".
"""

import mimetypes
from pathlib import PurePosixPath
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpResponse
from django.views.decorators.http import require_safe


def _holders():
    """(model, field, served as an attachment) for every field that holds an upload."""
    from integrations.mis.models import ImportJob
    from kivaportal.journals.models import Journal
    from kivaportal.lending.models import Loan

    return (
        (Loan, "photo", False),
        (Journal, "photo", False),
        (ImportJob, "file", True),
        (ImportJob, "members_file", True),
        (ImportJob, "schedule_file", True),
    )


def media_holder(user, name: str):
    """Whether a record of `user`'s partners holds the file `name`, and if so whether it is
    served as an attachment; None if none does."""
    for model, field, attachment in _holders():
        if model.objects.for_user(user).filter(**{field: name}).exists():
            return attachment
    return None


@require_safe
@login_required
def media_file(request, name):
    if "\x00" in name or PurePosixPath(name).is_absolute() or ".." in PurePosixPath(name).parts:
        raise Http404
    attachment = media_holder(request.user, name)
    if attachment is None or not default_storage.exists(name):
        raise Http404
    filename = PurePosixPath(name).name
    mode = settings.MEDIA_SERVE
    if mode in ("x-accel-redirect", "x-sendfile"):
        response = HttpResponse(content_type=mimetypes.guess_type(filename)[0] or "")
        if mode == "x-accel-redirect":
            response["X-Accel-Redirect"] = (
                settings.MEDIA_ACCEL_PREFIX.rstrip("/") + "/" + quote(name)
            )
        else:
            response["X-Sendfile"] = default_storage.path(name)
        disposition = "attachment" if attachment else "inline"
        response["Content-Disposition"] = f"{disposition}; filename*=UTF-8''{quote(filename)}"
    else:
        response = FileResponse(
            default_storage.open(name, "rb"), as_attachment=attachment, filename=filename
        )
    # Personal data: never kept by a shared cache.
    response["Cache-Control"] = "private, no-store"
    return response
