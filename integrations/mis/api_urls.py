from django.urls import path, re_path

from integrations.mis import api_views

app_name = "mis_api"

KINDS = ("loan_draft", "repayments", "journals", "borrowers")
KIVA = "v3/partner/<str:partner_id>/"

urlpatterns = [
    path("openapi.json", api_views.openapi_view, name="openapi"),
    path("docs/", api_views.docs_view, name="docs"),
    path("oauth/token", api_views.token_view, name="token"),
    *[path(kind, api_views.intake_view(kind), name=kind) for kind in KINDS],
    # Kiva's own layout, so an MIS built for Kiva only changes its base URL and credentials.
    *[path(f"{KIVA}{kind}", api_views.intake_view(kind), name=f"kiva_{kind}") for kind in KINDS],
    path("v3/partners/<str:partner_id>/journals", api_views.intake_view("journals")),
    path(f"{KIVA}config/<str:name>", api_views.config_view, name="kiva_config"),
    path(f"{KIVA}loans", api_views.loans_view, name="kiva_loans"),
    # Anything else under the prefix: a JSON 404, not the site's HTML page.
    re_path(r"^.*$", api_views.not_found),
]
