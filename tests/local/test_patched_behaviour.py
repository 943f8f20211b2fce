"""What the patches make moto do, checked against AWS's documented behaviour."""

import contextlib
import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, utils

from local.aws import lambda_runtime, patches
from local.aws.platform import LocalAws
from tests.support.waiting import wait_for

EVENT = {
    "id": "e-1",
    "detail-type": "PaymentReceived",
    "source": "drexfy.payments",
    "time": 1_700_000_000,
    "detail": {"payment_id": "p-1", "units": 2},
}


def test_an_unquoted_string_placeholder_gains_quotes_as_in_eventbridge() -> None:
    target = {
        "Arn": "arn:aws:states:::x",
        "InputTransformer": {
            "InputPathsMap": {"id": "$.id", "detail": "$.detail"},
            "InputTemplate": '{"event_id":<id>,"payment":<detail>}',
        },
    }
    assert patches.target_input(target, EVENT) == {"event_id": "e-1", "payment": EVENT["detail"]}


def test_a_quoted_placeholder_is_inserted_as_text() -> None:
    rendered = patches.render_input_template(
        '{"text":"payment <p> of <n> units","n":<n>}', {"p": 'p"1', "n": 2}
    )
    assert rendered == {"text": 'payment p"1 of 2 units', "n": 2}


def test_input_and_input_path_and_the_default_whole_event() -> None:
    assert patches.target_input({"Arn": "a", "Input": '{"fixed": 1}'}, EVENT) == {"fixed": 1}
    assert patches.target_input({"Arn": "a", "InputPath": "$.detail.units"}, EVENT) == 2
    whole = patches.target_input({"Arn": "a"}, EVENT)
    assert whole["detail"] == EVENT["detail"] and whole["time"] == "2023-11-14T22:13:20Z"


def test_jsonata_expressions_evaluate_and_errors_map_to_moto_exceptions() -> None:
    assert patches.evaluate_jsonata('($x := {"a": [1, 2, 3]}; $sum($x.a) * 2)') == 12
    with pytest.raises(patches.moto_jsonata.JSONataException):
        patches.evaluate_jsonata("$undefinedFunction(")


class Boom(Exception):
    pass


def failing_handler(event: object, context: object) -> None:
    raise Boom("it broke")


def test_a_raised_exception_becomes_the_lambda_error_retry_and_catch_match() -> None:
    context = lambda_runtime.InvocationContext("fn", "arn:fn", 128, 3)
    result = lambda_runtime.invoke(f"{__name__}.failing_handler", {}, context)
    assert result.errored
    assert json.loads(result.payload)["errorType"] == "Boom"
    assert json.loads(result.payload)["errorMessage"] == "it broke"
    assert 0 < context.get_remaining_time_in_millis() <= 3000


def test_kms_signs_a_digest_itself_when_message_type_is_digest(aws: LocalAws) -> None:
    kms = aws.client("kms")
    key_id = kms.create_key(KeySpec="ECC_SECG_P256K1", KeyUsage="SIGN_VERIFY")["KeyMetadata"][
        "KeyId"
    ]
    public_key = serialization.load_der_public_key(kms.get_public_key(KeyId=key_id)["PublicKey"])
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    digest = hashlib.sha512(b"transaction to sign").digest()[:32]
    signature = kms.sign(
        KeyId=key_id, Message=digest, MessageType="DIGEST", SigningAlgorithm="ECDSA_SHA_256"
    )["Signature"]
    # An independent check: the signature is over the digest as given, not SHA-256 of it.
    public_key.verify(signature, digest, ec.ECDSA(utils.Prehashed(hashes.SHA256())))
    raw = kms.sign(KeyId=key_id, Message=b"raw message", SigningAlgorithm="ECDSA_SHA_256")
    public_key.verify(raw["Signature"], b"raw message", ec.ECDSA(hashes.SHA256()))
    verified = kms.verify(
        KeyId=key_id,
        Message=digest,
        MessageType="DIGEST",
        Signature=signature,
        SigningAlgorithm="ECDSA_SHA_256",
    )
    assert verified["SignatureValid"] is True


def test_workflow_clock_is_real_unless_made_instant() -> None:
    before = patches.WorkflowClock.instant
    try:
        patches.WorkflowClock.instant = False
        started = time.monotonic()
        patches.WorkflowClock.sleep(0.2)
        assert time.monotonic() - started >= 0.19
        patches.WorkflowClock.instant = True
        started = time.monotonic()
        patches.WorkflowClock.sleep(5)
        assert time.monotonic() - started < 0.1
    finally:
        patches.WorkflowClock.instant = before


