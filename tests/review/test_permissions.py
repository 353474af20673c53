"""The permission matrix: who may do what, on every path, as one parametrized test.

Outcomes: "ok" the action happened; "refused" the page answered but nothing changed;
"hidden" 404 (another partner's record is never admitted to exist); "login" redirected to log
in.
"""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from kivaportal.workflow.models import AuditEntry
from kivaportal.workflow.states import RecordState as S
from tests.factories import UserFactory

ROLES = ("anonymous", "preparer", "reviewer", "partner_admin", "outsider", "superuser")
# fmt: off
MATRIX = {
    #            anonymous  preparer   reviewer   p. admin   outsider  superuser
    "view":     ("login",  "ok",      "ok",      "ok",      "hidden", "ok"),
    "edit":     ("login",  "ok",      "refused", "ok",      "hidden", "ok"),
    "submit":   ("login",  "ok",      "refused", "ok",      "hidden", "ok"),
    "approve":  ("login",  "refused", "ok",      "ok",      "hidden", "ok"),
    "bulk":     ("login",  "refused", "ok",      "ok",      "hidden", "ok"),
    "export":   ("login",  "ok",      "ok",      "ok",      "hidden", "ok"),
}
# fmt: on
CASES = [(action, role, MATRIX[action][i]) for action in MATRIX for i, role in enumerate(ROLES)]


@pytest.fixture
def users(preparer, reviewer, partner_admin, outsider, superuser):
    return {
        "anonymous": None,
        "preparer": preparer,
        "reviewer": reviewer,
        "partner_admin": partner_admin,
        "outsider": outsider,
        "superuser": superuser,
    }


def _login(client, user):
    if user is not None:
        client.force_login(user)


def _expect_status(response, outcome):
    if outcome == "login":
        assert response.status_code == 302
        assert "/login/" in response["Location"]
    elif outcome == "hidden":
        assert response.status_code == 404


@pytest.mark.parametrize(("action", "role", "outcome"), CASES)
def test_permission_matrix(client, users, make_loan, partner, action, role, outcome):
    user = users[role]
    _login(client, user)
    # A third person prepared the record, so four eyes never decides these cells.
    author = UserFactory(username="author")
    state = S.SUBMITTED if action in ("approve", "bulk") else S.DRAFT
    loan = make_loan(state=state, by=author)
    record_url = reverse("review:record", args=[partner.pk, "loans", loan.pk])
    act_url = reverse("review:act", args=[partner.pk, "loans", loan.pk])

    if action == "view":
        response = client.get(record_url)
        _expect_status(response, outcome)
        if outcome == "ok":
            assert response.status_code == 200
            assert loan.mis_loan_id in response.content.decode()
        return

    if action == "edit":
        url = reverse("admin:lending_loan_change", args=[loan.pk])
        response = client.get(url)
        if outcome == "refused":
            # Visible, but read-only: the form has no save button.
            assert response.status_code == 200
            assert 'name="_save"' not in response.content.decode()
            return
        if outcome == "ok":
            assert response.status_code == 200
            assert 'name="_save"' in response.content.decode()
            return
        if outcome == "hidden":
            assert response.status_code == 404
            return
        assert response.status_code == 302
        return

    if action == "export":
        AuditEntry.objects.create(
            partner=partner,
            content_type=ContentType.objects.get_for_model(loan),
            object_id=loan.pk,
            record_label="L-secret",
            action="review.approved",
        )
        response = client.get(reverse("review:audit_export"))
        if outcome == "login":
            _expect_status(response, outcome)
            return
        assert response.status_code == 200
        body = b"".join(response.streaming_content).decode()
        assert ("L-secret" in body) == (outcome == "ok")
        return

    if action == "bulk":
        url = reverse("review:bulk_approve", args=[partner.pk, "loans"])
        response = client.post(url, {"ids": [loan.pk], "acknowledge_warnings": "1"})
    else:
        response = client.post(act_url, {"action": action})
    _expect_status(response, outcome)
    loan.refresh_from_db()
    # An approval queues the loan for Kiva in the same transaction.
    moved = {"submit": S.SUBMITTED, "approve": S.QUEUED, "bulk": S.QUEUED}[action]
    assert (loan.state == moved) == (outcome == "ok")
