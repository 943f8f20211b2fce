"""IAM is enforced locally: take away one grant a workflow needs and it fails as it would in AWS.

Each test removes one action from one function's role in the deployed template (in the
embedded IAM), runs the real flow, checks the failure is AccessDenied for that action, and puts
the grant back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from botocore.exceptions import ClientError

from domain.purchase import PurchaseStatus
from local.aws import access
from local.aws.platform import LocalAws
from local.ledger_server import LocalLedger
from tests.support.investors import onboard
from tests.workflows.conftest import new_investor_id, payment, run_payment


def role_of(aws: LocalAws, function: str) -> str:
    """The role ARN of the stack's function whose logical id contains `function`."""
    names = [
        f["FunctionName"]
        for page in aws.client("lambda").get_paginator("list_functions").paginate()
        for f in page["Functions"]
        if any(
            f"{p}{function}" in f["FunctionName"] for p in ("Workflow", "Api", "Signing", "local-")
        )
    ]
    assert len(names) == 1, f"{function}: {names}"
    return str(aws.client("lambda").get_function(FunctionName=names[0])["Configuration"]["Role"])


@contextmanager
def without_grant(aws: LocalAws, function: str, action: str) -> Iterator[str]:
    """The function's role loses `action` (from every statement naming it) for the block."""
    role_name = role_of(aws, function).rsplit("/", 1)[-1]
    with without_grant_of_role(aws, role_name, action):
        yield role_name


@contextmanager
def without_grant_of_role(aws: LocalAws, role_name: str, action: str) -> Iterator[str]:
    """The role loses `action` (from every statement naming it) for the block."""
    iam = aws.client("iam")
    saved = {
        name: iam.get_role_policy(RoleName=role_name, PolicyName=name)["PolicyDocument"]
        for name in iam.list_role_policies(RoleName=role_name)["PolicyNames"]
    }
    removed = 0
    for name, document in saved.items():
        reduced = json.loads(json.dumps(document))
        for statement in reduced["Statement"]:
            actions = (
                [statement["Action"]]
                if isinstance(statement["Action"], str)
                else statement["Action"]
            )
            kept = [a for a in actions if a != action]
            removed += len(actions) - len(kept)
            statement["Action"] = kept or ["none:Nothing"]
        iam.put_role_policy(RoleName=role_name, PolicyName=name, PolicyDocument=json.dumps(reduced))
    assert removed, f"{role_name} had no {action} to take away"
    try:
        yield role_name
    finally:
        for name, document in saved.items():
            iam.put_role_policy(
                RoleName=role_name, PolicyName=name, PolicyDocument=json.dumps(document)
            )


