"""Keys: the symmetric key that seals investor seeds, and one secp256k1 key per platform account."""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk.environments import DeploymentEnvironment

PLATFORM_ROLES = ("issuer", "company", "funding")


class PlatformKeys(Construct):
    def __init__(self, scope: Construct, construct_id: str, env: DeploymentEnvironment) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if env.retain_data else RemovalPolicy.DESTROY
        self.investor_seeds = kms.Key(
            self,
            "InvestorSeeds",
            description="Investor wallet seeds: Wallet Generator encrypts, Signer decrypts",
            enable_key_rotation=True,
            removal_policy=removal,
        )
        self.platform_accounts = {
            role: kms.Key(
                self,
                f"{role.capitalize()}Account",
                description=f"XRPL {role} account key; signs digests, never leaves KMS",
                key_spec=kms.KeySpec.ECC_SECG_P256K1,
                key_usage=kms.KeyUsage.SIGN_VERIFY,
                removal_policy=removal,
            )
            for role in PLATFORM_ROLES
        }
