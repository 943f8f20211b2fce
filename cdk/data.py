"""Data: the platform's DynamoDB tables."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from cdk.environments import DeploymentEnvironment
from cdk.nag import SERVICING_BUCKET_ACCESS_IN_CLOUDTRAIL

# BatchWriteItem deletes too, under its own action.
_DELETES = ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem")


def _denying(actions: tuple[str, ...]) -> iam.PolicyDocument:
    """A table policy denying `actions` to every principal: no grant, the account root's or an
    operator's included, can allow them."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                effect=iam.Effect.DENY,
                principals=[iam.AnyPrincipal()],
                actions=list(actions),
                resources=["*"],
            )
        ]
    )


class PlatformTables(Construct):
    """purchases: one per payment. wallets: custodial wallets (seed as KMS ciphertext).
    submissions: every signed ledger transaction, persisted before it is submitted.
    tickets: the XRPL Ticket pools of the platform's hot accounts (indexed: the free ones).
    sequences: the next Sequence of accounts that sign without tickets.
    instruments: the catalogue as issued (MPT issuance ids) with units reserved and sold.
    investors: each investor's KYC/AML standing.
    audit: every change of an investor's standing: who, when, why, which transactions.
    webhooks: every webhook request, accepted or rejected, with its reason (nothing is lost).
    signatures: webhook signatures already used (replay protection; expire by TTL).
    notifications: notifications already sent to the frontend (each is sent once).
    payments: each payment as the gateway's authenticated webhook announced it (never expires).
    distributions: each payment date of an instrument: totals, approval, status.
    entitlements: what each holder is owed on a payment date, and its payment.
    withdrawals: each withdrawal and what became of it; each investor's daily total.
    reconciliations: each day's three-way reconciliation report, as it was made."""

    def __init__(self, scope: Construct, construct_id: str, env: DeploymentEnvironment) -> None:
        super().__init__(scope, construct_id)
        self._env = env
        self.purchases = self._table("Purchases", "purchase_id")
        # An investor's purchases (their holdings and cash flows), not a scan.
        self.purchases.add_global_secondary_index(
            index_name="by-investor",
            partition_key=dynamodb.Attribute(
                name="investor_id", type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name="purchase_id", type=dynamodb.AttributeType.STRING),
        )
        # The sealed seeds: nobody deletes a wallet record, whatever their grants.
        self.wallets = self._table("Wallets", "investor_id", forbidden=_DELETES)
        self.submissions = self._table("Submissions", "business_key")
        # An AML case's transactions by investor (domain.business_keys.subject_of), not a scan.
        self.submissions.add_global_secondary_index(
            index_name="by-subject",
            partition_key=dynamodb.Attribute(name="subject", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="business_key", type=dynamodb.AttributeType.STRING),
        )
        self.tickets = self._table("Tickets", "account", sort_key="ticket_sequence")
        # Sparse: only the Tickets still free (lambdas/records/tables.py, TicketsAvailable).
        self.tickets.add_global_secondary_index(
            index_name="available",
            partition_key=dynamodb.Attribute(
                name="available_in", type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name="ticket_sequence", type=dynamodb.AttributeType.NUMBER),
            projection_type=dynamodb.ProjectionType.KEYS_ONLY,
        )
        self.sequences = self._table("Sequences", "account")
        self.instruments = self._table("Instruments", "instrument_id")
        self.investors = self._table("Investors", "investor_id")
        self.audit = self._table(  # append-only: a record, once written, stays as written
            "Audit", "investor_id", sort_key="audit_id", sort_type="S",
            forbidden=(*_DELETES, "dynamodb:UpdateItem"),
        )  # fmt: skip
        # Raw requests (AML reasons, payments): expired by TTL (lambdas/records/webhooks.py).
        self.webhooks = self._table("Webhooks", "request_id", ttl="expires_at")
        self.signatures = self._table("Signatures", "signature", ttl="expires_at")
        self.notifications = self._table("Notifications", "notification_id")
        self.payments = self._table(  # what the gateway announced stays as announced
            "Payments", "payment_id", forbidden=(*_DELETES, "dynamodb:UpdateItem")
        )
        # What holders were owed and paid: the books of servicing, never deleted.
        self.distributions = self._table("Distributions", "distribution_id", forbidden=_DELETES)
        self.entitlements = self._table(
            "Entitlements", "distribution_id", sort_key="investor_id", sort_type="S",
            forbidden=_DELETES,
        )  # fmt: skip
        # Money out: never deleted; an investor's withdrawals by the index, not a scan.
        self.withdrawals = self._table("Withdrawals", "withdrawal_id", forbidden=_DELETES)
        self.withdrawals.add_global_secondary_index(
            index_name="by-investor",
            partition_key=dynamodb.Attribute(
                name="investor_id", type=dynamodb.AttributeType.STRING
            ),
            sort_key=dynamodb.Attribute(name="requested_at", type=dynamodb.AttributeType.STRING),
        )

        # The books as they were read: added once, never changed or deleted.
        self.reconciliations = self._table(
            "Reconciliations", "reconciliation_id", forbidden=(*_DELETES, "dynamodb:UpdateItem")
        )

    def by_name(self) -> dict[str, dynamodb.ITable]:
        return {
            "purchases": self.purchases,
            "wallets": self.wallets,
            "submissions": self.submissions,
            "tickets": self.tickets,
            "sequences": self.sequences,
            "instruments": self.instruments,
            "investors": self.investors,
            "audit": self.audit,
            "webhooks": self.webhooks,
            "signatures": self.signatures,
            "notifications": self.notifications,
            "payments": self.payments,
            "distributions": self.distributions,
            "entitlements": self.entitlements,
            "withdrawals": self.withdrawals,
            "reconciliations": self.reconciliations,
        }

    def _table(
        self,
        name: str,
        key: str,
        sort_key: str | None = None,
        sort_type: str = "N",
        ttl: str | None = None,
        forbidden: tuple[str, ...] = (),
    ) -> dynamodb.TableV2:
        sort_attribute_type = (
            dynamodb.AttributeType.NUMBER if sort_type == "N" else dynamodb.AttributeType.STRING
        )
        return dynamodb.TableV2(
            self,
            name,
            partition_key=dynamodb.Attribute(name=key, type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name=sort_key, type=sort_attribute_type)
            if sort_key
            else None,
            time_to_live_attribute=ttl,
            billing=dynamodb.Billing.on_demand(),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            deletion_protection=self._env.retain_data,
            resource_policy=_denying(forbidden) if forbidden else None,
            removal_policy=RemovalPolicy.RETAIN if self._env.retain_data else RemovalPolicy.DESTROY,
        )


class ServicingBucket(Construct):
    """Each distribution's holders (the Distributed Map's items) and its report: private,
    encrypted, TLS only, versioned (a report rewritten by a re-run keeps the earlier one)."""

    def __init__(self, scope: Construct, construct_id: str, env: DeploymentEnvironment) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            versioned=True,
            removal_policy=RemovalPolicy.RETAIN if env.retain_data else RemovalPolicy.DESTROY,
        )
        SERVICING_BUCKET_ACCESS_IN_CLOUDTRAIL.on(self.bucket)