@contextmanager
def without_key_grant(aws: LocalAws, function: str, action: str) -> Iterator[str]:
    """The key policies stop naming the function's role for `action` for the block (a key
    policy that names a role is enough on its own: taking its IAM grant away changes nothing)."""
    role_arn = role_of(aws, function)
    kms = aws.client("kms")
    saved = {}
    for key in kms.list_keys()["Keys"]:
        policy = json.loads(kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"])
        names_role = [s.get("Principal", {}).get("AWS") == role_arn for s in policy["Statement"]]
        kept = [
            s
            for s, named in zip(policy["Statement"], names_role, strict=True)
            if not (named and action in json.dumps(s["Action"]))
        ]
        if len(kept) < len(policy["Statement"]):
            saved[key["KeyId"]] = policy
            kms.put_key_policy(
                KeyId=key["KeyId"], PolicyName="default",
                Policy=json.dumps({**policy, "Statement": kept}),
            )  # fmt: skip
    assert saved, f"no key policy names {role_arn} for {action}"
    try:
        with without_grant(aws, function, action) as role_name:
            yield role_name
    finally:
        for key_id, policy in saved.items():
            kms.put_key_policy(KeyId=key_id, PolicyName="default", Policy=json.dumps(policy))


def denials_in(aws: LocalAws, execution: dict[str, Any]) -> str:
    history = aws.client("stepfunctions").get_execution_history(
        executionArn=execution["executionArn"], maxResults=1000
    )["events"]
    return "\n".join(
        json.dumps(event, default=str)
        for event in history
        if "AccessDenied" in json.dumps(event, default=str)
    )


@pytest.fixture
def investor_id(ledger: LocalLedger, platform: dict[str, Any]) -> str:
    investor = new_investor_id()
    onboard(ledger, investor)
    return investor


@pytest.mark.parametrize(
    ("function", "action"),
    [
        ("IssuerSigner", "kms:Sign"),  # a platform key's signature
        ("MintStablecoin", "lambda:InvokeFunction"),  # asking the issuer's signer
        ("InvestorSigner", "kms:Decrypt"),  # the investor's sealed seed
        ("RecordDeposit", "dynamodb:PutItem"),  # a table write
    ],
)
def test_a_purchase_step_without_its_grant_is_denied_and_nothing_is_delivered(
    aws: LocalAws, investor_id: str, function: str, action: str
) -> None:
    taken_away = without_key_grant if action.startswith("kms:") else without_grant
    with taken_away(aws, function, action) as role_name:
        execution = run_payment(aws, payment(investor_id))

    output = json.loads(execution.get("output") or "{}")
    assert output.get("status") != PurchaseStatus.DELIVERED
    denials = denials_in(aws, execution)
    assert role_name in denials and action in denials, denials or execution


def test_the_purchase_is_delivered_once_the_grant_is_back(aws: LocalAws, investor_id: str) -> None:
    """The same flow with the grants as the template gives them (guards the tests above)."""
    execution = run_payment(aws, payment(investor_id))
    assert json.loads(execution["output"])["status"] == PurchaseStatus.DELIVERED
    assert denials_in(aws, execution) == ""


def test_announcing_a_delivery_without_put_events_is_denied(
    aws: LocalAws, investor_id: str
) -> None:
    with without_grant(aws, "AnnounceDelivery", "events:PutEvents") as role_name:
        execution = run_payment(aws, payment(investor_id))
    denials = denials_in(aws, execution)
    assert role_name in denials and "events:PutEvents" in denials, denials or execution


def sealed_seed(investor_id: str) -> tuple[bytes, str]:
    from lambdas.records.tables import WalletRecord

    wallet = WalletRecord.get(investor_id)
    return bytes(wallet.encrypted_seed), str(wallet.address)


def test_the_seed_key_decrypts_only_under_the_seed_encryption_context(
    aws: LocalAws, investor_id: str
) -> None:
    """The investor signer's role may Decrypt only with purpose=drexfy-investor-seed: the
    policy's condition is evaluated before KMS checks the ciphertext's own context."""
    from lambdas.custody.wallet_generator import encryption_context

    blob, address = sealed_seed(investor_id)
    right = encryption_context(investor_id, address)
    wrong = {**right, "purpose": "something-else"}
    kms = aws.client("kms")
    with access.acting(role_of(aws, "InvestorSigner")):
        assert kms.decrypt(CiphertextBlob=blob, EncryptionContext=right)["Plaintext"]
        with pytest.raises(ClientError) as denied:
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=wrong)
        with pytest.raises(ClientError) as no_context:
            kms.decrypt(CiphertextBlob=blob)
    for error in (denied, no_context):
        assert error.value.response["Error"]["Code"] == "AccessDeniedException"
        assert "kms:Decrypt" in error.value.response["Error"]["Message"]
    with access.acting(role_of(aws, "MintStablecoin")), pytest.raises(ClientError) as not_signer:
        kms.decrypt(CiphertextBlob=blob, EncryptionContext=right)
    assert not_signer.value.response["Error"]["Code"] == "AccessDeniedException"


def test_an_unknown_access_key_is_refused(aws: LocalAws) -> None:
    import boto3

    client = boto3.client(
        "dynamodb",
        region_name="eu-west-1",
        endpoint_url=aws.endpoint_url,
        aws_access_key_id="AKIAUNKNOWN0000000000",
        aws_secret_access_key="x",
    )
    with pytest.raises(ClientError) as refused:
        client.list_tables()
    assert refused.value.response["Error"]["Code"] == "UnrecognizedClientException"


FORGERIES = [
    # (the role that tries, source, detail type): events it does not publish
    ("FrontendApi", "drexfy.payments", "PaymentReceived"),  # mint with no money received
    ("FrontendApi", "drexfy.frontend", "KycApproved"),  # a wallet funded with no KYC
    ("FrontendApi", "drexfy.kyc", "AmlCleared"),  # unblock an investor
    ("KycWebhook", "drexfy.payments", "PaymentReceived"),
    ("PaymentWebhook", "drexfy.kyc", "KycApproved"),
    ("ComplianceWorkflowNotifyFrontend", "drexfy.operators", "AmlCleared"),
    ("AnnounceDelivery", "drexfy.purchases", "RefundRequested"),
]


@pytest.mark.parametrize(("function", "source", "detail_type"), FORGERIES)
def test_a_role_may_put_only_the_events_it_publishes(
    aws: LocalAws, function: str, source: str, detail_type: str
) -> None:
    events = aws.client("events")
    entry = {"EventBusName": aws.stack.output("EventBusName"), "Detail": "{}"}
    with access.acting(role_of(aws, function)), pytest.raises(ClientError) as forged:
        events.put_events(Entries=[{**entry, "Source": source, "DetailType": detail_type}])
    assert forged.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "events:PutEvents" in forged.value.response["Error"]["Message"]


