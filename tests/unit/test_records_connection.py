"""Every records table talks through the process's one DynamoDB client, made once however many
invocations race to make it: each client of its own loads botocore's endpoint data again, which
a cold Lambda pays per table and the local runtime per table and per thread. Each model keeps
its own key schema and indexes: models sharing a table differ in those."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import botocore.session
import pytest
from pynamodb.models import Model

from lambdas.config import settings
from lambdas.records import tables
from lambdas.records.money_out_tables import WithdrawalDayRecord, WithdrawalRecord
from lambdas.records.tables import InvestorRecord, PurchaseRecord, process_client


def _forget_connections() -> None:
    tables.forget_process_client()
    settings.cache_clear()
    models = list(Model.__subclasses__())
    while models:
        model = models.pop()
        model._connection = None
        models += model.__subclasses__()


@pytest.fixture
def a_fresh_process(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """Configuration for three tables, no client yet, and the DynamoDB clients made, each
    with the thread that made it (a platform another test left running makes its own)."""
    for name, value in {
        "AWS_REGION": "eu-west-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PURCHASES_TABLE": "purchases",
        "INVESTORS_TABLE": "investors",
        "WITHDRAWALS_TABLE": "withdrawals",
    }.items():
        monkeypatch.setenv(name, value)
    made: list[Any] = []
    create_client = botocore.session.Session.create_client

    def counted(self: botocore.session.Session, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        if client.meta.service_model.service_name == "dynamodb":
            made.append((threading.get_ident(), client))
        return client

    monkeypatch.setattr(botocore.session.Session, "create_client", counted)
    _forget_connections()
    yield made
    _forget_connections()


def test_racing_first_requests_on_three_tables_make_one_client(a_fresh_process: list[Any]) -> None:
    models = [PurchaseRecord, InvestorRecord, WithdrawalRecord] * 6
    start = threading.Barrier(len(models))
    connections: list[Any] = [None] * len(models)
    racing: set[int] = set()

    def first_request(i: int) -> None:
        racing.add(threading.get_ident())
        start.wait()
        connections[i] = models[i]._get_connection()
        _ = connections[i].connection.client  # what a request uses

    threads = [threading.Thread(target=first_request, args=(i,)) for i in range(len(models))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (made,) = [client for thread, client in a_fresh_process if thread in racing]
    assert {id(c.connection.client) for c in connections} == {id(made)}
    assert process_client() is made
    for table in connections:  # each table's keys are known to its model's connection
        assert table.get_meta_table().hash_keyname


def test_models_sharing_a_table_keep_their_own_indexes(a_fresh_process: list[Any]) -> None:
    day = WithdrawalDayRecord._get_connection().get_meta_table()  # the table's first model
    withdrawal = WithdrawalRecord._get_connection().get_meta_table()
    assert withdrawal.get_index_hash_keyname("by-investor") == "investor_id"
    with pytest.raises(ValueError):
        day.get_index_hash_keyname("by-investor")
    assert not _made_here(a_fresh_process), "no request made yet, so no client"


def test_a_transaction_goes_through_the_same_client(a_fresh_process: list[Any]) -> None:
    _ = PurchaseRecord._get_connection().connection.client
    assert tables.transaction()._connection.client is process_client()
    assert _made_here(a_fresh_process) == [process_client()]


def _made_here(made: list[Any]) -> list[Any]:
    return [client for thread, client in made if thread == threading.get_ident()]
