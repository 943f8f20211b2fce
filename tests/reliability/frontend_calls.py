"""Generated calls to the frontend API (routes, methods, ids, tokens, headers, bodies), sent to
its handler in this process or over HTTP through the local gateway, and judged: no 5xx, 401
without the frontend's token, every refusal {"error", "reason"}, every success as documented."""

from __future__ import annotations

import base64
import json
import string
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlencode

from hypothesis import strategies as st

from tests.frontend.openapi import answer_schema, template_for
from tests.reliability.http_client import send
from tests.reliability.tally import Tally

PROBLEMS = ("server_errors", "unexplained", "misjudged")
OPERATIONS = [
    ("GET", "/investors/{id}"),
    ("GET", "/investors/{id}/portfolio"),
    ("POST", "/investors/{id}/wallet"),
    ("GET", "/investors/{id}/withdrawals"),
    ("POST", "/investors/{id}/withdrawals"),
    ("PUT", "/investors/{id}/income-payout"),
    ("GET", "/purchases/{id}"),
]
FIXED_PATHS = [
    "/", "/openapi.json", "/instruments", "/investors", "/investors/", "/purchases",
    "/instruments/", "//instruments", "/openapi.json/", "/OPENAPI.JSON", "/openapi%2Ejson",
    "/webhooks/kyc", "/$default/instruments", "/investors/%2F/portfolio", "/..%2F..%2Fetc",
]  # fmt: skip
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "get"]
SEGMENT_SAFE = "-._~!$&'()*+,;=:@"  # what a path segment may carry unescaped
AUTHORIZATIONS = {  # kinds of Authorization header, and how often (weights)
    "good": 6, "good, odd spacing": 1, "good, upper-case scheme": 1, "none": 1, "empty": 1,
    "scheme only": 1, "near miss": 2, "prefix": 1, "suffix": 1, "basic": 1, "other scheme": 1,
    "random": 1, "doubled": 1,
}  # fmt: skip
AUTHENTICATED = {"good", "good, odd spacing", "good, upper-case scheme"}
HEADER_TEXT = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)


@dataclass(frozen=True)
class FrontendCall:
    method: str
    path: str  # as on the wire: percent-encoded
    query: str
    authorization: str  # a kind of AUTHORIZATIONS
    odd_token: str
    headers: tuple[tuple[str, str], ...]
    content_type: str | None
    body: bytes

    @property
    def public(self) -> bool:
        return self.method.upper() == "GET" and unquote(self.path) == "/openapi.json"

    def describe(self) -> str:
        where = f"{self.method} {self.path}?{self.query}"
        return f"{where} auth={self.authorization} body={self.body[:40]!r}"


def _ids(known: list[str]) -> st.SearchStrategy[str]:
    odd = st.one_of(
        st.text(alphabet=string.ascii_letters + "-_ %!/?#.\u00e9\u0000", min_size=1, max_size=8),
        st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,70}\Z"),  # well-formed, or too long
        st.text(max_size=20),
        st.sampled_from(["..", ".", "%2F", "inv-" + "9" * 200, "purchase-", "null", "0"]),
    )
    return _weighted(st.sampled_from(known), odd, 0.6)


def _weighted(
    likely: st.SearchStrategy[Any], other: st.SearchStrategy[Any], chance: float
) -> st.SearchStrategy[Any]:
    return st.integers(0, 99).flatmap(lambda n: likely if n < chance * 100 else other)


def _paths(known: list[str]) -> st.SearchStrategy[tuple[str, str]]:
    operations = _weighted(
        st.sampled_from(OPERATIONS),
        st.tuples(st.sampled_from(METHODS), st.sampled_from([t for _, t in OPERATIONS])),
        0.8,
    )
    by_route = st.builds(
        lambda op, i: (op[0], op[1].replace("{id}", quote(i, safe=SEGMENT_SAFE))),
        operations,
        _ids(known),
    )
    elsewhere = st.tuples(
        st.sampled_from(METHODS),
        st.sampled_from(FIXED_PATHS)
        | st.text(max_size=30).map(lambda p: "/" + quote(p, safe=SEGMENT_SAFE + "/")),
    )
    return _weighted(by_route, elsewhere, 0.75)


