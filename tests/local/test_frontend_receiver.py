"""The local stand-in for the frontend: records POSTs, lists them, logs them as JSON lines."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from local.frontend_receiver import FrontendReceiver


def post(url: str, data: bytes, content_type: str = "application/json") -> int:
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": content_type, "X-Token": "t"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_posts_are_recorded_listed_and_logged(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "notifications.jsonl"
    with FrontendReceiver(log_file=log) as receiver:
        assert receiver.url == f"http://127.0.0.1:{receiver.port}/notifications"
        assert post(receiver.url, json.dumps({"type": "WalletReady"}).encode()) == 200
        assert post(receiver.base_url + "/elsewhere", b"plain text", "text/plain") == 200
        with urllib.request.urlopen(receiver.url, timeout=5) as response:
            listed = json.loads(response.read())
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(receiver.base_url + "/other", timeout=5)
        assert missing.value.code == 404
    assert [(r["path"], r["body"]) for r in listed] == [
        ("/notifications", {"type": "WalletReady"}),
        ("/elsewhere", "plain text"),
    ]
    assert listed[0]["headers"]["x-token"] == "t"
    assert listed[0]["time"] > 0
    logged = [json.loads(line) for line in log.read_text().splitlines()]
    assert logged == listed


def test_failures_can_be_arranged_and_waited_for() -> None:
    with FrontendReceiver() as receiver:
        receiver.fail_next(2, status=502)
        statuses = [post(receiver.url, json.dumps({"n": n}).encode()) for n in range(3)]
        assert statuses == [502, 502, 200]
        assert len(receiver.wait_for(lambda r: True, count=3, timeout=1)) == 3
        with pytest.raises(TimeoutError):
            receiver.wait_for(lambda r: r.body == {"n": 9}, timeout=0.1)
        receiver.clear()
        assert receiver.received() == []


def test_the_port_is_released_on_stop() -> None:
    import socket

    receiver = FrontendReceiver().start()
    port = receiver.port
    receiver.stop()
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
