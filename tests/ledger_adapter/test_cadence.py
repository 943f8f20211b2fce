"""server_info's validated_ledger.age, as the local ledger reports it and the client reads it."""

import time

from lambdas.ledger_adapter.client import LedgerClient
from local.ledger_server import LocalLedger


def test_the_age_counts_whole_seconds_since_the_last_close() -> None:
    with LocalLedger(close_interval_ms=0) as ledger:
        client = LedgerClient(ledger.rpc_url)
        ledger.close_ledger()
        assert client.validated_age() == 0
        time.sleep(1.1)
        aged = client.validated_age()
        ledger.close_ledger()
        assert aged is not None and aged >= 1
        assert client.validated_age() == 0
