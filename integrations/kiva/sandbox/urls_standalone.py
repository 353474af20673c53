"""Root URLconf of the standalone sandbox server: the sandbox alone, at the same prefix."""

from django.urls import include, path

urlpatterns = [path("kiva-sandbox/", include("integrations.kiva.sandbox.urls"))]
