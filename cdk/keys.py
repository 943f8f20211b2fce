"""Keys: the symmetric key that seals investor seeds, and one secp256k1 key per platform account.

Each key policy separates administering a key from using it. The account (its root and the
administrators IAM allows) may manage the keys, read the platform accounts' public keys and seal
new seeds, but never decrypt a seed or sign: only the signers' roles may, each named in the key
policy by cdk/functions.py (`_use_key`). Break-glass is a change to a key policy, made through
CloudFormation and recorded by CloudTrail (docs/operations.md).
"""

from __future__ import annotations

from aws_cdk import RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from cdk.environments import DeploymentEnvironment

PLATFORM_ROLES = ("issuer", "company", "funding")
# Administering a key: everything but using it (no Decrypt, ReEncrypt, GenerateDataKey, Sign).
KEY_ADMINISTRATION = (
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
)


def _key_policy(*account_uses: str) -> iam.PolicyDocument:
    """The account may administer the key and, through IAM, make `account_uses` of it."""
    return iam.PolicyDocument(
        statements=[
            iam.PolicyStatement(
                sid="AccountAdministersTheKey",
                actions=[*KEY_ADMINISTRATION, *account_uses],
                resources=["*"],
                principals=[iam.AccountRootPrincipal()],
            )
        ]
    )


class PlatformKeys(Construct):
    def __init__(self, scope: Construct, construct_id: str, env: DeploymentEnvironment) -> None:
        super().__init__(scope, construct_id)
        removal = RemovalPolicy.RETAIN if env.retain_data else RemovalPolicy.DESTROY
        self.investor_seeds = kms.Key(
            self,
            "InvestorSeeds",
            description="Investor wallet seeds: Wallet Generator seals, investor signer opens",
            enable_key_rotation=True,
            removal_policy=removal,
            policy=_key_policy("kms:Encrypt"),  # sealing a new seed reveals none
        )
        self.platform_accounts = {
            role: kms.Key(
                self,
                f"{role.capitalize()}Account",
                description=f"XRPL {role} account key; signs digests, never leaves KMS",
                key_spec=kms.KeySpec.ECC_SECG_P256K1,
                key_usage=kms.KeyUsage.SIGN_VERIFY,
                removal_policy=removal,
                policy=_key_policy("kms:GetPublicKey"),  # addresses are public
            )
            for role in PLATFORM_ROLES
        }
