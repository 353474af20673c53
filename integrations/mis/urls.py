from django.urls import path

from integrations.mis import views

app_name = "mis"

urlpatterns = [
    path("", views.upload, name="upload"),
    path("jobs/<int:pk>/", views.job_detail, name="job"),
    path("jobs/<int:pk>/progress.json", views.job_progress, name="job_progress"),
    path("jobs/<int:pk>/commit/", views.job_commit, name="job_commit"),
    path("jobs/<int:pk>/submit/", views.job_submit_all, name="job_submit_all"),
    path("templates/loans.xlsx", views.template_xlsx, name="template_xlsx"),
    path("templates/<slug:name>.csv", views.template, name="template"),
    path("columns/", views.columns, name="columns"),
]
