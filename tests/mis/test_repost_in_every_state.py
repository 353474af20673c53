"""Re-posting a changed loan or journal, by API and by file, in every state a record can be in:
an update, a new version or a conflict, never a server error (issue 12, item 7)."""

import copy

import pytest

from integrations.mis.importers.journals import JournalImporter
from kivaportal.journals.models import Journal
from kivaportal.lending.models import Loan
from kivaportal.workflow.states import RecordState
from tests.factories import api_key
from tests.mis.api import LOAN_DRAFT, post
from tests.mis.data import LOANS, import_loans
from tests.mis.helpers import csv_source

# What the intake does with a changed record in each state: written out here, not read from
# the code, so a change of the state machine shows up as a failing case to look at.
EXPECTED = {
    RecordState.DRAFT: "update",
    RecordState.CHANGES_REQUESTED: "update",
    RecordState.SUBMITTED: "update",
    RecordState.APPROVED: "update",
    RecordState.SENT: "new_version",
    RecordState.REJECTED: "new_version",
    RecordState.QUEUED: "conflict",
    RecordState.SENDING: "conflict",
    RecordState.NEEDS_ATTENTION: "conflict",
    RecordState.FAILED: "conflict",
    RecordState.WITHDRAWN: "conflict",
}
STATES = [state.value for state in RecordState]
JOURNAL = {"internal_loan_id": "L100", "subject": "Rosa's cart", "body": "Rosa bought a cart."}
JOURNAL_CSV = "mis_loan_id,subject,body\nL1,Rosa's cart,{body}\n"


def test_every_state_has_an_expected_outcome():
    assert set(EXPECTED) == set(RecordState)


def _after(record, state):
    """(state, version) after a re-post that `EXPECTED[state]` describes."""
    record.refresh_from_db()
    return record.state, record.version


def _expected_after(state):
    # An update sends a record under review back to draft; one whose changes were requested
    # stays there (its preparer resubmits it), as a draft stays a draft.
    updated = "changes_requested" if state == RecordState.CHANGES_REQUESTED else "draft"
    return {
        "update": (updated, 1),
        "new_version": ("draft", 2),
        "conflict": (state, 1),
    }[EXPECTED[state]]


@pytest.fixture
def key(partner):
    return api_key(partner)[1]


@pytest.mark.parametrize("state", STATES)
def test_reposting_a_changed_loan_by_api_in_every_state(client, partner, key, state):
    assert post(client, "loan_draft", LOAN_DRAFT, key=key).status_code == 200
    Loan.objects.update(state=state)
    changed = copy.deepcopy(LOAN_DRAFT) | {"description": "Corrected story."}
    response = post(client, "loan_draft", changed, key=key)
    loan = Loan.objects.get()
    if EXPECTED[state] == "conflict":
        assert response.status_code == 409, response.json()
        assert response.json()["errors"][0]["code"] == "conflict"
        assert loan.description == LOAN_DRAFT["description"]
    else:
        assert response.status_code == 200, response.json()
        assert response.json()["loan"]["action"] == EXPECTED[state]
        assert loan.description == "Corrected story."
    assert _after(loan, state) == _expected_after(state)


@pytest.mark.parametrize("state", STATES)
def test_reposting_a_changed_journal_by_api_in_every_state(client, partner, key, state):
    assert post(client, "loan_draft", LOAN_DRAFT, key=key).status_code == 200
    assert post(client, "journals", {"journals": [JOURNAL]}, key=key).status_code == 200
    Journal.objects.update(state=state)
    changed = {"journals": [JOURNAL | {"body": "Rosa bought two carts."}]}
    response = post(client, "journals", changed, key=key)
    journal = Journal.objects.get()
    if EXPECTED[state] == "conflict":
        assert response.status_code == 409, response.json()
        assert response.json()["errors"][0]["code"] == "conflict"
        assert journal.body == JOURNAL["body"]
    else:
        assert response.status_code == 200, response.json()
        assert response.json()["results"][0]["action"] == EXPECTED[state]
        assert journal.body == "Rosa bought two carts."
    assert _after(journal, state) == _expected_after(state)


@pytest.mark.parametrize("state", STATES)
def test_reimporting_a_changed_loan_file_in_every_state(partner, preparer, state):
    assert import_loans(partner, preparer).ok
    Loan.objects.update(state=state)
    outcome = import_loans(
        partner, preparer, loans=LOANS.replace("Rosa sells vegetables.", "Corrected story.")
    )
    loan = Loan.objects.get()
    if EXPECTED[state] == "conflict":
        assert [p.code for p in outcome.problems] == ["conflict"]
        assert loan.description == "Rosa sells vegetables."
    else:
        assert outcome.ok, outcome.problems
        assert outcome.preview[0]["action"] == EXPECTED[state]
        assert loan.description == "Corrected story."
    assert _after(loan, state) == _expected_after(state)


@pytest.mark.parametrize("state", STATES)
def test_reimporting_a_changed_journal_file_in_every_state(partner, preparer, state):
    assert import_loans(partner, preparer).ok

    def run(body):
        source = {"main": csv_source(JOURNAL_CSV.format(body=body))}
        return JournalImporter(partner=partner, sources=source, actor=preparer).commit()

    assert run("Rosa bought a cart.").ok
    Journal.objects.update(state=state)
    outcome = run("Rosa bought two carts.")
    journal = Journal.objects.get()
    if EXPECTED[state] == "conflict":
        assert [p.code for p in outcome.problems] == ["conflict"]
        assert journal.body == "Rosa bought a cart."
    else:
        assert outcome.ok, outcome.problems
        assert outcome.preview[0]["action"] == EXPECTED[state]
        assert journal.body == "Rosa bought two carts."
    assert _after(journal, state) == _expected_after(state)


def test_the_submit_flag_resubmits_a_loan_whose_changes_were_requested(client, partner, key):
    assert post(client, "loan_draft", LOAN_DRAFT, key=key).status_code == 200
    Loan.objects.update(state=RecordState.CHANGES_REQUESTED)
    changed = copy.deepcopy(LOAN_DRAFT) | {"description": "Corrected story."}
    response = post(client, "loan_draft?submit=true", changed, key=key)
    assert response.status_code == 200, response.json()
    assert response.json()["loan"]["state"] == "submitted"
    assert Loan.objects.get().description == "Corrected story."
