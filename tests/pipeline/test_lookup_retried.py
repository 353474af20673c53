"""The GET look-up after a lost answer is retried (a GET changes nothing at Kiva, 5xx
included) against the real sandbox on a socket, and its attempt keeps the evidence."""

import json

import requests
from django.utils import timezone

from integrations.kiva.client import KivaClient
from integrations.kiva.sandbox.models import SandboxLoan, SandboxPartner, SandboxRequest
from kivaportal.pipeline import sending
from kivaportal.pipeline.models import Attempt, Submission
from kivaportal.pipeline.models import SubmissionState as St
from kivaportal.workflow.states import RecordState as S


class FailingGetsAfterThePost(requests.Session):
    """A real session to the sandbox. The POST of the draft hangs past the read timeout (the
    sandbox's hang fault: the draft exists, the answer is lost); as it returns, the sandbox is
    told to answer the next `errors` requests with 500."""

    def __init__(self, sandboxed, errors):
        super().__init__()
        self.sandboxed, self.errors = sandboxed, errors

    def request(self, method, url, *args, **kwargs):
        try:
            return super().request(method, url, *args, **kwargs)
        finally:
            if method == "POST" and url.endswith("/loan_draft"):
                SandboxPartner.objects.filter(pk=self.sandboxed.pk).update(
                    hang_share=0.0, error_share=1.0, error_statuses="500",
                    faults_remaining=self.errors,
                )  # fmt: skip


def lost_answer(setup, errors):
    """Approve a loan whose first try is refused (503), then send it with a session whose
    POST answer is lost and whose next `errors` requests are 500s."""
    setup.connection.read_timeout = 0.5
    setup.connection.save()
    setup.faults(error_share=1.0, error_statuses="503", faults_remaining=1)
    loan = setup.approve(setup.first)
    submission = Submission.objects.get(object_id=loan.pk)
    assert submission.state == St.RETRYING
    Submission.objects.filter(pk=submission.pk).update(next_attempt_at=timezone.now())
    setup.faults(error_share=0.0, hang_share=1.0, hang_seconds=1.5, faults_remaining=1)
    client = KivaClient(
        setup.connection,
        session=FailingGetsAfterThePost(setup.sandboxed, errors),
        sleep=lambda _s: None,
    )
    state = sending.submission_send(submission_id=submission.pk, client=client)
    loan.refresh_from_db()
    submission.refresh_from_db()
    return state, loan, submission


def test_a_lookup_that_meets_500s_is_retried_and_finds_the_draft(setup, settings):
    settings.KIVA_GET_ATTEMPTS = 4
    state, loan, submission = lost_answer(setup, errors=3)

    draft = SandboxLoan.objects.get()
    assert (state, loan.state) == (St.SENT, S.SENT)
    assert submission.kiva_reference == str(draft.uuid)
    gets = SandboxRequest.objects.filter(method="GET", path__endswith="/loans")
    assert sorted(gets.values_list("status", flat=True)) == [200, 500, 500, 500]
    assert setup.posts("loan_draft") == 2  # the refused 503, then the one that made the draft
    lookup = Attempt.objects.get(submission=submission, method="GET")
    assert lookup.outcome == "lookup"
    assert lookup.url.startswith(setup.connection.api_base_url) and "query=" in lookup.url
    assert "retried 3 time(s) after: 500, 500, 500" in lookup.error_message
    assert json.loads(lookup.response_body)["found"] == str(draft.uuid)


def test_a_lookup_that_fails_every_try_leaves_it_to_a_person_with_the_evidence(setup, settings):
    settings.KIVA_GET_ATTEMPTS = 3
    state, loan, submission = lost_answer(setup, errors=3)

    assert (state, loan.state) == (St.NEEDS_ATTENTION, S.NEEDS_ATTENTION)
    assert SandboxRequest.objects.filter(method="GET", path__endswith="/loans").count() == 3
    lookup = Attempt.objects.get(submission=submission, method="GET")
    assert (lookup.outcome, lookup.http_status) == ("lookup_failed", 500)
    assert "retried 2 time(s)" in lookup.error_message
    assert setup.posts("loan_draft") == 2  # never posted again by itself
