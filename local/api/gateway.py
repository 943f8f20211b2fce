"""The local stand-in for API Gateway: serves an HTTP API's routes on 127.0.0.1 and invokes their
Lambda functions through moto's Lambda (the boto3 `invoke` call, in-process or at the server's
endpoint), with the payload format 2.0 event and response mapping of `local.api.proxy`.

    gateway = ApiGateway(endpoint_url=None)          # binds a free port; gateway.url is known
    stack = Deployer(..., api_endpoint=gateway.url).deploy(...)
    gateway.serve(stack.http_api); gateway.start()   # ... gateway.stop()

Throttling is the stage's, from the template (`HttpApi.throttle`): a token bucket per stage and
route, as API Gateway keeps; a request that finds its bucket empty is answered 429
`{"message":"Too Many Requests"}` without invoking the function.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol

import boto3
from botocore.config import Config

from local.api import proxy
from local.api.routes import HttpApi, Throttle

LOG = logging.getLogger(__name__)
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # HTTP APIs' payload limit
REGION = "eu-west-1"


class Invoker(Protocol):
    def __call__(self, function_name: str, event: dict[str, Any]) -> tuple[bytes, str | None]:
        """(the function's result payload, its FunctionError or None)."""
        ...


class LambdaInvoker:
    """Invokes a function synchronously through the Lambda API, as API Gateway does."""

    def __init__(self, endpoint_url: str | None = None, region: str = REGION) -> None:
        self._client = boto3.client(
            "lambda",
            region_name=region,
            endpoint_url=endpoint_url,
            config=Config(read_timeout=900, retries={"total_max_attempts": 1}),
        )

    def __call__(self, function_name: str, event: dict[str, Any]) -> tuple[bytes, str | None]:
        response = self._client.invoke(
            FunctionName=function_name,
            InvocationType="RequestResponse",
            Payload=json.dumps(event).encode(),
        )
        return response["Payload"].read(), response.get("FunctionError")


class TokenBuckets:
    """API Gateway's throttling: per (stage, route) a bucket of `burst` tokens, full at first and
    refilled at `rate` a second; each request takes one, and finds none when it is throttled."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: tuple[str, str], throttle: Throttle) -> bool:
        """Whether a request may pass now (its token taken)."""
        now = self._clock()
        with self._lock:
            tokens, at = self._buckets.get(key, (float(throttle.burst), now))
            tokens = min(float(throttle.burst), tokens + (now - at) * throttle.rate)
            admitted = tokens >= 1
            self._buckets[key] = (tokens - 1 if admitted else tokens, now)
            return admitted


class ApiGateway:
    """A ThreadingHTTPServer on `host:port` (0 picks a free port) serving one HTTP API."""

    def __init__(
        self,
        invoker: Invoker | None = None,
        *,
        endpoint_url: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        max_request_bytes: int = MAX_REQUEST_BYTES,
    ) -> None:
        self.invoke: Invoker = invoker or LambdaInvoker(endpoint_url)
        self.api: HttpApi | None = None
        self.buckets = TokenBuckets()
        self.max_request_bytes = max_request_bytes
        self._server = ThreadingHTTPServer((host, port), _handler_class(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        bound_port = self._server.server_address[1]
        bound_host = host
        self.url = f"http://{bound_host}:{bound_port}"

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def serve(self, api: HttpApi | None) -> ApiGateway:
        """Serve `api`'s routes (None: every request is 404 Not Found)."""
        self.api = api
        self.buckets = TokenBuckets()
        return self

    def start(self) -> ApiGateway:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name=f"api-gateway-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ApiGateway:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def handle(self, request: proxy.HttpRequest, request_id: str) -> proxy.HttpResponse:
        """Route, invoke and map one request; the HTTP plumbing is in the handler class."""
        api = self.api
        located = api.split_stage(request.raw_path) if api else None
        if api is None or located is None:
            return proxy.json_response(404, proxy.NOT_FOUND)
        stage, path = located
        selected = api.select(request.method, path)
        if selected is None:
            return proxy.json_response(404, proxy.NOT_FOUND)
        route, parameters = selected
        throttle = api.throttle(stage, route.route_key)
        if throttle is not None and not self.buckets.take((stage, route.route_key), throttle):
            return proxy.json_response(429, proxy.TOO_MANY_REQUESTS)
        host = dict((k.lower(), v) for k, v in request.headers).get("host", "127.0.0.1")
        event = proxy.build_event(
            request,
            route_key=route.route_key,
            path_parameters=parameters,
            stage=stage,
            api_id=api.api_id,
            domain_name=host.split(":", 1)[0],
            request_id=request_id,
        )
        try:
            payload, function_error = self.invoke(route.function_name, event)
        except Exception:  # API Gateway answers 500 whatever failed
            LOG.exception("invoking %s for %s failed", route.function_name, route.route_key)
            return proxy.json_response(500, proxy.INTERNAL_ERROR)
        if function_error:
            LOG.error(
                "%s for %s failed: %s",
                route.function_name,
                route.route_key,
                payload.decode(errors="replace")[:2000],
            )
            return proxy.json_response(500, proxy.INTERNAL_ERROR)
        try:
            return proxy.to_http_response(payload)
        except proxy.MalformedResponse as error:
            LOG.error("%s for %s: %s", route.function_name, route.route_key, error)
            return proxy.json_response(500, proxy.INTERNAL_ERROR)


def _handler_class(gateway: ApiGateway) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "LocalApiGateway"
        sys_version = ""

        def _serve(self) -> None:
            request_id = str(uuid.uuid4())
            body = self._read_body()
            if body is None:
                response = proxy.json_response(413, proxy.TOO_LARGE)
                self.close_connection = True
            else:
                # The request target as sent: http.server collapses a leading `//` in
                # self.path, and urlsplit would read it as a host.
                target = self.requestline.split(" ")[1] if " " in self.requestline else self.path
                raw_path, _, raw_query = target.partition("?")
                request = proxy.HttpRequest(
                    method=self.command,
                    raw_path=raw_path or "/",
                    raw_query=raw_query,
                    headers=[(name, value) for name, value in self.headers.items()],
                    body=body,
                    source_ip=self.client_address[0],
                    protocol=self.request_version,
                )
                response = gateway.handle(request, request_id)
            self._send(response, request_id)

        def _read_body(self) -> bytes | None:
            """The request body, or None when it is over the limit (not read then)."""
            limit = gateway.max_request_bytes
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self._read_chunked(limit)
            length = int(self.headers.get("Content-Length") or 0)
            if length > limit:
                return None
            return self.rfile.read(length) if length else b""

        def _read_chunked(self, limit: int) -> bytes | None:
            chunks: list[bytes] = []
            size = 0
            while True:
                line = self.rfile.readline(65537)
                chunk_size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if chunk_size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                size += chunk_size
                if size > limit:
                    return None
                chunks.append(self.rfile.read(chunk_size))
                self.rfile.readline(65537)  # the CRLF after the chunk

        def _send(self, response: proxy.HttpResponse, request_id: str) -> None:
            self.send_response(response.status)
            names = {name.lower() for name, _ in response.headers}
            for name, value in response.headers:
                if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                    self.send_header(name, value)
            if "apigw-requestid" not in names:
                self.send_header("apigw-requestid", request_id)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

        def __getattr__(self, name: str) -> Any:
            # Any other method (TRACE, PROPFIND...) is routed too, so it gets API Gateway's JSON
            # 404 rather than http.server's 501 HTML page.
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def log_message(self, format: str, *args: Any) -> None:
            LOG.debug("%s %s", self.address_string(), format % args)

    return Handler
