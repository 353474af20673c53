from django.urls import path

from integrations.mis import api_views

app_name = "mis_api"

KINDS = ("loan_draft", "repayments", "journals", "borrowers")

urlpatterns = [
    path("openapi.json", api_views.openapi_view, name="openapi"),
    *[path(kind, api_views.intake_view(kind), name=kind) for kind in KINDS],
    # Kiva's own layout, so an MIS built for Kiva only changes its base URL.
    *[
        path(
            f"v3/partner/<str:partner_id>/{kind}",
            api_views.intake_view(kind),
            name=f"kiva_{kind}",
        )
        for kind in KINDS
    ],
    path("v3/partners/<str:partner_id>/journals", api_views.intake_view("journals")),
]
