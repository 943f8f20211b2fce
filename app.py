#!/usr/bin/env python3
"""The CDK app: `cdk deploy -c env=dev`, or `python app.py` for an offline synth."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk

from cdk.environments import environment_named
from cdk.nag import apply_checks
from cdk.platform_stack import PlatformStack

CDK_JSON = Path(__file__).resolve().parent / "cdk.json"


def build_app(env_name: str | None = None, outdir: str | None = None) -> cdk.App:
    context = json.loads(CDK_JSON.read_text())["context"]
    app = cdk.App(context=context, outdir=outdir)
    name = env_name or app.node.try_get_context("env") or "dev"
    PlatformStack(app, environment_named(name))
    apply_checks(app)  # cdk-nag: a finding without an acknowledged reason fails the synth
    return app


if __name__ == "__main__":
    build_app().synth()
