"""Ingress: the platform's event bus, its archive (replay source) and the rules into workflows."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_stepfunctions as sfn
from constructs import Construct

from cdk.environments import DeploymentEnvironment
from domain.events import (
    COLLECTION_STARTS,
    COMPLIANCE_STARTS,
    INCOME_TO_THE_BANK,
    ONBOARDING_STARTS,
    PURCHASE_STARTS,
    SETTLEMENT_STARTS,
    WITHDRAWAL_STARTS,
    WRITE_DOWN_STARTS,
    Publication,
)


class PlatformBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, env: DeploymentEnvironment) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=f"Drexfy-{env.name}-platform")
        self.archive = self.bus.archive(
            "Archive",
            archive_name=f"Drexfy-{env.name}-platform-archive",
            description="Every platform event, so reprocessing is an EventBridge replay",
            event_pattern=events.EventPattern(source=events.Match.prefix("drexfy.")),
            # events carry payments and AML reasons: kept as long as replays need (environments)
            retention=Duration.days(env.archive_retention_days),
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
        """KYC decisions (and the frontend's wallet request) onboard; AML decisions (the
        provider's or an operator's) comply. One rule per source, with exactly that source's
        detail types: a pattern listing sources and types would match any pairing of them."""
        routes = (
            ("KycToOnboarding", ONBOARDING_STARTS[0], onboarding),
            ("WalletRequestsToOnboarding", ONBOARDING_STARTS[1], onboarding),
            ("AmlToCompliance", COMPLIANCE_STARTS[0], compliance),
            ("OperatorDecisionsToCompliance", COMPLIANCE_STARTS[1], compliance),
        )
        rules = []
        for name, publication, workflow in routes:
            rule = events.Rule(self, name, event_bus=self.bus, event_pattern=_exactly(publication))
            rule.add_target(
                targets.SfnStateMachine(
                    workflow,
                    input=events.RuleTargetInput.from_object(
                        {
                            "event_id": events.EventField.event_id,
                            "source": events.EventField.source,  # who decided: drexfy-ops or not
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
        return self._detail_to(
            "PaymentReceivedToPurchase", "A payment from the gateway starts the purchase workflow",
            PURCHASE_STARTS[0], purchase_workflow, "payment",
        )  # fmt: skip

    def route_collections_to(self, collection_workflow: sfn.IStateMachine) -> events.Rule:
        """CollectionReceived mints the collected cash to the company."""
        return self._detail_to(
            "CollectionReceivedToCollection",
            "A collection from an SME pool is minted to the company",
            COLLECTION_STARTS[0], collection_workflow, "collection",
        )  # fmt: skip

    def route_write_downs_to(self, write_down_workflow: sfn.IStateMachine) -> events.Rule:
        """An operator's write-down is checked and recorded on the instrument."""
        return self._detail_to(
            "WriteDownToWriteDown", "An operator's write-down of an instrument's nominal",
            WRITE_DOWN_STARTS[0], write_down_workflow, "write_down",
        )  # fmt: skip

    def route_withdrawals_to(self, withdrawal_workflow: sfn.IStateMachine) -> events.Rule:
        """A withdrawal the frontend asked for (kept and checked by the API) is carried out."""
        return self._detail_to(
            "WithdrawalRequestedToWithdrawal", "A withdrawal an investor asked for",
            WITHDRAWAL_STARTS[0], withdrawal_workflow, "withdrawal",
        )  # fmt: skip

    def route_income_to(self, withdrawal_workflow: sfn.IStateMachine) -> events.Rule:
        """A coupon or principal just paid: paid out to the bank if the investor chose it."""
        return self._detail_to(
            "IncomePaidToWithdrawal", "Income paid, to the bank where the investor chose it",
            WITHDRAWAL_STARTS[1], withdrawal_workflow, "income", with_detail_type=True,
            detail=INCOME_TO_THE_BANK,
        )  # fmt: skip

    def route_settlements_to(self, settlement_workflow: sfn.IStateMachine) -> events.Rule:
        """The provider's word on a payout or a refund settles it."""
        return self._detail_to(
            "ProviderAnswersToSettlement", "The payment provider's answer on a payout or refund",
            SETTLEMENT_STARTS[0], settlement_workflow, "outcome", with_detail_type=True,
        )  # fmt: skip

    def _detail_to(
        self,
        rule_id: str,
        description: str,
        publication: Publication,
        workflow: sfn.IStateMachine,
        key: str,
        *,
        with_detail_type: bool = False,
        detail: dict[str, Any] | None = None,
    ) -> events.Rule:
        """Exactly the publication's events start the workflow, with the event's detail under
        `key` beside the event id (for tracing), and its detail type if the workflow tells
        them apart by it."""
        rule = events.Rule(
            self,
            rule_id,
            event_bus=self.bus,
            description=description,
            event_pattern=_exactly(publication, detail),
        )
        rule.add_target(
            targets.SfnStateMachine(
                workflow,
                input=events.RuleTargetInput.from_object(
                    {
                        "event_id": events.EventField.event_id,
                        key: events.EventField.from_path("$.detail"),
                        **(
                            {"detail_type": events.EventField.detail_type}
                            if with_detail_type
                            else {}
                        ),
                    }
                ),
            )
        )
        return rule


def _exactly(publication: Publication, detail: dict[str, Any] | None = None) -> events.EventPattern:
    """The publication's events; only those whose detail matches `detail`, if given."""
    return events.EventPattern(
        source=[publication.source], detail_type=list(publication.detail_types), detail=detail
    )