def frontend_calls(
    known: list[str], methods: list[str] = METHODS
) -> st.SearchStrategy[FrontendCall]:
    authorizations = [name for name, weight in AUTHORIZATIONS.items() for _ in range(weight)]
    header_names = st.text(alphabet=string.ascii_letters + "-", min_size=1, max_size=20).filter(
        lambda n: n.lower() not in ("authorization", "content-length", "host", "transfer-encoding")
    )
    amounts = st.one_of(
        st.sampled_from(["1.00", "0.01", "12.34", "0", "-1", "1.001", "1e3", "NaN", "", "€5"]),
        st.integers(-5, 10**6), st.floats(), st.none(), st.text(max_size=8),
    )  # fmt: skip
    choices = st.fixed_dictionaries(
        {"to": st.sampled_from(["BANK", "WALLET", "bank", ""]) | st.integers()}
    ).map(lambda d: json.dumps(d).encode())
    withdrawals = st.fixed_dictionaries(
        {"amount": amounts}, optional={"iban": st.just("DE89370400440532013000")}
    ).map(lambda d: json.dumps(d).encode())
    bodies = st.one_of(
        withdrawals,
        choices,
        st.just(b""),
        st.text(max_size=60).map(str.encode),
        st.binary(max_size=40),
        st.dictionaries(st.text(max_size=8), st.integers() | st.text(max_size=8)).map(
            lambda d: repr(d).encode()
        ),
    )
    return st.builds(
        lambda path, **rest: FrontendCall(method=path[0], path=path[1], **rest),
        _paths(known).filter(lambda p: p[0] in methods),
        query=st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=2).map(
            urlencode
        ),
        authorization=st.sampled_from(authorizations),
        odd_token=HEADER_TEXT,
        headers=st.lists(st.tuples(header_names, HEADER_TEXT), max_size=3).map(tuple),
        content_type=st.sampled_from([None, "application/json", "text/plain", "x/y"]),
        body=bodies,
    )


def authorization_headers(call: FrontendCall, token: str) -> list[tuple[str, str]]:
    other = "A" if token[-1:] != "A" else "B"
    values = {
        "good": [f"Bearer {token}"],
        "good, odd spacing": [f"bearer   {token}  "],
        "good, upper-case scheme": [f"BEARER {token}"],
        "none": [],
        "empty": [""],
        "scheme only": ["Bearer"],
        "near miss": [f"Bearer {token[:-1]}{other}"],
        "prefix": [f"Bearer {token[:-1]}"],
        "suffix": [f"Bearer {token}x"],
        "basic": [f"Basic {base64.b64encode(f'frontend:{token}'.encode()).decode()}"],
        "other scheme": [f"Token {token}"],
        "random": [f"Bearer {call.odd_token}"],
        "doubled": [f"Bearer {token}", f"Bearer {token}"],  # two headers arrive joined by ","
    }[call.authorization]
    return [("Authorization", value) for value in values]


def headers_for(call: FrontendCall, token: str) -> list[tuple[str, str]]:
    headers = authorization_headers(call, token) + list(call.headers)
    if call.content_type is not None:
        headers.append(("Content-Type", call.content_type))
    return headers


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    by_gateway: bool = False  # the gateway's own answer (no route, too large): not the function's


def call_handler(call: FrontendCall, headers: list[tuple[str, str]]) -> Answer:
    """The handler with the event the gateway builds; an exception is API Gateway's 500."""
    from local.api import proxy
    from tests.frontend.gateway import invoke

    request = proxy.HttpRequest(call.method, call.path, call.query, headers, call.body)
    event = proxy.build_event(
        request,
        route_key=f"{call.method} {call.path}",
        path_parameters={},
        request_id=uuid.uuid4().hex,
    )
    try:
        answer = invoke(event)
    except Exception as error:  # noqa: BLE001 - a Lambda that raises is a 500 at the gateway
        return Answer(500, {}, {"exception": repr(error)[:300]})
    return Answer(answer.status, answer.headers, answer.body)


def call_over_http(api_url: str, call: FrontendCall, headers: list[tuple[str, str]]) -> Answer:
    target = call.path + (f"?{call.query}" if call.query else "")
    status, body, received = send(api_url, call.method, target, headers, call.body)
    gateway = status in (404, 413) and isinstance(body, dict) and set(body) == {"message"}
    return Answer(status, received, body, by_gateway=gateway)


def judge(tally: Tally, call: FrontendCall, answer: Answer, openapi: dict[str, Any]) -> None:
    tally.sent()
    what = f"{answer.status} {str(answer.body)[:200]} for {call.describe()}"
    if answer.status >= 500:
        tally.problem("server_errors", what)
        return
    if answer.by_gateway:
        tally.count("refused_by_gateway")
        return
    if not (call.authorization in AUTHENTICATED or call.public) and answer.status != 401:
        tally.problem("misjudged", f"not the frontend's token, yet {what}")
    if not 200 <= answer.status < 300:
        if not _explained(answer.body):
            tally.problem("unexplained", what)
        return
    tally.count("answered_2xx")
    problem = _undocumented(call, answer, openapi)
    if problem is not None:
        tally.problem("misjudged", f"{problem}: {what}")


def _explained(body: Any) -> bool:
    return (
        isinstance(body, dict)
        and set(body) == {"error", "reason"}
        and all(isinstance(v, str) and v.strip() for v in body.values())
    )


def _undocumented(call: FrontendCall, answer: Answer, openapi: dict[str, Any]) -> str | None:
    if answer.headers.get("content-type") != "application/json":
        return f"content-type {answer.headers.get('content-type')}"
    template = template_for(openapi, call.method, unquote(call.path))
    if template is None:
        return "a success on a path the document does not have"
    validator = answer_schema(openapi, template, call.method, answer.status)
    if validator is None:
        return f"an undocumented {answer.status}"
    errors = [e.message for e in validator.iter_errors(answer.body)]
    return f"not as documented: {errors}" if errors else None
