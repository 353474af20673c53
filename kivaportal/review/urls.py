from django.urls import path

from kivaportal.review import audit_views, bulk_views, team_views, views

app_name = "review"

urlpatterns = [
    path("", views.home, name="home"),
    path("p/<int:partner_id>/", views.dashboard, name="dashboard"),
    path("p/<int:partner_id>/reports/open/", views.report_open, name="report_open"),
    path("p/<int:partner_id>/kiva/reconcile/", views.kiva_reconcile, name="kiva_reconcile"),
    path("p/<int:partner_id>/kiva/needs-attention/", views.needs_attention, name="needs_attention"),
    path("p/<int:partner_id>/kiva/production/", views.kiva_production, name="kiva_production"),
    path(
        "p/<int:partner_id>/kiva/production/act/",
        views.kiva_production_act,
        name="kiva_production_act",
    ),
    path(
        "p/<int:partner_id>/kiva/stage-approval/",
        views.kiva_stage_approval,
        name="kiva_stage_approval",
    ),
    path(
        "p/<int:partner_id>/kiva/needs-attention/act/",
        views.needs_attention_act,
        name="needs_attention_act",
    ),
    path("p/<int:partner_id>/team/", team_views.team_page, name="team"),
    path("p/<int:partner_id>/team/act/", team_views.team_act, name="team_act"),
    path(
        "p/<int:partner_id>/team/reference-sync/",
        team_views.reference_sync,
        name="reference_sync",
    ),
    path("welcome/<uidb64>/<token>/", team_views.WelcomeView.as_view(), name="welcome"),
    path(
        "p/<int:partner_id>/submissions/<int:pk>/act/", views.submission_act, name="submission_act"
    ),
    path(
        "p/<int:partner_id>/reports/<int:pk>/progress.json",
        views.report_progress,
        name="report_progress",
    ),
    path("p/<int:partner_id>/reports/<int:pk>/lines.csv", views.report_csv, name="report_csv"),
    path(
        "p/<int:partner_id>/reports/<int:pk>/resend-lines/<int:line_pk>/",
        views.report_resend_line,
        name="report_resend_line",
    ),
    path("p/<int:partner_id>/<slug:kind>/", views.queue, name="queue"),
    path("p/<int:partner_id>/<slug:kind>/bulk-approve/", views.bulk_approve, name="bulk_approve"),
    path("p/<int:partner_id>/<slug:kind>/bulk-submit/", views.bulk_submit, name="bulk_submit"),
    path("p/<int:partner_id>/<slug:kind>/<int:pk>/", views.record_detail, name="record"),
    path("p/<int:partner_id>/<slug:kind>/<int:pk>/act/", views.record_act, name="act"),
    path("bulk-approvals/<int:pk>/", bulk_views.bulk_approval, name="bulk_approval"),
    path(
        "bulk-approvals/<int:pk>/progress.json",
        bulk_views.bulk_approval_progress_json,
        name="bulk_approval_progress",
    ),
    path("audit/", audit_views.audit_log, name="audit"),
    path("audit/export.csv", audit_views.audit_export, name="audit_export"),
]
