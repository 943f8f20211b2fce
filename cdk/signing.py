"""The signing service: the only functions that use keys, each applying its policy first.

One investor signer holds kms:Decrypt on the sealed seeds; one signer per platform account
(issuer, company, funding) holds kms:Sign on that account's key. Neither talks to a ledger: the
ledger steps build and submit transactions, and ask a signer (lambda:InvokeFunction, granted by
`TaskFunction.signs_as`) for each signature. The rules they apply are domain/signing_policy.py.
"""

from __future__ import annotations

from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from cdk.functions import PlatformResources, TaskFunction, platform_function
from cdk.keys import PLATFORM_ROLES

_CUSTODY = "lambdas.custody"
SIGNER_TIMEOUT_SECONDS = 10  # a signature is milliseconds of work; KMS retries fit in this

INVESTOR_SIGNER = TaskFunction(
    "InvestorSigner",
    f"{_CUSTODY}.investor_signer.handler",
    # The wallet (sealed seed, address), the investor's standing, and the purchase a payment
    # serves or the withdrawal it redeems, which bound what the wallet may pay.
    reads=("wallets", "investors", "purchases", "withdrawals"),
    decrypts_seeds=True,
    knows_addresses_of=True,
    timeout_seconds=SIGNER_TIMEOUT_SECONDS,
)
PLATFORM_SIGNERS = tuple(
    TaskFunction(
        f"{role.capitalize()}Signer",
        f"{_CUSTODY}.platform_signer.{role}_handler",
        # the company's issuances, and the entitlements bounding what it pays holders
        reads=("instruments", "entitlements") if role == "company" else (),
        holds_key_of=role,
        knows_addresses_of=True,
        timeout_seconds=SIGNER_TIMEOUT_SECONDS,
    )
    for role in PLATFORM_ROLES
)
SIGNERS = (INVESTOR_SIGNER, *PLATFORM_SIGNERS)


class SigningService(Construct):
    """The signers, registered in `resources.signers` by account for the ledger steps."""

    def __init__(self, scope: Construct, construct_id: str, resources: PlatformResources) -> None:
        super().__init__(scope, construct_id)
        self.functions: dict[str, lambda_.Function] = {}
        for task in SIGNERS:
            account = task.holds_key_of or "investor"
            self.functions[account] = platform_function(self, task, resources)
            resources.signers[account] = self.functions[account]
