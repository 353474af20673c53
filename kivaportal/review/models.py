from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField

from kivaportal.common.models import PartnerOwned
from kivaportal.review.states import EDITABLE_STATES, RecordState


class Reviewable(PartnerOwned):
    """A record that staff review before it goes to Kiva.

    `updated_by` is the last person who changed the content (not a state): four-eyes approval
    compares it, and `created_by`, with the approver.
    """

    state = FSMField(
        verbose_name=_("state"),
        max_length=20,
        choices=RecordState.choices,
        default=RecordState.DRAFT,
        db_index=True,
    )
    version = models.PositiveIntegerField(
        _("version"), default=1, help_text=_("Goes up when a sent record is corrected.")
    )

    class Meta:
        abstract = True

    @property
    def is_editable(self) -> bool:
        return self.state in EDITABLE_STATES
