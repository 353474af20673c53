"""Who wants which emails (a row per user, made when they first save their page; without one,
the defaults apply), and every email sent, one row per event and recipient, so a second run
of the same task sends nothing twice (docs/architecture.md, "Notifications")."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from kivaportal.common.scoping import PartnerScopedQuerySet


class Event(models.TextChoices):
    RETURNED = "returned", _("Record returned to its preparer")
    WAITING = "waiting", _("Record waiting for review")
    ATTENTION = "attention", _("Record needs attention")
    SENT_WITH_PROBLEMS = "sent_with_problems", _("Sent to Kiva with problems")
    DIGEST = "digest", _("Daily digest")


class NotificationSettings(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="notification_settings",
    )
    language = models.CharField(
        _("language of the emails"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )
    returned = models.BooleanField(
        _("a record I prepared or changed is returned to me"), default=True
    )
    waiting = models.BooleanField(_("records wait too long for my review"), default=True)
    attention = models.BooleanField(
        _("a record needs attention, or Kiva reported problems with what was sent"),
        default=True,
    )
    digest = models.BooleanField(_("a daily digest of what waits for me"), default=True)

    class Meta:
        verbose_name = _("notification settings")
        verbose_name_plural = _("notification settings")

    def __str__(self):
        return str(self.user)

    def wants(self, event: str) -> bool:
        if event == Event.SENT_WITH_PROBLEMS:
            return self.attention
        return getattr(self, event)


class SentNotification(models.Model):
    """One event told to one person (a mail may tell several events: one row each)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    partner = models.ForeignKey(
        "partners.Partner", verbose_name=_("partner"), on_delete=models.CASCADE
    )
    event = models.CharField(_("event"), max_length=30, choices=Event.choices)
    key = models.CharField(_("event key"), max_length=200)
    sent_at = models.DateTimeField(_("sent at"), auto_now_add=True)

    objects = PartnerScopedQuerySet.as_manager()
    partner_path = "partner"

    class Meta:
        verbose_name = _("notification sent")
        verbose_name_plural = _("notifications sent")
        constraints = [
            models.UniqueConstraint(
                fields=["user", "event", "key"], name="one_notification_per_event_and_user"
            )
        ]

    def __str__(self):
        return f"{self.user} {self.event} {self.key}"
