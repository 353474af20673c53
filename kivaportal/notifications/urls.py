from django.urls import path

from kivaportal.notifications import views

app_name = "notifications"

urlpatterns = [path("", views.my_notifications, name="settings")]
