"""Ingress: the platform's event bus, its archive (replay source) and the rules into workflows."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.environments import DeploymentEnvironment

PAYMENTS_SOURCE = "drexfy.payments"
KYC_SOURCE = "drexfy.kyc"
FRONTEND_SOURCE = "drexfy.frontend"
OPERATORS_SOURCE = "drexfy.operators"  # an operator's block or unblock (drexfy-ops investor)


class PlatformBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, env: DeploymentEnvironment) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"Drexfy-{env.name}-platform")
        self.archive = self.bus.archive(
            "Archive",
            archive_name=f"Drexfy-{env.name}-platform-archive",
            description="Every platform event, so reprocessing is an EventBridge replay",
            event_pattern=events.EventPattern(source=events.Match.prefix("drexfy.")),
            retention=Duration.days(0 if env.retain_data else 90),
        )
        # aws-cdk renders an archive without a customer-managed key as `KmsKeyIdentifier: ""`,
        # which CloudFormation rejects in some regions (a known aws-cdk bug): leave the property
        # out, so the archive is encrypted with an AWS-owned key as intended.
        archive_resource = self.archive.node.default_child
        assert isinstance(archive_resource, events.CfnArchive)
        archive_resource.add_property_deletion_override("KmsKeyIdentifier")

    def route_kyc_to(
        self, onboarding: sfn.IStateMachine, compliance: sfn.IStateMachine
    ) -> list[events.Rule]:
        """KYC decisions (and the frontend's wallet request) onboard; AML decisions comply."""
        routes = (
            (
                "KycToOnboarding",
                [KYC_SOURCE, FRONTEND_SOURCE],
                ["KycApproved", "KycRejected", "WalletRequested"],
                onboarding,
            ),
            (
                "AmlToCompliance",
                [KYC_SOURCE, OPERATORS_SOURCE],
                ["AmlFlagged", "AmlCleared"],
                compliance,
            ),
        )
        rules = []
        for name, sources, detail_types, workflow in routes:
            rule = events.Rule(
                self,
                name,
                event_bus=self.bus,
                event_pattern=events.EventPattern(source=sources, detail_type=detail_types),
            )
            rule.add_target(
                targets.SfnStateMachine(
                    workflow,
                    input=events.RuleTargetInput.from_object(
                        {
                            "event_id": events.EventField.event_id,
                            "detail_type": events.EventField.detail_type,
                            "decision": events.EventField.from_path("$.detail"),
                        }
                    ),
                )
            )
            rules.append(rule)
        return rules

    def route_payments_to(self, purchase_workflow: sfn.IStateMachine) -> events.Rule:
        """PaymentReceived starts a purchase; the input keeps the event id for tracing."""
        rule = events.Rule(
            self,
            "PaymentReceivedToPurchase",
            event_bus=self.bus,
            description="A payment from the gateway starts the purchase workflow",
            event_pattern=events.EventPattern(
                source=[PAYMENTS_SOURCE], detail_type=["PaymentReceived"]
            ),
        )
        rule.add_target(
            targets.SfnStateMachine(
                purchase_workflow,
                input=events.RuleTargetInput.from_object(
                    {
                        "event_id": events.EventField.event_id,
                        "payment": events.EventField.from_path("$.detail"),
                    }
                ),
            )
        )
        return rule