def test_a_failing_transaction_does_not_erase_concurrent_writes(aws: LocalAws) -> None:
    """moto rolls a cancelled transaction back by restoring a table copy; requests are serialised
    so writes made meanwhile by other threads survive, as in DynamoDB."""
    from concurrent.futures import ThreadPoolExecutor

    from botocore.exceptions import ClientError

    dynamodb = aws.client("dynamodb")
    table = aws.stack.function_environment["SEQUENCES_TABLE"]
    dynamodb.put_item(TableName=table, Item={"account": {"S": "held"}, "next_sequence": {"N": "1"}})

    def cancelled(_: int) -> None:
        with contextlib.suppress(ClientError):
            dynamodb.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": table,
                            "Key": {"account": {"S": "held"}},
                            "UpdateExpression": "SET next_sequence = :n",
                            "ConditionExpression": "next_sequence = :never",
                            "ExpressionAttributeValues": {":n": {"N": "2"}, ":never": {"N": "0"}},
                        }
                    }
                ]
            )

    def write(n: int) -> None:
        dynamodb.put_item(
            TableName=table, Item={"account": {"S": f"w-{n}"}, "next_sequence": {"N": str(n)}}
        )

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda n: cancelled(n) if n % 2 else write(n), range(80)))
    for n in range(0, 80, 2):
        assert "Item" in dynamodb.get_item(TableName=table, Key={"account": {"S": f"w-{n}"}})


def test_an_answer_being_written_out_holds_no_other_request_back(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Requests are serialised for their action only: while a scan's answer is still being
    written out, a write goes through."""
    from moto.core.responses import BaseResponse

    dynamodb = aws.client("dynamodb")
    table = aws.stack.function_environment["SEQUENCES_TABLE"]
    writing_out, go_on = threading.Event(), threading.Event()
    serialized = BaseResponse.serialized

    def slowly(self: Any, result: Any) -> Any:
        if self._get_action() == "Scan":
            writing_out.set()
            go_on.wait(30)
        return serialized(self, result)

    monkeypatch.setattr(BaseResponse, "serialized", slowly)
    scan = threading.Thread(target=dynamodb.scan, kwargs={"TableName": table, "Limit": 1})
    scan.start()
    try:
        assert writing_out.wait(10)
        item = {"account": {"S": "meanwhile"}, "next_sequence": {"N": "7"}}
        put = {"TableName": table, "Item": item}
        write = threading.Thread(target=dynamodb.put_item, kwargs=put)
        write.start()
        write.join(10)
        assert not write.is_alive(), "the write waited for the scan's answer"
    finally:
        go_on.set()
        scan.join(10)
    assert dynamodb.get_item(TableName=table, Key={"account": {"S": "meanwhile"}})["Item"] == item


def test_moto_keeps_no_registry_of_every_item_it_made(aws: LocalAws) -> None:
    """Scans and transactions copy items; without the patch moto's registry kept every copy."""
    from moto.dynamodb.models.dynamo_type import Item
    from moto.dynamodb.models.table import Table

    dynamodb = aws.client("dynamodb")
    table = aws.stack.function_environment["SEQUENCES_TABLE"]
    registered = len(Item.instances_tracked) + len(Table.instances_tracked)
    for n in range(20):
        dynamodb.put_item(
            TableName=table, Item={"account": {"S": f"r-{n}"}, "next_sequence": {"N": str(n)}}
        )
        dynamodb.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": table,
                        "Key": {"account": {"S": f"r-{n}"}},
                        "UpdateExpression": "SET next_sequence = :n",
                        "ExpressionAttributeValues": {":n": {"N": str(n + 1)}},
                    }
                }
            ]
        )
    assert len(dynamodb.scan(TableName=table)["Items"]) >= 20
    assert len(Item.instances_tracked) + len(Table.instances_tracked) == registered


