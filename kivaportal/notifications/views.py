from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kivaportal.notifications.forms import NotificationSettingsForm
from kivaportal.notifications.models import NotificationSettings


@login_required
def my_notifications(request):
    """The user's own choice of emails (and their language). Without a saved row the
    defaults apply: every email on, in the portal's default language."""
    instance = NotificationSettings.objects.filter(user=request.user).first()
    if instance is None:
        language = get_language() if get_language() in dict(settings.LANGUAGES) else None
        instance = NotificationSettings(
            user=request.user, language=language or settings.LANGUAGE_CODE
        )
    form = NotificationSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Your notification settings are saved."))
        return redirect("notifications:settings")
    return render(
        request,
        "notifications/settings.html",
        {"form": form, "hours": settings.NOTIFY_WAITING_HOURS, "email": request.user.email},
    )
