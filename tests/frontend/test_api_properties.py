"""Whatever a caller sends, the API answers in its documented shapes: never a 5xx, every refusal
{"error", "reason"}, every success valid against the OpenAPI document's schema for it, and 401
for anything but the document without the frontend's token."""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.frontend.conftest import registered_investor
from tests.frontend.gateway import Frontend, http_event, invoke
from tests.frontend.openapi import answer_schema, template_for

OPERATIONS = [  # the routes of cdk/api.py with an id in the path
    ("GET", "/investors/{id}"),
    ("GET", "/investors/{id}/portfolio"),
    ("POST", "/investors/{id}/wallet"),
    ("GET", "/purchases/{id}"),
]
TEMPLATES = [template for _, template in OPERATIONS]
FIXED_PATHS = ["/", "/openapi.json", "/instruments", "/investors", "/investors/", "/purchases"]
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "get"]
GOOD = "{token}"  # replaced by the deployed token


@pytest.fixture(scope="module")
def known(bought: dict[str, Any], platform: dict[str, Any]) -> list[str]:
    """Ids that exist: an ACTIVE investor with a purchase and holdings, its purchase, and
    investors without a wallet who may not request one (nothing starts a workflow here)."""
    return [
        bought["investor_id"],
        bought["purchase_id"],
        registered_investor("PENDING"),
        registered_investor("BLOCKED"),
    ]


def weighted(
    likely: st.SearchStrategy[Any], other: st.SearchStrategy[Any], chance: float
) -> st.SearchStrategy[Any]:
    """`likely` about `chance` of the time (st.one_of does not weigh its branches)."""
    return st.floats(0, 1).flatmap(lambda x: likely if x < chance else other)


def requests(known: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """Requests weighted towards what the API serves (the frontend's token, its routes and
    methods, ids that exist), with everything else mixed in."""
    odd_ids = st.one_of(
        st.text(alphabet=string.ascii_letters + "-_ %!\u00e9\u0000", min_size=1, max_size=8),
        st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,70}\Z"),  # well-formed, or too long
        st.text(max_size=20),
    )
    ids = weighted(st.sampled_from(known), odd_ids, 0.6)
    operations = weighted(
        st.sampled_from(OPERATIONS),
        st.tuples(st.sampled_from(METHODS), st.sampled_from(TEMPLATES)),
        0.8,
    )
    by_route = st.builds(lambda op, i: (op[0], op[1].replace("{id}", i)), operations, ids)
    elsewhere = st.tuples(
        st.sampled_from(METHODS),
        st.one_of(st.sampled_from(FIXED_PATHS), st.builds(lambda p: "/" + p, st.text(max_size=30))),
    )
    good = st.sampled_from([f"Bearer {GOOD}", f"bearer   {GOOD}  ", f"BEARER {GOOD}"])
    bad = st.one_of(
        st.none(),
        st.text(max_size=40),
        st.builds(lambda t: f"Bearer {t}", st.text(max_size=60)),
    )
    authorization = weighted(good, bad, 0.7)
    header_names = st.text(alphabet=string.ascii_letters + "-", min_size=1, max_size=20)
    bodies = st.one_of(
        st.none(),
        st.text(max_size=60),
        st.binary(max_size=40),
        st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8)).map(json.dumps),
    )
    return st.fixed_dictionaries(
        {
            "operation": weighted(by_route, elsewhere, 0.75),
            "authorization": authorization,
            "headers": st.dictionaries(header_names, st.text(max_size=30), max_size=3),
            "query": st.dictionaries(
                st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=2
            ),
            "body": bodies,
            "content_type": st.sampled_from([None, "application/json", "text/plain", "x/y"]),
        }
    )


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_request_gets_a_5xx_or_an_undocumented_answer(
    frontend: Frontend, openapi: dict[str, Any], known: list[str], data: st.DataObject
) -> None:
    request = data.draw(requests(known), label="request")
    headers = {k: v for k, v in request["headers"].items() if k.lower() != "authorization"}
    if request["authorization"] is not None:
        headers["Authorization"] = request["authorization"].replace(GOOD, frontend.token)
    if request["content_type"]:
        headers["Content-Type"] = request["content_type"]
    method, path = request["operation"]
    lambda_event = http_event(
        method,
        path,
        headers=headers,
        body=request["body"],
        query=request["query"],
    )

    answer = invoke(lambda_event)

    event(f"answered {answer.status}")  # --hypothesis-show-statistics shows the spread
    assert answer.status < 500, (method, path, answer)
    scheme, _, token = headers.get("Authorization", "").strip().partition(" ")
    authenticated = scheme.lower() == "bearer" and token.strip() == frontend.token
    public = method.upper() == "GET" and path == "/openapi.json"
    if not (authenticated or public):
        assert answer.status == 401, (method, path, answer)
    if not 200 <= answer.status < 300:
        assert isinstance(answer.body, dict), answer
        assert set(answer.body) == {"error", "reason"}, answer
        assert all(isinstance(v, str) and v for v in answer.body.values()), answer
        return
    assert answer.headers["content-type"] == "application/json"
    template = template_for(openapi, method, path)
    assert template is not None, (method, path, answer.status)
    validator = answer_schema(openapi, template, method, answer.status)
    assert validator is not None, f"{method} {template} answered an undocumented {answer.status}"
    errors = [e.message for e in validator.iter_errors(answer.body)]
    assert errors == [], (method, path, errors)


def test_base64_bodies_and_odd_headers_are_no_trouble(frontend: Frontend) -> None:
    lambda_event = http_event(
        "POST", "/instruments", headers={"Authorization": f"Bearer {frontend.token}"}
    )
    lambda_event["body"], lambda_event["isBase64Encoded"] = "%%%not base64%%%", True
    lambda_event["headers"]["x-weird"] = "\u00e9\u0000"

    answer = invoke(lambda_event)

    assert answer.status == 405
