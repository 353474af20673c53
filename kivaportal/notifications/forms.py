from django import forms

from kivaportal.notifications.models import NotificationSettings


class NotificationSettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = ["language", "returned", "waiting", "attention", "digest"]
