"""The sandbox's URLs. Mounted at /kiva-sandbox/ in the portal (KIVA_SANDBOX_ENABLED) and by its
own server (urls_standalone), so a connection's URLs differ only in host and port."""

from django.urls import path

from . import api, pages

app_name = "kiva_sandbox"

urlpatterns = [
    path("", pages.index, name="index"),
    path("requests/", pages.requests_log, name="requests"),
    path("loans/", pages.loans, name="loans"),
    path("loans/<uuid:uuid>/publish", pages.loan_publish, name="loan_publish"),
    path("loans/<uuid:uuid>/move", pages.loan_move, name="loan_move"),
    path("journals/<uuid:uuid>/confirm", pages.journal_confirm, name="journal_confirm"),
    path("oauth/token", api.token, name="token"),
    path("v3/partner/<str:partner_id>/config/<str:name>", api.config_list, name="config"),
    path("v3/partner/<str:partner_id>/loans", api.loans, name="loans_api"),
    path("v3/partner/<str:partner_id>/loan_draft", api.loan_draft, name="loan_draft"),
    path("v3/partner/<str:partner_id>/repayments", api.repayments, name="repayments"),
    path("v3/partner/<str:partner_id>/journals", api.journals, name="journals"),
    # The path one Kiva sample uses; which one Kiva serves is open.
    path("v3/partners/<str:partner_id>/journals", api.journals, name="journals_plural"),
]
