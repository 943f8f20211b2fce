"""The embedded AWS platform: moto 5.2.5 made to run this project's Lambdas, rules and workflows.

`patches` changes moto where it falls short (see docs/architecture.md); `deployer` deploys the
CDK-synthesized templates into it; `platform` starts it in-process or as a server on 127.0.0.1,
together with the local API gateway (`local.api`) and the frontend receiver
(`local.frontend_receiver`).
"""
