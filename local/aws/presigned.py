"""S3 links signed in their query string (SigV4 presigned URLs), checked as S3 checks them: the
signature made with the signer's secret over the method, path, query and host; not before its
X-Amz-Date and not after X-Amz-Expires seconds of it. A link passes as its signer, whose role
must still allow the action when it is used; anything else is refused (S3 refuses SigV2 links
to buckets made since 2020, so they are refused here too)."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

ALGORITHM = "AWS4-HMAC-SHA256"
LONGEST = timedelta(days=7)  # S3's limit on X-Amz-Expires


class LinkRefused(Exception):
    """S3's answer to a link it will not serve: its code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class SignedLink:
    access_key: str
    region: str
    signed_at: datetime
    lifetime: timedelta
    signature: str


def signed_link(query: Mapping[str, Sequence[str]]) -> SignedLink | None:
    """The link's signing parameters; None if the query carries no signature at all."""
    if "X-Amz-Signature" not in query and "Signature" not in query:
        return None
    if _one(query, "X-Amz-Algorithm") != ALGORITHM:
        raise LinkRefused(
            "AccessDenied", "Only AWS4-HMAC-SHA256 query signatures are accepted (no SigV2)"
        )
    scope = _one(query, "X-Amz-Credential").split("/")
    try:
        signed_at = datetime.strptime(_one(query, "X-Amz-Date"), "%Y%m%dT%H%M%SZ")
        lifetime = timedelta(seconds=int(_one(query, "X-Amz-Expires")))
    except ValueError:
        raise LinkRefused("AuthorizationQueryParametersError", "X-Amz-Date or -Expires") from None
    if len(scope) != 5 or scope[3:] != ["s3", "aws4_request"]:
        raise LinkRefused("AuthorizationQueryParametersError", "X-Amz-Credential is malformed")
    if not timedelta(0) < lifetime <= LONGEST:
        raise LinkRefused(
            "AuthorizationQueryParametersError", "X-Amz-Expires must be 1 to 604800 seconds"
        )
    return SignedLink(
        scope[0], scope[2], signed_at.replace(tzinfo=UTC), lifetime, _one(query, "X-Amz-Signature")
    )


@dataclass(frozen=True)
class LinkRequest:
    method: str
    url: str  # scheme, host and the path as sent, without the query
    query: Mapping[str, Sequence[str]]
    now: datetime


def check(link: SignedLink, keys: Credentials, request: LinkRequest) -> None:
    """Refuse the link unless it is in its lifetime and signed with `keys` for this request."""
    if request.now < link.signed_at - timedelta(minutes=15):
        raise LinkRefused("AccessDenied", "Request is not valid yet")
    if request.now > link.signed_at + link.lifetime:
        raise LinkRefused("AccessDenied", "Request has expired")
    if keys.token and _one(request.query, "X-Amz-Security-Token") != keys.token:
        raise LinkRefused("InvalidToken", "The provided token is malformed or otherwise invalid")
    signed = sorted(
        (name, value)
        for name, values in request.query.items()
        if name != "X-Amz-Signature"
        for value in values
    )
    query = "&".join(f"{quote(n, safe='-_.~')}={quote(v, safe='-_.~')}" for n, v in signed)
    canonical = AWSRequest(method=request.method, url=f"{request.url}?{query}")
    canonical.context["timestamp"] = link.signed_at.strftime("%Y%m%dT%H%M%SZ")
    auth = S3SigV4QueryAuth(keys, "s3", link.region, expires=int(link.lifetime.total_seconds()))
    to_sign = auth.string_to_sign(canonical, auth.canonical_request(canonical))
    if not hmac.compare_digest(auth.signature(to_sign, canonical), link.signature):
        raise LinkRefused(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided",
        )


def _one(query: Mapping[str, Sequence[str]], name: str) -> str:
    values = query.get(name) or [""]
    return values[0]
