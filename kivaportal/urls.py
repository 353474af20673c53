from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from kivaportal.media import media_file

urlpatterns = [
    path("", include("kivaportal.review.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("notifications/", include("kivaportal.notifications.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("intake/", include("integrations.mis.urls")),
    path("api/intake/v1/", include("integrations.mis.api_urls")),
    # Uploads, for members of the record's partner only (kivaportal/media.py), in every mode:
    # no static serving of MEDIA_ROOT, not even in development.
    path(settings.MEDIA_URL.strip("/") + "/<path:name>", media_file, name="media"),
]

if settings.KIVA_SANDBOX_ENABLED:
    # The local stand-in for Kiva (docs/kiva.md); the demo's connections point here.
    urlpatterns += [path("kiva-sandbox/", include("integrations.kiva.sandbox.urls"))]