def test_a_publisher_may_put_its_own_events(aws: LocalAws) -> None:
    """The other side of the forgeries: the frontend asks for a wallet, as it does (and the
    onboarding it starts is waited for: nothing of this test runs on into the next)."""
    from tests.investors.conftest import decision, finished

    events = aws.client("events")
    request = decision("inv-nobody")
    entry = {
        "EventBusName": aws.stack.output("EventBusName"),
        "Source": "drexfy.frontend",
        "DetailType": "WalletRequested",
        "Detail": json.dumps(request),
    }
    with access.acting(role_of(aws, "FrontendApi")):
        assert events.put_events(Entries=[entry])["FailedEntryCount"] == 0
    assert finished(aws, "Onboarding", request["case_id"])


def _denied(error: Any) -> str:
    """The AccessDenied message of a pynamodb or boto error (pynamodb wraps the ClientError)."""
    cause = getattr(error, "cause", error)
    response = getattr(cause, "response", {})
    assert response["Error"]["Code"] == "AccessDeniedException", response
    return str(response["Error"]["Message"])


TAMPERING = [
    # (the role that tries, what it tries): each was possible with read-write on every table
    ("FrontendApi", "set a unit price to 0.01"),
    ("FrontendApi", "mark a blocked investor ACTIVE"),
    ("FrontendApi", "delete a wallet record"),
    ("CreateWallet", "delete a wallet record"),
    ("RecordAmlDecision", "rewrite an audit record"),
]


@pytest.mark.parametrize(("function", "attempt"), TAMPERING)
def test_a_role_changes_only_the_tables_it_writes(
    aws: LocalAws, investor_id: str, function: str, attempt: str
) -> None:
    from pynamodb.exceptions import PynamoDBException

    from lambdas.records.tables import AuditRecord, InstrumentRecord, InvestorRecord, WalletRecord

    audit_record = next(AuditRecord.query(investor_id, limit=1))
    tries = {
        "set a unit price to 0.01": lambda: InstrumentRecord("SME-2027-A").update(
            actions=[InstrumentRecord.unit_price.set("0.01")]
        ),
        "mark a blocked investor ACTIVE": lambda: InvestorRecord(investor_id).update(
            actions=[InvestorRecord.status.set("ACTIVE")]
        ),
        "delete a wallet record": lambda: WalletRecord(investor_id).delete(),
        "rewrite an audit record": lambda: audit_record.update(
            actions=[AuditRecord.reason.set("nothing happened")]
        ),
    }
    with access.acting(role_of(aws, function)), pytest.raises(PynamoDBException) as refused:
        tries[attempt]()
    assert "dynamodb:" in _denied(refused.value)
    assert WalletRecord.get(investor_id, consistent_read=True).address


def test_nobody_deletes_a_wallet_nor_changes_the_audit_trail_not_even_the_administrator(
    aws: LocalAws, investor_id: str
) -> None:
    """The tables' own policies deny it to every principal: no grant can allow it."""
    dynamodb = aws.client("dynamodb")
    wallets = aws.stack.function_environment["WALLETS_TABLE"]
    audit = aws.stack.function_environment["AUDIT_TABLE"]
    (audit_key,) = [
        {"investor_id": i["investor_id"], "audit_id": i["audit_id"]}
        for i in dynamodb.query(
            TableName=audit,
            KeyConditionExpression="investor_id = :i",
            ExpressionAttributeValues={":i": {"S": investor_id}},
            Limit=1,
        )["Items"]
    ]
    attempts = [
        lambda: dynamodb.delete_item(TableName=wallets, Key={"investor_id": {"S": investor_id}}),
        lambda: dynamodb.batch_write_item(
            RequestItems={
                wallets: [{"DeleteRequest": {"Key": {"investor_id": {"S": investor_id}}}}]
            }
        ),
        lambda: dynamodb.delete_item(TableName=audit, Key=audit_key),
        lambda: dynamodb.update_item(
            TableName=audit,
            Key=audit_key,
            UpdateExpression="SET reason = :r",
            ExpressionAttributeValues={":r": {"S": "nothing happened"}},
        ),
    ]
    for attempt in attempts:
        with pytest.raises(ClientError) as refused:
            attempt()
        assert "with an explicit deny" in _denied(refused.value)
    assert dynamodb.get_item(TableName=wallets, Key={"investor_id": {"S": investor_id}})["Item"]
