"""The local API gateway: HTTP API routes with Lambda proxy integrations, payload format 2.0."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from local.api.gateway import ApiGateway
from local.api.routes import ApiRoute, HttpApi
from local.aws.deployer import DeployedStack
from local.aws.platform import LocalAws
from local.aws.template import TemplateError
from tests.local.templates import deploy, function, role

HANDLERS = "tests.local.gateway_handlers"
API = {"Ref": "Api"}


def integration(function_id: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGatewayV2::Integration",
        "Properties": {
            "ApiId": API,
            "IntegrationType": "AWS_PROXY",
            "IntegrationUri": {"Fn::GetAtt": [function_id, "Arn"]},
            "PayloadFormatVersion": "2.0",
        },
    }


def route(key: str, integration_id: str) -> dict[str, Any]:
    return {
        "Type": "AWS::ApiGatewayV2::Route",
        "Properties": {
            "ApiId": API,
            "AuthorizationType": "NONE",
            "RouteKey": key,
            "Target": {"Fn::Join": ["", ["integrations/", {"Ref": integration_id}]]},
        },
    }


ROUTES = {
    "GET /items/{item_id}": "EchoIntegration",
    "GET /items/special": "EchoIntegration",
    "POST /items/{item_id}/notes": "EchoIntegration",
    "ANY /files/{path+}": "EchoIntegration",
    "POST /respond": "RespondIntegration",
    "GET /boom": "BoomIntegration",
}


def gateway_template() -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Role": role(),
        "Echo": function(f"{HANDLERS}.echo"),
        "Respond": function(f"{HANDLERS}.respond"),
        "Boom": function(f"{HANDLERS}.boom"),
        "Api": {
            "Type": "AWS::ApiGatewayV2::Api",
            "Properties": {"Name": "gateway-test", "ProtocolType": "HTTP"},
        },
        "EchoIntegration": integration("Echo"),
        "RespondIntegration": integration("Respond"),
        "BoomIntegration": integration("Boom"),
        "Stage": {
            "Type": "AWS::ApiGatewayV2::Stage",
            "Properties": {"ApiId": API, "StageName": "$default", "AutoDeploy": True},
        },
    }
    for index, (key, target) in enumerate(ROUTES.items()):
        resources[f"Route{index}"] = route(key, target)
    return resources


@pytest.fixture(scope="module")
def gateway(aws: LocalAws) -> Iterator[tuple[ApiGateway, DeployedStack]]:
    server = ApiGateway()
    stack = deploy(
        "GatewayTest",
        gateway_template(),
        api_endpoint=server.url,
        outputs={"ApiUrl": {"Value": {"Fn::GetAtt": ["Api", "ApiEndpoint"]}}},
    )
    with server.serve(stack.http_api):
        yield server, stack


class Reply:
    def __init__(self, response: http.client.HTTPResponse) -> None:
        self.status = response.status
        self.headers = response.headers
        self.body = response.read()

    def json(self) -> Any:
        return json.loads(self.body)


def call(
    server: ApiGateway,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | list[tuple[str, str]] | None = None,
) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.putrequest(method, path)
        pairs = headers.items() if isinstance(headers, dict) else (headers or [])
        for name, value in pairs:
            connection.putheader(name, value)
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        return Reply(connection.getresponse())
    finally:
        connection.close()


def respond_with(server: ApiGateway, result: Any) -> Reply:
    return call(
        server,
        "POST",
        "/respond",
        json.dumps({"result": result}).encode(),
        {"Content-Type": "application/json"},
    )


def test_the_deployer_keeps_the_route_table_and_api_url_is_the_gateway(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    server, stack = gateway
    assert stack.output("ApiUrl") == server.url
    assert stack.http_api is not None
    assert stack.http_api.stages == ["$default"]
    by_key = {r.route_key: r.function_name for r in stack.http_api.routes}
    assert set(by_key) == set(ROUTES)
    assert by_key["POST /respond"] == stack.resources["Respond"].ref
    assert by_key["GET /boom"] == stack.resources["Boom"].ref


def test_the_event_has_the_payload_format_2_shape(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    server, stack = gateway
    before = time.time()
    reply = call(
        server,
        "GET",
        "/items/a%20b?x=1&x=2&empty=&q=%C3%A9",
        headers=[
            ("X-Custom", "One"),
            ("x-custom", "Two"),
            ("User-Agent", "tests/1.0"),
            ("Cookie", "session=abc; theme=dark"),
        ],
    )
    assert reply.status == 200
    assert reply.headers["x-handler"] == "echo"
    event = reply.json()
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /items/{item_id}"
    assert event["rawPath"] == "/items/a b", "decoded, as HTTP API hands it over"
    assert event["rawQueryString"] == "x=1&x=2&empty=&q=%C3%A9"
    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert event["headers"]["x-custom"] == "One,Two"
    assert event["headers"]["user-agent"] == "tests/1.0"
    assert "cookie" not in event["headers"]
    assert all(name == name.lower() for name in event["headers"])
    assert event["queryStringParameters"] == {"x": "1,2", "empty": "", "q": "é"}
    assert event["pathParameters"] == {"item_id": "a b"}
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["http"] == {
        "method": "GET",
        "path": "/items/a b",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "tests/1.0",
    }
    assert context["routeKey"] == "GET /items/{item_id}"
    assert context["stage"] == "$default"
    assert context["apiId"] == stack.http_api.api_id  # type: ignore[union-attr]
    assert context["requestId"] == reply.headers["apigw-requestid"]
    assert before * 1000 - 1000 <= context["timeEpoch"] <= time.time() * 1000 + 1000
    time.strptime(context["time"], "%d/%b/%Y:%H:%M:%S +0000")


def test_a_text_body_is_passed_as_text_and_a_binary_one_as_base64(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    server, _ = gateway
    document = {"note": "café", "n": 1}
    text = call(
        server,
        "POST",
        "/items/7/notes",
        json.dumps(document).encode(),
        {"Content-Type": "application/json; charset=utf-8"},
    ).json()
    assert text["routeKey"] == "POST /items/{item_id}/notes"
    assert text["pathParameters"] == {"item_id": "7"}
    assert text["isBase64Encoded"] is False
    assert json.loads(text["body"]) == document

    raw = bytes(range(256)) * 4
    binary = call(
        server, "POST", "/items/7/notes", raw, {"Content-Type": "application/octet-stream"}
    ).json()
    assert binary["isBase64Encoded"] is True
    assert base64.b64decode(binary["body"]) == raw


def test_a_chunked_request_body_is_read(gateway: tuple[ApiGateway, DeployedStack]) -> None:
    server, _ = gateway
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(
            "POST",
            "/items/9/notes",
            body=iter([b'{"part": ', b'"one"}']),
            headers={"Content-Type": "application/json"},
            encode_chunked=True,
        )
        event = json.loads(connection.getresponse().read())
    finally:
        connection.close()
    assert json.loads(event["body"]) == {"part": "one"}


def test_the_most_specific_route_wins_and_greedy_and_any_routes_match(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    server, _ = gateway
    assert call(server, "GET", "/items/special").json()["routeKey"] == "GET /items/special"
    assert call(server, "GET", "/items/other").json()["routeKey"] == "GET /items/{item_id}"
    greedy = call(server, "DELETE", "/files/a/b/c.txt").json()
    assert greedy["routeKey"] == "ANY /files/{path+}"
    assert greedy["pathParameters"] == {"path": "a/b/c.txt"}
    assert greedy["requestContext"]["http"]["method"] == "DELETE"


def test_a_response_object_maps_to_status_headers_cookies_and_body(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    server, _ = gateway
    reply = respond_with(
        server,
        {
            "statusCode": 201,
            "headers": {"content-type": "text/plain", "x-answer": 42},
            "cookies": ["session=new; Path=/; HttpOnly", "theme=light"],
            "body": "created",
        },
    )
    assert reply.status == 201
    assert reply.headers["content-type"] == "text/plain"
    assert reply.headers["x-answer"] == "42"
    assert reply.headers.get_all("set-cookie") == ["session=new; Path=/; HttpOnly", "theme=light"]
    assert reply.body == b"created"

    png = b"\x89PNG\r\n\x1a\n\x00\xff"
    binary = respond_with(
        server,
        {"statusCode": 200, "isBase64Encoded": True, "body": base64.b64encode(png).decode()},
    )
    assert binary.status == 200 and binary.body == png

    empty = respond_with(server, {"statusCode": 204})
    assert empty.status == 204 and empty.body == b""


@pytest.mark.parametrize(
    ("result", "body"),
    [
        ({"message": "hello"}, {"message": "hello"}),
        ([1, 2, 3], [1, 2, 3]),
        (7, 7),
    ],
)
def test_a_result_without_status_code_is_a_200_json_body(
    gateway: tuple[ApiGateway, DeployedStack], result: Any, body: Any
) -> None:
    reply = respond_with(gateway[0], result)
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.json() == body


def test_a_plain_string_result_is_the_body_itself(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    reply = respond_with(gateway[0], "Hello from Lambda!")
    assert reply.status == 200
    assert reply.headers["content-type"] == "application/json"
    assert reply.body == b"Hello from Lambda!"


def test_unknown_paths_and_methods_are_404_not_found(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    server, _ = gateway
    # Slashes are not collapsed: `//items/1` and `/items/1/` are not `/items/1`.
    unknown = [("GET", "/nowhere"), ("GET", "/respond"), ("GET", "/items/1/notes"),
               ("TRACE", "/respond"), ("PROPFIND", "/nowhere"), ("GET", "//items/1"),
               ("GET", "/items/1/"), ("GET", "/items//1")]  # fmt: skip
    for method, path in unknown:
        reply = call(server, method, path)
        assert reply.status == 404, (method, path)
        assert reply.json() == {"message": "Not Found"}


def test_a_failing_function_or_malformed_response_is_500(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    server, _ = gateway
    failed = call(server, "GET", "/boom")
    assert failed.status == 500
    assert failed.json() == {"message": "Internal Server Error"}
    for malformed in ({"statusCode": "teapot"}, {"statusCode": 200, "body": {"not": "text"}}):
        reply = respond_with(server, malformed)
        assert reply.status == 500
        assert reply.json() == {"message": "Internal Server Error"}


def test_a_body_over_10_mb_is_413_without_reading_it(
    gateway: tuple[ApiGateway, DeployedStack],
) -> None:
    server, _ = gateway
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as client:
        client.sendall(
            b"POST /items/1/notes HTTP/1.1\r\nHost: local\r\n"
            b"Content-Type: application/json\r\nContent-Length: 10485761\r\n\r\n"
        )
        response = b""
        while chunk := client.recv(65536):
            response += chunk
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413")
    assert json.loads(body) == {"message": "Request Entity Too Large"}

    just_under = b"x" * (1024 * 1024)
    reply = call(server, "POST", "/items/1/notes", just_under, {"Content-Type": "text/plain"})
    assert reply.status == 200
    assert len(reply.json()["body"]) == len(just_under)


def test_the_platform_gateway_serves_the_real_stacks_routes(aws: LocalAws) -> None:
    from cdk.api import ROUTES as CDK_ROUTES

    assert aws.api_url is not None
    assert aws.stack.output("ApiUrl") == aws.api_url
    assert aws.stack.http_api is not None
    served = {r.route_key: r.function_name for r in aws.stack.http_api.routes}
    assert set(served) == {f"{r.method} {r.path}" for r in CDK_ROUTES}
    functions = {resource.ref for resource in aws.stack.resources.values()}
    assert set(served.values()) <= functions
    host, port = aws.api_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request("GET", "/no-such-route")
        response = connection.getresponse()
        assert (response.status, json.loads(response.read())) == (404, {"message": "Not Found"})
    finally:
        connection.close()


def test_named_stages_serve_under_their_prefix() -> None:
    api = HttpApi("id", "api", [ApiRoute("GET /x", "f")], ["prod"])
    assert api.split_stage("/prod/x") == ("prod", "/x")
    assert api.split_stage("/x") is None
    both = HttpApi("id", "api", [], ["$default", "prod"])
    assert both.split_stage("/other/x") == ("$default", "/other/x")


def test_a_default_route_catches_what_nothing_else_matches() -> None:
    api = HttpApi("id", "api", [ApiRoute("$default", "fallback"), ApiRoute("GET /a", "a")])
    assert api.select("GET", "/a")[0].function_name == "a"  # type: ignore[index]
    assert api.select("POST", "/a")[0].function_name == "fallback"  # type: ignore[index]
    assert api.select("GET", "/b/c")[1] == {}  # type: ignore[index]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"PayloadFormatVersion": "1.0"}, "payload format 2.0"),
        ({"IntegrationType": "HTTP_PROXY", "IntegrationUri": "https://x"}, "Lambda proxy"),
    ],
)
def test_integrations_the_gateway_cannot_serve_stop_the_deploy(
    aws: LocalAws, change: dict[str, Any], message: str
) -> None:
    resources = gateway_template()
    resources["EchoIntegration"]["Properties"].update(change)
    with pytest.raises(TemplateError, match=message):
        deploy(f"Bad{len(message)}", resources)


def test_a_route_with_an_authorizer_stops_the_deploy(aws: LocalAws) -> None:
    resources = gateway_template()
    resources["Route0"]["Properties"]["AuthorizationType"] = "JWT"
    with pytest.raises(TemplateError, match="authorizers"):
        deploy("BadAuthorizer", resources)
