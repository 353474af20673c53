from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("kivaportal.review.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("intake/", include("integrations.mis.urls")),
    path("api/intake/v1/", include("integrations.mis.api_urls")),
]

if settings.KIVA_SANDBOX_ENABLED:
    # The local stand-in for Kiva (docs/kiva.md); the demo's connections point here.
    urlpatterns += [path("kiva-sandbox/", include("integrations.kiva.sandbox.urls"))]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
