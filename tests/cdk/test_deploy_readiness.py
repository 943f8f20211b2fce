"""What `cdk deploy` is handed: no property CloudFormation rejects, and Lambda assets that are
reproducible (the layer's asset hash is the lock's digest) and ship their CPython 3.13 bytecode."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cdk.packaging import LAMBDA, dependencies_digest, missing_bytecode
from tests.cdk.conftest import Synthesis, resources_of


def empty_strings(value: Any, path: str = "") -> Iterator[str]:
    """Where a value holds "" (a Fn::Join's delimiter may be empty: it is not a property)."""
    if value == "":
        yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Fn::Join" and isinstance(item, list) and len(item) == 2:
                yield from empty_strings(item[1], f"{path}.Fn::Join[1]")
            else:
                yield from empty_strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from empty_strings(item, f"{path}[{index}]")


def test_the_event_archive_has_no_empty_kms_key_identifier(prod_template: dict[str, Any]) -> None:
    # aws-cdk renders an archive without a customer-managed key as `KmsKeyIdentifier: ""`, which
    # fails the deploy in some regions: the property must be absent.
    (archive,) = resources_of(prod_template, "AWS::Events::Archive")
    assert "KmsKeyIdentifier" not in archive["Properties"]
    assert archive["Properties"]["ArchiveName"] == "Drexfy-prod-platform-archive"


def test_no_resource_property_is_an_empty_string(prod_template: dict[str, Any]) -> None:
    found = [
        f"{logical_id}{path}"
        for logical_id, resource in prod_template["Resources"].items()
        for path in empty_strings(resource.get("Properties", {}))
    ]
    assert found == []


def asset_folder(synthesis: Synthesis, s3_key: Any) -> Path:
    assert isinstance(s3_key, str) and s3_key.endswith(".zip"), s3_key
    return synthesis.outdir / f"asset.{s3_key.removesuffix('.zip')}"


def test_the_layer_asset_hash_is_the_digest_of_the_lock(
    synthesized: Callable[[str], Synthesis],
) -> None:
    template = synthesized("prod").template()
    (layer,) = resources_of(template, "AWS::Lambda::LayerVersion")
    # A custom asset hash becomes the S3 key as its sha256: the lock's digest decides the upload.
    expected = hashlib.sha256(dependencies_digest().encode()).hexdigest()
    assert layer["Properties"]["Content"]["S3Key"] == f"{expected}.zip"


def test_the_assets_cdk_uploads_ship_cpython_313_bytecode_for_every_module(
    synthesized: Callable[[str], Synthesis],
) -> None:
    synthesis = synthesized("prod")
    template = synthesis.template()
    (layer,) = resources_of(template, "AWS::Lambda::LayerVersion")
    layer_python = asset_folder(synthesis, layer["Properties"]["Content"]["S3Key"]) / "python"
    code_keys = {
        f["Properties"]["Code"]["S3Key"] for f in resources_of(template, "AWS::Lambda::Function")
    }
    assert len(code_keys) == 1, "every function shares one code asset"
    code = asset_folder(synthesis, code_keys.pop())

    assert (code / "lambdas" / "__init__.py").is_file() and (layer_python / "pydantic").is_dir()
    assert missing_bytecode(code, LAMBDA) == []
    assert missing_bytecode(layer_python, LAMBDA) == []


def test_functions_do_not_trace_without_a_tracer(prod_template: dict[str, Any]) -> None:
    """No X-Ray SDK in the handlers, so no active tracing and no xray:* grant on any function;
    the state machines trace each execution."""
    for logical_id, resource in prod_template["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            mode = resource["Properties"].get("TracingConfig", {}).get("Mode", "PassThrough")
            assert mode == "PassThrough", logical_id
        if resource["Type"] == "AWS::IAM::Policy" and "StateMachine" not in logical_id:
            assert "xray:" not in json.dumps(resource["Properties"]["PolicyDocument"]), logical_id
        if resource["Type"] == "AWS::StepFunctions::StateMachine":
            assert resource["Properties"]["TracingConfiguration"] == {"Enabled": True}
