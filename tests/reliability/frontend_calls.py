"""Generated calls to the frontend API (its every route as the code declares it, methods, path
parameters, tokens, headers, bodies), sent to its handler in this process or over HTTP through
the local gateway, and judged: no 5xx, 401 without the frontend's token, every refusal
{"error", "reason"}, every success as documented."""

from __future__ import annotations

import base64
import json
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, unquote, urlencode

from hypothesis import strategies as st

from tests.frontend.openapi import answer_schema, template_for
from tests.reliability.bad_input_routes import PARAMETER, frontend_routes
from tests.reliability.http_client import send
from tests.reliability.tally import Tally
from tests.reliability.webhook_requests import CATALOGUE

PROBLEMS = ("server_errors", "unexplained", "misjudged")
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


ODD_SEGMENTS = st.one_of(
    st.text(alphabet=string.ascii_letters + "-_ %!/?#.\u00e9\u0000", min_size=1, max_size=8),
    st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_.:-]{0,70}\Z"),  # well-formed, or too long
    st.text(max_size=20),
    st.sampled_from(["..", ".", "%2F", "inv-" + "9" * 200, "purchase-", "null", "0"]),
)


def periods(today: date) -> list[str]:
    """Statement periods: last month (ended: asking for its documents starts one Statements
    run per investor and hour), this month, quarter and year (to date), the future, and text
    that is no period."""
    last = (
        date(today.year - 1, 12, 1)
        if today.month == 1
        else today.replace(day=1, month=today.month - 1)
    )
    quarter = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    ahead = [f"{today.year + 1}-01", f"{today.year + 1}"]
    return [last.strftime("%Y-%m"), today.strftime("%Y-%m"), quarter, str(today.year), *ahead,
            f"{today.year}-13", f"{today.year}-Q5", "26-11", "2026-00"]  # fmt: skip


def _parameters(known: list[str]) -> dict[str, st.SearchStrategy[str]]:
    """Values for each path parameter of a route: mostly ones that exist, else odd text."""
    ids = _weighted(st.sampled_from(known), ODD_SEGMENTS, 0.6)
    return {
        "investor_id": ids,
        "purchase_id": ids,
        "instrument_id": _weighted(st.sampled_from(CATALOGUE), ODD_SEGMENTS, 0.6),
        "period": _weighted(st.sampled_from(periods(datetime.now(UTC).date())), ODD_SEGMENTS, 0.6),
    }


def _filled(template: str, values: dict[str, st.SearchStrategy[str]]) -> st.SearchStrategy[str]:
    """The template with a value for each parameter, escaped as one path segment."""
    parts = PARAMETER.split(template)  # text, name, text, name, ..., text
    missing = sorted(set(parts[1::2]) - set(values))
    if missing:  # a new route's parameter: the harness must learn its values
        raise KeyError(f"{template}: no values for {missing} in frontend_calls._parameters")
    drawn = st.tuples(*(values[name] for name in parts[1::2]))
    return drawn.map(
        lambda found: "".join(
            part if i % 2 == 0 else quote(found[i // 2], safe=SEGMENT_SAFE)
            for i, part in enumerate(parts)
        )
    )


def _weighted(
    likely: st.SearchStrategy[Any], other: st.SearchStrategy[Any], chance: float
) -> st.SearchStrategy[Any]:
    return st.integers(0, 99).flatmap(lambda n: likely if n < chance * 100 else other)


def _on_route(
    route: tuple[str, str], values: dict[str, st.SearchStrategy[str]]
) -> st.SearchStrategy[tuple[str, str]]:
    """(method, path) of a call to the route: mostly with its own method."""
    methods = _weighted(st.just(route[0]), st.sampled_from(METHODS), 0.8)
    return st.tuples(methods, _filled(route[1], values))


ELSEWHERE = st.tuples(
    st.sampled_from(METHODS),
    st.sampled_from(FIXED_PATHS)
    | st.text(max_size=30).map(lambda p: "/" + quote(p, safe=SEGMENT_SAFE + "/")),
)  # paths that are no route, or barely one


def families(
    known: list[str], methods: list[str] = METHODS
) -> dict[str, st.SearchStrategy[FrontendCall]]:
    """One family of calls per route of the frontend API (tests/reliability/bad_input_routes.py)
    and one elsewhere: a run gives each an equal share, so every route is called at any scale."""
    values = _parameters(known)
    by_route = {
        f"{m} {t}": frontend_calls(_on_route((m, t), values), methods) for m, t in frontend_routes()
    }
    return {**by_route, "elsewhere": frontend_calls(ELSEWHERE, methods)}


def frontend_calls(
    paths: st.SearchStrategy[tuple[str, str]], methods: list[str]
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
        paths.filter(lambda p: p[0] in methods),
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
