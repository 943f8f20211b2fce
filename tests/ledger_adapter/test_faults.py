"""Faults at the boundaries become the error types workflows retry."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from botocore.exceptions import ClientError

from domain.errors import TransientFault
from local.aws.platform import LocalAws


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_ledger_is_a_transient_fault() -> None:
    from lambdas.ledger_adapter.client import LedgerClient

    with pytest.raises(TransientFault, match="unreachable"):
        LedgerClient(f"http://127.0.0.1:{free_port()}").validated_ledger_index()


def test_a_ledger_the_server_no_longer_keeps_is_named_as_such_not_retried() -> None:
    from lambdas.ledger_adapter.client import LedgerClient, LedgerRequestFailed
    from local.ledger_server import LocalLedger

    with LocalLedger(history=2) as ledger:
        for _ in range(4):
            ledger.close_ledger()
        client = LedgerClient(ledger.rpc_url)
        assert client.close_time(client.validated_ledger_index() - 1) > 0
        with pytest.raises(LedgerRequestFailed, match="needs full-history servers"):
            client.close_time(1)


def test_kms_throttling_is_a_transient_fault(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lambdas import aws_clients
    from lambdas.custody.platform_signer import PlatformKey

    class ThrottledKms:
        def get_public_key(self, **_: Any) -> Any:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
                "GetPublicKey",
            )

    monkeypatch.setattr(aws_clients, "kms", lambda: ThrottledKms())
    monkeypatch.setattr("lambdas.custody.platform_signer.kms", lambda: ThrottledKms())
    with pytest.raises(TransientFault, match="Rate exceeded"):
        _ = PlatformKey("any-key").address
