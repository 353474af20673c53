"""Submissions and attempts in the admin: read-only, scoped to the user's partners."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from kivaportal.partners.roles import Role
from kivaportal.pipeline.models import Attempt, Submission
from tests.factories import LoanFactory, member


def make_submission(loan, **fields):
    submission = Submission.objects.create(
        partner=loan.partner,
        content_type=ContentType.objects.get_for_model(loan),
        object_id=loan.pk,
        record_version=1,
        record_label=str(loan),
        kind="loan_draft",
        idempotency_key=f"k{loan.pk}",
        endpoint="loan_draft",
        payload="{}",
        payload_sha256="0" * 64,
        **fields,
    )
    Attempt.objects.create(
        submission=submission,
        number=1,
        endpoint="loan_draft",
        started_at=timezone.now(),
        http_status=503,
        outcome="retryable",
    )
    return submission


@pytest.mark.django_db
def test_reviewers_read_their_partners_submissions_and_nobody_changes_them(client):
    mine, theirs = LoanFactory(), LoanFactory()
    reviewer = member(mine.partner, Role.REVIEWER)
    own, other = make_submission(mine, state="retrying"), make_submission(theirs)
    client.force_login(reviewer)
    listing = client.get(reverse("admin:pipeline_submission_changelist"), {"state": "retrying"})
    assert list(listing.context["cl"].result_list) == [own]
    page = client.get(reverse("admin:pipeline_submission_change", args=[own.pk]))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert (
        client.get(reverse("admin:pipeline_submission_change", args=[other.pk])).status_code == 404
    )
    assert client.get(reverse("admin:pipeline_submission_add")).status_code == 403
    delete = reverse("admin:pipeline_submission_delete", args=[own.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    attempts = client.get(reverse("admin:pipeline_attempt_changelist"))
    assert [a.submission_id for a in attempts.context["cl"].result_list] == [own.pk]
    history = client.get(reverse("admin:pipeline_submission_history", args=[own.pk]))
    assert history.status_code == 200
