"""Fuzzing the intake API from its own OpenAPI description: whatever arrives, the answer is a
4xx or 2xx JSON body, never a server error. Requests are generated from each operation's
request schema (so many are nearly valid and reach deep into the importers), mixed with
arbitrary JSON and raw bytes."""

import json
import os
import re
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.mis.openapi import OPERATIONS, SCHEMAS
from tests.factories import LoanFactory, api_key

JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=5)
    | st.dictionaries(st.text(max_size=15), inner, max_size=6),
    max_leaves=25,
)
FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def from_schema(schema):
    """Values that follow a JSON schema of the subset openapi.py uses, often near its limits
    (hypothesis-jsonschema does not work with current Hypothesis, and this subset is small)."""
    if "oneOf" in schema:
        return st.one_of([from_schema(s) for s in schema["oneOf"]])
    if "enum" in schema:
        return st.sampled_from(schema["enum"]) | st.text(max_size=8)
    kinds = schema.get("type")
    if isinstance(kinds, list):
        return st.one_of([from_schema({**schema, "type": k}) for k in kinds])
    if kinds == "object":
        properties = {k: from_schema(v) for k, v in schema.get("properties", {}).items()}
        required = {k: v for k, v in properties.items() if k in schema.get("required", [])}
        optional = {k: v for k, v in properties.items() if k not in required}
        return st.fixed_dictionaries(required, optional=optional)
    if kinds == "array":
        return st.lists(
            from_schema(schema["items"]), min_size=schema.get("minItems", 0), max_size=4
        )
    if kinds == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=2**40)
    if kinds == "number":
        return st.decimals(allow_nan=False, allow_infinity=False, places=3) | st.integers()
    if kinds == "boolean":
        return st.booleans()
    if schema.get("format") == "date":
        return st.dates().map(str) | st.text(max_size=12)
    if "pattern" in schema:
        return st.from_regex(schema["pattern"], fullmatch=True) | st.text(max_size=5)
    limit = schema.get("maxLength", 80)
    return st.text(max_size=min(limit + 2, 80)) | st.sampled_from(["L1", "C1", "", " L1 "])


def _encode(value):
    return json.dumps(value, default=lambda o: str(o) if isinstance(o, Decimal) else o)


def _body_strategy(path):
    schema = SCHEMAS[OPERATIONS[path][0]]
    return st.one_of(from_schema(schema), JSON).map(_encode) | st.binary(max_size=200)


@pytest.fixture
def key(partner):
    LoanFactory(partner=partner, mis_loan_id="L1")
    return api_key(partner)[1]


STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


_MISSING = object()


def _value(document, path):
    """The value `path` (as `repayments[3].amount`) names in `document`, or _MISSING."""
    node = document
    for name, index in STEP.findall(path):
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                return _MISSING
            node = node[int(index)]
        elif isinstance(node, dict) and name in node:
            node = node[name]
        else:
            return _MISSING
    return node


def _names_the_request(document, field) -> bool:
    """An error names a value the client sent, or (for a missing field) the object that should
    have had it: `journals[1].body` when journals[1] has no body."""
    if field == "" or _value(document, field) is not _MISSING:
        return True
    parent = field.rsplit(".", 1)[0] if "." in field else ""
    last = field.rsplit(".", 1)[-1]
    return "[" not in last and isinstance(_value(document, parent), dict)


def _check(client, key, path, body, submit):
    response = client.post(
        f"/api/intake/v1{path}" + ("?submit=true" if submit else ""),
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code < 500, response.content[:500]
    assert response.status_code in (200, 400, 409, 413, 415), response.content[:500]
    answer = response.json()
    assert "code" in answer
    if response.status_code in (400, 409) and answer["code"] != "api.bad_json":
        document = json.loads(body)
        if path == "/journals" and isinstance(document, list):
            document = {"journals": document}
        for error in answer["errors"]:
            assert _names_the_request(document, error["field"]), (error, body[:300])


@pytest.mark.parametrize("path", list(OPERATIONS))
def test_no_request_makes_the_intake_api_fail(client, partner, key, path):
    @FUZZ
    @given(body=_body_strategy(path), submit=st.booleans())
    def run(body, submit):
        _check(client, key, path, body, submit)

    run()