def test_a_cancelled_transaction_undoes_its_own_writes_without_copying_tables(
    aws: LocalAws,
) -> None:
    """moto applies a transaction's items in order and undoes them if one is cancelled; the
    patch backs up only the items named. The table object itself is never replaced."""
    from botocore.exceptions import ClientError
    from moto.dynamodb.models import dynamodb_backends

    dynamodb = aws.client("dynamodb")
    name = aws.stack.function_environment["SEQUENCES_TABLE"]
    backend = next(b for r in dynamodb_backends.values() for b in r.values() if name in b.tables)
    table_before = backend.tables[name]
    dynamodb.put_item(TableName=name, Item={"account": {"S": "t-a"}, "next_sequence": {"N": "1"}})
    transaction = [
        {
            "Update": {
                "TableName": name,
                "Key": {"account": {"S": "t-a"}},
                "UpdateExpression": "SET next_sequence = :n",
                "ExpressionAttributeValues": {":n": {"N": "2"}},
            }
        },
        {"Put": {"TableName": name, "Item": {"account": {"S": "t-new"}}}},
        {
            "ConditionCheck": {
                "TableName": name,
                "Key": {"account": {"S": "t-missing"}},
                "ConditionExpression": "attribute_exists(account)",
            }
        },
    ]

    with pytest.raises(ClientError, match="TransactionCanceled"):
        dynamodb.transact_write_items(TransactItems=transaction)

    kept = dynamodb.get_item(TableName=name, Key={"account": {"S": "t-a"}}, ConsistentRead=True)
    assert kept["Item"]["next_sequence"] == {"N": "1"}
    assert "Item" not in dynamodb.get_item(TableName=name, Key={"account": {"S": "t-new"}})
    assert backend.tables[name] is table_before

    dynamodb.transact_write_items(TransactItems=transaction[:2])
    applied = dynamodb.get_item(TableName=name, Key={"account": {"S": "t-a"}}, ConsistentRead=True)
    assert applied["Item"]["next_sequence"] == {"N": "2"}
    assert "Item" in dynamodb.get_item(TableName=name, Key={"account": {"S": "t-new"}})


def test_an_execution_whose_thread_dies_before_starting_ends_failed(
    aws: LocalAws, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

    def broken(self: ExecutionWorker) -> None:
        raise RuntimeError("parser state corrupted")

    sfn = aws.client("stepfunctions")
    arn = sfn.create_state_machine(  # its own: the platform's workflows stay untouched
        name=f"thread-dies-{time.time_ns()}",
        definition=json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}),
        roleArn="arn:aws:iam::123456789012:role/test",
    )["stateMachineArn"]
    monkeypatch.setattr(ExecutionWorker, "_get_evaluation_entrypoint", broken)
    started = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]

    def ended() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=started)
        return described if described["status"] != "RUNNING" else None

    described = wait_for(ended, 10)
    assert described["status"] == "FAILED"
    assert described["error"] == "RuntimeError"
    assert "parser state corrupted" in described["cause"]


