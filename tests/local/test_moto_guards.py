"""Guards: every place the local platform patches moto is still where the patch expects it.

These fail loudly on a moto upgrade that moves or reshapes a patched name, instead of letting
the platform silently fall back to moto's own behaviour.
"""

import inspect

import moto
import pytest
from moto.awslambda.models import LambdaFunction
from moto.dynamodb.models import DynamoDBBackend
from moto.events.models import Replay, Rule
from moto.kms import responses as kms_responses
from moto.kms import utils as kms_utils
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function import wait_function
from moto.stepfunctions.parser.asl.jsonata import jsonata as moto_jsonata

from local.aws import patches


def test_moto_is_the_pinned_version() -> None:
    assert moto.__version__ == patches.MOTO_VERSION


@pytest.mark.parametrize(
    "point",
    patches.PATCH_POINTS,
    ids=lambda p: f"{getattr(p.owner, '__name__', p.owner)}.{p.attribute}",
)
def test_each_patched_name_still_exists_with_its_signature(point: patches.PatchPoint) -> None:
    original = patches.original(point.owner, point.attribute)
    assert original is not None or point.attribute == "_eval_jsonata"
    if point.parameters is not None:
        assert tuple(inspect.signature(original).parameters) == point.parameters


def test_moto_still_lacks_what_the_patches_add() -> None:
    """If moto gains these itself, the patches should be revisited, not stacked on top."""
    assert patches.original(moto_jsonata, "_eval_jsonata") is None
    assert "docker" in inspect.getsource(patches.original(LambdaFunction, "_invoke_lambda"))
    assert "NotImplementedError" in inspect.getsource(patches.original(Rule, "send_to_targets"))
    assert "event_start_time" not in inspect.getsource(patches.original(Replay, "replay_events"))
    assert "Prehashed" not in inspect.getsource(kms_utils)
    assert "time.sleep(interval_seconds)" in inspect.getsource(retrier_decl)
    assert "program_state_event.wait" in inspect.getsource(
        patches.original(wait_function.WaitFunction, "_wait_interval")
    )
    assert "message_type" in inspect.getsource(patches.original(kms_responses.KmsResponse, "sign"))
    transact = inspect.getsource(patches.original(DynamoDBBackend, "transact_write_items"))
    assert "original_table_state" in transact and "deepcopy" in transact


def test_applying_twice_patches_once() -> None:
    patches.apply_all()
    first = Rule.send_to_targets
    patches.apply_all()
    assert Rule.send_to_targets is first is patches._send_to_targets


def test_a_different_moto_version_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(moto, "__version__", "5.3.0")
    with pytest.raises(patches.MotoMismatch, match=r"5\.3\.0"):
        patches.check_patch_points()


def test_moto_still_sends_api_destinations_no_body_or_auth() -> None:
    """moto's own API destination delivery (behind MOTO_EVENTS_INVOKE_HTTP) sends neither the
    event nor the connection's authorization; the patch delivers these targets itself."""
    source = inspect.getsource(patches.original(Rule, "send_to_targets"))
    assert "api-destination" in source and "settings.events_invoke_http()" in source
    assert "auth" not in source.split("api-destination", 1)[1]


def test_the_moto_internals_the_api_destination_delivery_reads_are_there() -> None:
    from moto.events.models import Connection, Destination, EventsBackend
    from moto.secretsmanager.models import SecretsManagerBackend
    from moto.sqs.models import SQSBackend

    destination = inspect.getsource(Destination.__init__)
    for name in ("arn", "connection_arn", "invocation_endpoint", "http_method"):
        assert f"self.{name} =" in destination
    connection = inspect.getsource(Connection.__init__)
    for name in ("arn", "secret_arn", "auth_parameters", "authorization_type"):
        assert f"self.{name} =" in connection
    # the connection's secret holds api_key_name/api_key_value (or username/password)
    assert "CamelToUnderscoresWalker.parse(secret_value)" in connection
    backend = inspect.getsource(EventsBackend.__init__)
    assert "self.connections" in backend and "self.destinations" in backend
    assert tuple(inspect.signature(SecretsManagerBackend.get_secret_value).parameters) == (
        "self",
        "secret_id",
        "version_id",
        "version_stage",
    )
    assert "message_attributes" in inspect.signature(SQSBackend.send_message).parameters


def test_moto_matches_exists_false_so_replays_skip_the_notification_rule() -> None:
    """No patch needed: moto's pattern matcher honours `exists: false` on `replay-name`."""
    from moto.events.models import EventPattern

    pattern = EventPattern(None, {"source": ["a"], "replay-name": [{"exists": False}]})
    assert pattern.matches_event({"source": "a", "detail": {}})
    assert not pattern.matches_event({"source": "a", "detail": {}, "replay-name": "r"})
