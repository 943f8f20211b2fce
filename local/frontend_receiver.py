"""The frontend (Bubble) as the local platform sees it: an HTTP server that records every POST.

The notifications API destination delivers to it locally. Every POST, whatever its path, is
recorded in memory (path, headers, JSON body or text, time) and appended as one JSON line to a
log file if one is given; `GET /notifications` returns the records as a JSON array. Tests can make
the next requests fail (`fail_next`) to exercise EventBridge's retries and dead-letter queue.

    python -m local.frontend_receiver [--port 8790] [--log-file F]
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from local.loopback import JsonHandler, LoopbackServer
from local.processes import wait_for_stop_signal

NOTIFICATIONS_PATH = "/notifications"


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]  # names lowercased
    body: Any  # the JSON document, or the text when the body is not JSON
    time: float

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class FrontendReceiver:
    """Records POSTs on 127.0.0.1:`port` (0 picks a free port); `url` is the notifications URL."""

    def __init__(self, port: int = 0, log_file: Path | None = None, host: str = "127.0.0.1"):
        self.log_file = log_file
        # A log from an earlier run is what the frontend already got: keep it (make down / up).
        self._received: list[Received] = _read_log(log_file)
        self._failures: list[int] = []
        self._lock = threading.Condition()
        self._http = LoopbackServer(_handler_class(self), port, host, "frontend")
        self.base_url = self._http.base_url
        self.url = self.base_url + NOTIFICATIONS_PATH

    @property
    def port(self) -> int:
        return self._http.port

    def start(self) -> FrontendReceiver:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()

    def __enter__(self) -> FrontendReceiver:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def bodies(self) -> list[Any]:
        return [r.body for r in self.received()]

    def clear(self) -> None:
        with self._lock:
            self._received.clear()
            self._failures.clear()

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` POSTs with `status` (they are recorded all the same)."""
        with self._lock:
            self._failures += [status] * count

    def wait_for(
        self, predicate: Callable[[Received], bool], count: int = 1, timeout: float = 10.0
    ) -> list[Received]:
        """The records matching `predicate` once there are `count` of them (else TimeoutError)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                matching = [r for r in self._received if predicate(r)]
                remaining = deadline - time.monotonic()
                if len(matching) >= count or remaining <= 0:
                    break
                self._lock.wait(remaining)
        if len(matching) < count:
            raise TimeoutError(f"{len(matching)} of {count} expected requests within {timeout}s")
        return matching

    def record(self, entry: Received) -> int:
        """Keep a POST; the status to answer it with."""
        with self._lock:
            self._received.append(entry)
            if self.log_file is not None:
                self.log_file.parent.mkdir(parents=True, exist_ok=True)
                with self.log_file.open("a") as log:
                    log.write(json.dumps(entry.to_json()) + "\n")
            status = self._failures.pop(0) if self._failures else 200
            self._lock.notify_all()
        return status


def _handler_class(receiver: FrontendReceiver) -> type[BaseHTTPRequestHandler]:
    class Handler(JsonHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            text = raw.decode("utf-8", errors="replace")
            try:
                body: Any = json.loads(text) if text else None
            except ValueError:
                body = text
            status = receiver.record(
                Received(
                    path=self.path,
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=body,
                    time=time.time(),
                )
            )
            self.reply(status, {"ok": status < 300})

        def do_GET(self) -> None:
            if self.path.split("?", 1)[0].rstrip("/") != NOTIFICATIONS_PATH:
                self.reply(404, {"message": "Not Found"})
                return
            self.reply(200, [r.to_json() for r in receiver.received()])

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8790, help="0 picks a free port")
    parser.add_argument("--log-file", type=Path, default=None, help="append JSON lines here")
    args = parser.parse_args()
    receiver = FrontendReceiver(args.port, args.log_file).start()
    print(f"frontend receiver ready url={receiver.url}", flush=True)
    wait_for_stop_signal()
    receiver.stop()


if __name__ == "__main__":
    main()


def _read_log(log_file: Path | None) -> list[Received]:
    if log_file is None or not log_file.exists():
        return []
    lines = log_file.read_text().splitlines()
    return [Received(**json.loads(line)) for line in lines if line.strip()]