def test_definitions_parsed_at_once_never_share_a_scope_stack(aws: LocalAws) -> None:
    """An archive replay starts executions at once. moto's Preprocessor kept its query-language
    scopes in one list for all parses, so one parse popped another's scope (IndexError): each
    preprocessor now has its own."""
    import threading

    from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser
    from moto.stepfunctions.parser.asl.parse.preprocessor import Preprocessor

    assert Preprocessor()._query_language_per_scope is not Preprocessor()._query_language_per_scope
    statemachines = Path(__file__).resolve().parents[2] / "statemachines"
    definition = (statemachines / "compliance.asl.json").read_text()
    failures: list[BaseException] = []

    def parse_often() -> None:
        try:
            for _ in range(15):
                AmazonStateLanguageParser.parse(definition)
        except BaseException as error:  # noqa: BLE001 (any failure is the finding)
            failures.append(error)

    threads = [threading.Thread(target=parse_often) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_scheduled_rule_fires_on_its_schedule_never_on_an_event(aws: LocalAws) -> None:
    from datetime import UTC, datetime

    from local.aws import schedules

    sqs, events = aws.client("sqs"), aws.client("events")
    queue_url = sqs.create_queue(QueueName="scheduled-rule-probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    events.put_rule(Name="probe-daily", ScheduleExpression="cron(0 6 * * ? *)")
    events.put_targets(Rule="probe-daily", Targets=[{"Id": "q", "Arn": queue_arn}])
    try:
        events.put_events(Entries=[{"Source": "probe", "DetailType": "x", "Detail": "{}"}])
        assert sqs.receive_message(QueueUrl=queue_url).get("Messages") is None
        with pytest.raises(NotImplementedError, match=r"probe-daily: target .* fired locally"):
            schedules.fire(datetime(2026, 4, 1, 6, tzinfo=UTC), only="probe-daily")
    finally:
        events.remove_targets(Rule="probe-daily", Ids=["q"])
        events.delete_rule(Name="probe-daily")
    event = schedules.scheduled_event(
        "arn:aws:events:eu-west-1:1:rule/x", datetime(2026, 4, 1, 6, tzinfo=UTC)
    )
    assert (event["source"], event["detail-type"], event["time"]) == (
        "aws.events", "Scheduled Event", "2026-04-01T06:00:00Z",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("expression", "at", "due"),
    [
        ("cron(0 6 * * ? *)", "2026-08-20T06:00:59Z", True),
        ("cron(0 6 * * ? *)", "2026-08-20T06:01:00Z", False),
        ("cron(0 6 * * ? *)", "2026-08-20T08:00:00+02:00", True),
        ("cron(30 0 * * ? *)", "2026-08-20T06:00:00Z", False),
        ("cron(0/15 9-17 ? * 2-6 *)", "2026-12-07T09:45:00Z", True),  # a Monday
        ("cron(0/15 9-17 ? * 2-6 *)", "2026-12-06T09:45:00Z", False),  # a Sunday
        ("cron(0/15 9-17 ? * 2-6 *)", "2026-12-07T18:00:00Z", False),
        ("cron(5,35 */6 1 1,7 ? 2026-2027)", "2027-07-01T12:35:00Z", True),
        ("cron(5,35 */6 1 1,7 ? 2026-2027)", "2027-07-01T13:35:00Z", False),
        ("rate(1 hour)", "2026-08-20T06:17:00Z", True),
    ],
)
def test_a_schedule_is_due_in_the_minutes_its_cron_names(
    expression: str, at: str, due: bool
) -> None:
    from datetime import datetime

    from local.aws import schedules

    assert schedules.due_at(expression, datetime.fromisoformat(at)) is due


def test_a_cron_this_emulation_cannot_read_is_refused_not_guessed() -> None:
    from datetime import UTC, datetime

    from local.aws import schedules

    at = datetime(2026, 8, 31, 6, tzinfo=UTC)
    with pytest.raises(NotImplementedError, match="only numbers"):
        schedules.due_at("cron(0 6 L * ? *)", at)
    with pytest.raises(ValueError, match="not an EventBridge schedule"):
        schedules.due_at("cron(0 6 * *)", at)


def test_each_deployed_schedule_is_due_at_its_own_time_only(aws: LocalAws) -> None:
    """Firing the clock at a payment date reaches servicing, not the reconciliation (which at a
    date before the ledger began would find no books)."""
    from datetime import UTC, datetime

    from local.aws import schedules

    def due(hour: int, minute: int) -> list[str]:
        at = datetime(2026, 8, 20, hour, minute, tzinfo=UTC)
        rules = schedules.scheduled_rules()
        return [r.name for r in rules if schedules.due_at(r.scheduled_expression, at)]

    (servicing,) = due(6, 0)
    (books,) = due(0, 30)
    assert "Servicing" in servicing and "DailyReconciliation" in books
    assert due(12, 0) == []


def _distributed_map(tolerated: dict[str, Any]) -> dict[str, Any]:
    """A Distributed Map over the input's items: an item with ok false fails its child run."""
    item = {
        "StartAt": "Ok?",
        "States": {
            "Ok?": {
                "Type": "Choice",
                "Choices": [{"Condition": "{% $states.input.ok %}", "Next": "Fine"}],
                "Default": "Broken",
            },
            "Fine": {"Type": "Succeed"},
            "Broken": {"Type": "Fail", "Error": "ItemFailed", "Cause": "not ok"},
        },
        "ProcessorConfig": {"Mode": "DISTRIBUTED", "ExecutionType": "STANDARD"},
    }
    each = {"Type": "Map", "Items": "{% $states.input.items %}", "ItemProcessor": item}
    return {
        "QueryLanguage": "JSONata",
        "StartAt": "Each",
        "States": {"Each": {**each, **tolerated, "End": True}},
    }


@pytest.mark.parametrize(
    ("tolerated", "items", "status"),
    [
        ({}, [True, True], "SUCCEEDED"),
        ({}, [True, False], "FAILED"),  # nothing tolerated by default
        ({"ToleratedFailureCount": 1}, [False, True, True], "SUCCEEDED"),
        ({"ToleratedFailureCount": 1}, [False, False, True], "FAILED"),
    ],
)
def test_a_distributed_map_run_fails_once_its_failures_pass_what_it_tolerates(
    aws: LocalAws, tolerated: dict[str, Any], items: list[bool], status: str
) -> None:
    """As AWS: States.ExceedToleratedFailureThreshold, which a Catch sees (moto succeeded).
    moto's parser refuses a numeric ToleratedFailurePercentage in JSONata, so only the count
    is tried here."""
    sfn = aws.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=f"map-run-{time.time_ns()}",
        definition=json.dumps(_distributed_map(tolerated)),
        roleArn="arn:aws:iam::123456789012:role/test",
    )["stateMachineArn"]
    payload = json.dumps({"items": [{"ok": ok} for ok in items]})
    started = sfn.start_execution(stateMachineArn=arn, input=payload)["executionArn"]

    def ended() -> dict[str, Any] | None:
        described = sfn.describe_execution(executionArn=started)
        return described if described["status"] != "RUNNING" else None

    described = wait_for(ended, 20)
    assert described["status"] == status, described
    if status == "FAILED":
        assert described["error"] == "States.ExceedToleratedFailureThreshold"
        assert "tolerated failure threshold was exceeded" in described["cause"]
