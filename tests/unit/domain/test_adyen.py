"""Adyen's standard webhooks: an item passes only with Adyen's own signature, computed exactly as
Adyen's published examples compute it, and maps to the canonical event Drexfy's format carries."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.adyen import (
    ADYEN_ACCEPTED,
    CURRENCY_EXPONENTS,
    AdyenItem,
    canonical,
    hmac_signature,
    read_notification,
    signing_string,
)
from domain.webhooks import MAX_BODY_BYTES, PAYMENT_EVENTS, WebhookRejected

# Adyen's published test keys (see the vectors below); our own items are signed with the first.
DFB1_KEY = "DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00"
K4478_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"
K74F4_KEY = "74F490DD33F7327BAECC88B2947C011FC02D014A473AAA33A8EC93E4DC069174"
KEY = DFB1_KEY


def body_of(*items: dict[str, Any]) -> bytes:
    entries = [{"NotificationRequestItem": item} for item in items]
    return json.dumps({"live": "false", "notificationItems": entries}).encode()


def signed(item: dict[str, Any], key: str = KEY) -> dict[str, Any]:
    """The item as Adyen would send it: signed, the signature in additionalData."""
    item = copy.deepcopy(item)
    item.setdefault("additionalData", {})["hmacSignature"] = hmac_signature(key, item)
    return item


def raw_item(**fields: Any) -> dict[str, Any]:
    """A well-formed, unsigned NotificationRequestItem: a withdrawal's payout that was paid."""
    item: dict[str, Any] = {
        "pspReference": "8816178952380553",
        "merchantAccountCode": "DrexfyEU",
        "merchantReference": "wd-7f3a",
        "amount": {"value": 25000, "currency": "EUR"},
        "eventCode": "PAYOUT_THIRDPARTY",
        "eventDate": "2026-03-02T10:15:00+01:00",
        "success": "true",
        "additionalData": {},
    }
    item.update(fields)
    return item


def adyen_item(**fields: Any) -> AdyenItem:
    (item,) = read_notification(KEY, body_of(signed(raw_item(**fields))))
    return item


def refused(key: str, body: bytes) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as refusal:
        read_notification(key, body)
    assert refusal.value.reason
    return refusal.value


# ---------------------------------------------------------------------------------------------
# Adyen's published vectors: a key, an item and the signature Adyen's own code computes for it.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Vector:
    source: str
    key: str
    item: dict[str, Any]
    signature: str


PHP_AUTHORISATION = {
    "pspReference": "7914073381342284",
    "merchantAccountCode": "TestMerchant",
    "merchantReference": "TestPayment-1407325143704",
    "amount": {"value": 1130, "currency": "EUR"},
    "eventCode": "AUTHORISATION",
    "success": "true",
}
VECTORS = [
    # github.com/Adyen/adyen-php-api-library, tests/Adyen/Util/HmacSignatureTest.php,
    # testNotificationRequestItemHmac.
    Vector("php", DFB1_KEY, PHP_AUTHORISATION, "Ny9gS2veKo5E4w8/OL6xz1/wvT/hYkAXy1xNc/QvO4I="),
    # Same file, testHmacSignatureForRefundWithZeroValue.
    Vector(
        "php refund of zero",
        K4478_KEY,
        {**PHP_AUTHORISATION, "amount": {"value": 0, "currency": "EUR"}, "eventCode": "REFUND"},
        "J7HhsgZo5KwqdB7LFZJV6rfQgp+RqC2kuYyw/3x3w+8=",
    ),
    # github.com/Adyen/adyen-python-api-library, test/UtilTest.py,
    # test_notification_request_item_hmac (also Adyen/adyen-ruby-api-library,
    # spec/utils/hmac_validator_spec.rb: same key, item and signature).
    Vector(
        "python",
        K4478_KEY,
        {
            "pspReference": "7914073381342284",
            "merchantReference": "TestPayment-1407325143704",
            "merchantAccountCode": "TestMerchant",
            "amount": {"currency": "EUR", "value": 1130},
            "eventCode": "AUTHORISATION",
            "success": "true",
            "eventDate": "2019-05-06T17:15:34.121+02:00",
            "operations": ["CANCEL", "CAPTURE", "REFUND"],
            "paymentMethod": "visa",
        },
        "coqCmt/IZ4E3CzPvMY8zTjQVL5hYJUiBRg8UU+iCWo0=",
    ),
    # github.com/Adyen/adyen-node-api-library, src/__tests__/hmacValidator.spec.ts. Its eventDate
    # is `new Date("01-01-1970").toISOString()`; eventDate is not signed.
    Vector(
        "node",
        DFB1_KEY,
        {
            "pspReference": "pspReference",
            "originalReference": "originalReference",
            "merchantAccountCode": "merchantAccount",
            "merchantReference": "reference",
            "amount": {"currency": "EUR", "value": 1000},
            "eventCode": "CAPTURE",
            "eventDate": "1970-01-01T00:00:00.000Z",
            "paymentMethod": "VISA",
            "reason": "reason",
            "success": "true",
        },
        "xhpHvYq2u2Np0rstbZ6QjLGu7JWhvf7Iwaa6EviJSX0=",
    ),
    # github.com/Adyen/adyen-dotnet-api-library, Adyen.Test/Webhooks/HmacValidatorTest.cs,
    # TestNotificationRequestItemHmac (also Adyen/adyen-go-api-library,
    # src/hmacvalidator/hmacvalidator_test.go).
    Vector(
        "dotnet and go",
        DFB1_KEY,
        {
            "pspReference": "pspReference",
            "originalReference": "originalReference",
            "merchantAccountCode": "merchantAccount",
            "merchantReference": "reference",
            "amount": {"currency": "EUR", "value": 1000},
            "eventCode": "EVENT",
            "success": "true",
        },
        "ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc=",
    ),
    # Notifications Adyen's test platform really sent, references holding the separator and
    # backslashes (which are NOT escaped). github.com/Adyen/adyen-python-api-library,
    # test/mocks/util/colon_notification.json and forwardslash_notification.json, checked in
    # test/UtilTest.py test_webhooks_with_slashes (backslash_notification.json is further
    # down, whole). The signed fields as published; the unsigned additionalData entries omitted.
    Vector(
        "python colon",
        K74F4_KEY,
        {
            "amount": {"currency": "EUR", "value": 1000},
            "eventCode": "AUTHORISATION",
            "eventDate": "2023-01-10T13:40:54+01:00",
            "merchantAccountCode": "AntoniStroinski",
            "merchantReference": ":slashes are fun",
            "pspReference": "M8NB66SBZSGLNK82",
            "reason": "039404:1111:03/2030",
            "success": "true",
        },
        "2EQYm7YJpKO4EtHSPu55SQTyWf8dkW5u2nD1tJFpViA=",
    ),
    Vector(
        "python forward slash",
        K74F4_KEY,
        {
            "amount": {"value": 1000, "currency": "EUR"},
            "reason": "087330:1111:03/2030",
            "success": "true",
            "eventCode": "AUTHORISATION",
            "eventDate": "2023-01-10T13:37:30+01:00",
            "pspReference": "X3GWNS6KJ8NKGK82",
            "merchantReference": "//slashes are fun",
            "merchantAccountCode": "AntoniStroinski",
        },
        "9Z0xdpG9Xi3zcmXv14t/BvMBut77O/Xq9D4CQXSDUi4=",
    ),
    # github.com/Adyen/adyen-java-api-library,
    # src/test/resources/mocks/hmac-validation-webhook.json, checked in
    # src/test/java/com/adyen/util/HMACValidatorTest.java testValidateHMACWithoutEscaping.
    # Signed fields as published, as above.
    Vector(
        "java colon and backslash",
        K74F4_KEY,
        {
            "amount": {"currency": "EUR", "value": 1000},
            "eventCode": "AUTHORISATION",
            "eventDate": "2023-01-10T13:42:29+01:00",
            "merchantAccountCode": "AntoniStroinski",
            "merchantReference": "\\:/\\/slashes are fun",
            "pspReference": "ZVWN7D3WSMK2WN82",
            "reason": "052095:1111:03/2030",
            "success": "true",
        },
        "CZErGCNQaSsxbaQfZaJlakqo7KPP+mIa8a+wx3yNs9A=",
    ),
    # The same item re-signed under another key: github.com/Adyen/adyen-dotnet-api-library,
    # Adyen.Test/Webhooks/HmacValidatorTest.cs, TestColonAndBackslashHmacValidator.
    Vector(
        "dotnet colon and backslash",
        "AABBCCDDEEFFAABBCCDDEEFFAABBCCDDEEFFAABBCCDDEEFFAABBCCDDEEFFAABB",
        {
            "amount": {"currency": "EUR", "value": 1000},
            "eventCode": "AUTHORISATION",
            "eventDate": "2023-01-10T13:42:29+01:00",
            "merchantAccountCode": "AntoniStroinski",
            "merchantReference": "\\:/\\/slashes are fun",
            "pspReference": "ZVWN7D3WSMK2WN82",
            "reason": "052095:1111:03/2030",
            "success": "true",
        },
        "cyYGGNUYxRCIwmfET0zxNPQN/m9cKR6xNECwPzTfJIQ=",
    ),
]

# github.com/Adyen/adyen-python-api-library, test/mocks/util/backslash_notification.json, as
# published (checked in test/UtilTest.py test_webhooks_with_slashes with K74F4_KEY): a
# NotificationRequestItem Adyen's test platform sent.
BACKSLASH_ITEM = rb"""{
  "additionalData": {
    "acquirerCode": "TestPmmAcquirer",
    "acquirerReference": "DZMKWLXW6N6",
    "authCode": "076181",
    "avsResult": "5 No AVS data provided",
    "avsResultRaw": "5",
    "cardSummary": "1111",
    "checkout.cardAddedBrand": "visa",
    "cvcResult": "1 Matches",
    "cvcResultRaw": "M",
    "expiryDate": "03/2030",
    "hmacSignature": "nIgT81gaB5oJpn2jPXupDq68iRo2wUlBsuYjtYfwKqo=",
    "paymentMethod": "visa",
    "refusalReasonRaw": "AUTHORISED",
    "retry.attempt1.acquirer": "TestPmmAcquirer",
    "retry.attempt1.acquirerAccount": "TestPmmAcquirerAccount",
    "retry.attempt1.avsResultRaw": "5",
    "retry.attempt1.rawResponse": "AUTHORISED",
    "retry.attempt1.responseCode": "Approved",
    "retry.attempt1.scaExemptionRequested": "lowValue",
    "scaExemptionRequested": "lowValue"
  },
  "amount": {
    "currency": "EUR",
    "value": 1000
  },
  "eventCode": "AUTHORISATION",
  "eventDate": "2023-01-09T16:27:29+01:00",
  "merchantAccountCode": "AntoniStroinski",
  "merchantReference": "\\\\slashes are fun",
  "operations": [
    "CANCEL",
    "CAPTURE",
    "REFUND"
  ],
  "paymentMethod": "visa",
  "pspReference": "T7FD4VM4D3RZNN82",
  "reason": "076181:1111:03/2030",
  "success": "true"
}"""

# github.com/Adyen/adyen-dotnet-api-library, Adyen.Test/Mocks/notification-response-refund-fail.json
# (JSON as published, its tabs indented as spaces), valid under this key in
# Adyen.Test/Webhooks/HmacValidatorTest.cs TestHmacCalculationNotificationRequestWithSpecialChars.
DOTNET_KEY = "66B61474A0AA3736BA8789EDC6D6CD9EBA0C4F414A554E32A407F849C045C69D"
DOTNET_BODY = rb"""{
    "live": "false",
    "notificationItems": [{
        "NotificationRequestItem": {
            "additionalData": {
                "hmacSignature": "lQnzbwY09e5mwkC8YZozlHu5v\/2SFzAx6WRrvHx+3b8="
            },
            "amount": {
                "currency": "EUR",
                "value": 100
            },
            "eventCode": "CAPTURE",
            "eventDate": "2020-01-21T12:30:00+01:00",
            "merchantAccountCode": "DotNetAlexandros",
            "merchantReference": "UseqNbr006-orderId006\\\/",
            "originalReference": "TEST_CUSTOM_881578412007338A",
            "paymentMethod": "mc",
            "pspReference": "TEST_CUSTOM_881578412137072J",
            "reason": "sf",
            "success": "false"
        }
    }]
}"""


def wrapped(item: bytes) -> bytes:
    return b'{"live": "false", "notificationItems": [{"NotificationRequestItem": ' + item + b"}]}"


@pytest.mark.parametrize("vector", VECTORS, ids=[v.source for v in VECTORS])
def test_our_signature_is_adyens_published_one(vector: Vector) -> None:
    assert hmac_signature(vector.key, vector.item) == vector.signature


@pytest.mark.parametrize("vector", VECTORS, ids=[v.source for v in VECTORS])
def test_an_item_carrying_adyens_published_signature_is_accepted(vector: Vector) -> None:
    item = copy.deepcopy(vector.item)
    item["additionalData"] = {"hmacSignature": vector.signature}
    item.setdefault("eventDate", "2019-05-06T17:15:34+02:00")  # required by us, not signed
    (read,) = read_notification(vector.key, body_of(item))
    assert read.psp_reference == vector.item["pspReference"]
    assert read.merchant_reference == vector.item["merchantReference"]


def test_the_signing_strings_adyens_libraries_publish() -> None:
    # Adyen/adyen-ruby-api-library spec/utils/hmac_validator_spec.rb ("should get correct data")
    # and Adyen/adyen-node-api-library src/__tests__/hmacValidator.spec.ts.
    assert signing_string(PHP_AUTHORISATION) == (
        "7914073381342284::TestMerchant:TestPayment-1407325143704:1130:EUR:AUTHORISATION:true"
    )
    node = next(v for v in VECTORS if v.source == "node")
    assert signing_string(node.item) == (
        "pspReference:originalReference:merchantAccount:reference:1000:EUR:CAPTURE:true"
    )


# github.com/Adyen/adyen-java-api-library, src/test/java/com/adyen/util/HMACValidatorTest.java
# (testValidateHMAC, testValidateHMACMissingOptionalField); its JSON gives the value as "0".
JAVA_KEY = "9064450A8892A093D9E97EFCC9639DE31B74F3A7803135555A3C96F5A57915D6"
JAVA_REPORT = {
    "additionalData": {"hmacSignature": "NuEkADFmlCC6VgX+wcoPAegIWxVPNBPCuKlM4Hzo5qc="},
    "amount": {"currency": "EUR", "value": "0"},
    "eventCode": "REPORT_AVAILABLE",
    "eventDate": "2019-11-20T14:35:36+01:00",
    "merchantAccountCode": "Magento2Rik",
    "merchantReference": "testMerchantRef1",
    "pspReference": "test_REPORT_AVAILABLE",
    "reason": "will contain the url to the report",
    "success": "true",
}


def test_adyens_java_vector_signs_alike_and_its_report_is_acknowledged_and_ignored() -> None:
    assert hmac_signature(JAVA_KEY, JAVA_REPORT) == "NuEkADFmlCC6VgX+wcoPAegIWxVPNBPCuKlM4Hzo5qc="
    without_amount = {k: v for k, v in JAVA_REPORT.items() if k != "amount"}
    assert signing_string(without_amount) == (
        "test_REPORT_AVAILABLE::Magento2Rik:testMerchantRef1:::REPORT_AVAILABLE:true"
    )
    # Adyen sends the value as a JSON number: 0 signs exactly as "0" did.
    as_sent = {**JAVA_REPORT, "amount": {"currency": "EUR", "value": 0}}
    (report,) = read_notification(JAVA_KEY, body_of(as_sent))
    assert canonical(report) is None


def test_a_notification_adyen_sent_is_read_whole_from_its_published_bytes() -> None:
    (item,) = read_notification(K74F4_KEY, wrapped(BACKSLASH_ITEM))
    assert item.merchant_reference == "\\\\slashes are fun"
    assert item.amount == Decimal("10.00") and item.currency == "EUR"
    assert item.success is True and item.event_code == "AUTHORISATION"
    assert item.reason == "076181:1111:03/2030"
    assert item.additional_data["authCode"] == "076181"
    assert item.event_date == "2023-01-09T16:27:29+01:00"
    assert item.original_reference is None
    assert item.claim == "adyen:T7FD4VM4D3RZNN82:AUTHORISATION:true"


def test_adyens_published_failed_capture_body_is_accepted_and_ignored() -> None:
    (item,) = read_notification(DOTNET_KEY, DOTNET_BODY)
    assert item.merchant_reference == "UseqNbr006-orderId006\\/"
    assert item.original_reference == "TEST_CUSTOM_881578412007338A"
    assert (item.event_code, item.success, item.amount) == ("CAPTURE", False, Decimal("1.00"))
    assert canonical(item) is None
    with pytest.raises(WebhookRejected) as refusal:
        read_notification(KEY, DOTNET_BODY)
    assert refusal.value.code == "bad_signature"


def test_adyens_signature_leaves_additional_data_out() -> None:
    """So Drexfy reads nothing it relies on from there: a payment's attribution is in the
    signed merchantReference."""
    item = json.loads(BACKSLASH_ITEM)
    item["additionalData"]["metadata.units"] = "999"
    (read,) = read_notification(K74F4_KEY, body_of(item))
    assert read.additional_data["metadata.units"] == "999"


# ---------------------------------------------------------------------------------------------
# Mapping to Drexfy's canonical events, on Adyen's published example bodies where there are some.
# ---------------------------------------------------------------------------------------------

ATTRIBUTED = "inv-42/DRX-SME-2026-A/3"  # <investor>/<instrument>/<units>, as Drexfy sets it


def test_an_authorisation_is_a_payment_attributed_from_its_signed_merchant_reference() -> None:
    item = json.loads(BACKSLASH_ITEM)  # Adyen's published item, Drexfy's reference, re-signed
    item["merchantReference"] = ATTRIBUTED
    (payment,) = read_notification(KEY, body_of(signed(item)))
    expected = {
        "payment_id": "T7FD4VM4D3RZNN82",
        "investor_id": "inv-42",
        "instrument_id": "DRX-SME-2026-A",
        "units": 3,
        "amount": "10.00",
        "currency": "EUR",
    }
    assert canonical(payment) == ("payment.succeeded", expected)
    # what is not signed changes nothing; what is, breaks the signature
    item["additionalData"]["metadata.investor_id"] = "inv-thief"
    (again,) = read_notification(KEY, body_of(signed(item)))
    assert canonical(again) == ("payment.succeeded", expected)
    tampered = signed(item)
    tampered["merchantReference"] = "inv-thief/DRX-SME-2026-A/3"
    assert refused(KEY, body_of(tampered)).code == "bad_signature"


# github.com/Adyen/adyen-node-api-library, src/__mocks__/notification/authorisationTrue.json,
# refundTrue.json and refundFalse.json: the items as published. The key they were signed with
# is not published, so these are signed again with KEY (only hmacSignature differs).
NODE_AUTHORISATION = {
    "additionalData": {
        "expiryDate": "12/2012",
        " NAME1 ": "VALUE1",
        "authCode": "1234",
        "cardSummary": "7777",
        "totalFraudScore": "10",
        "NAME2": "  VALUE2  ",
        "fraudCheck-6-ShopperIpUsage": "10",
    },
    "amount": {"currency": "EUR", "value": 10100},
    "eventCode": "AUTHORISATION",
    "eventDate": "2017-01-19T16:42:03+01:00",
    "merchantAccountCode": "MagentoMerchantTest2",
    "merchantReference": "8313842560770001",
    "operations": ["CANCEL", "CAPTURE", "REFUND"],
    "paymentMethod": "visa",
    "pspReference": "123456789",
    "reason": "1234:7777:12/2012",
    "success": "true",
}
NODE_REFUND_TRUE = {
    "amount": {"currency": "EUR", "value": 1500},
    "eventCode": "REFUND",
    "eventDate": "2017-02-17T11:11:44+01:00",
    "merchantAccountCode": "MagentoMerchantTest2",
    "merchantReference": "payment-2017-1-17-11-refund",
    "originalReference": "ORIGINAL_PSP",
    "paymentMethod": "visa",
    "pspReference": "PSP_REFERENCE",
    "reason": "",
    "success": "true",
}
NODE_REFUND_FALSE = {
    **NODE_REFUND_TRUE,
    "eventDate": "2017-02-17T11:04:07+01:00",
    "reason": "Insufficient balance on payment",
    "success": "false",
}


def test_a_published_refund_is_a_refund_that_succeeded_or_failed() -> None:
    succeeded, failed = read_notification(
        KEY, body_of(signed(NODE_REFUND_TRUE), signed(NODE_REFUND_FALSE))
    )
    assert canonical(succeeded) == (
        "refund.succeeded",
        {
            "refund_id": "PSP_REFERENCE",
            "purchase_id": "payment-2017-1-17-11-refund",
            "amount": "15.00",
            "currency": "EUR",
            "occurred_at": "2017-02-17T11:11:44+01:00",
        },  # Adyen's reason "" is no reason: the key is left out
    )
    assert canonical(failed) == (
        "refund.failed",
        {
            "refund_id": "PSP_REFERENCE",
            "purchase_id": "payment-2017-1-17-11-refund",
            "amount": "15.00",
            "currency": "EUR",
            "occurred_at": "2017-02-17T11:04:07+01:00",
            "reason": "Insufficient balance on payment",
        },
    )
    assert succeeded.claim != failed.claim


def test_a_payment_drexfy_cannot_attribute_is_refused_not_ignored() -> None:
    (payment,) = read_notification(KEY, body_of(signed(NODE_AUTHORISATION)))
    with pytest.raises(WebhookRejected) as refusal:
        canonical(payment)
    assert (refusal.value.status, refusal.value.code) == (422, "invalid")
    assert "merchantReference" in refusal.value.reason and "123456789" in refusal.value.reason


@pytest.mark.parametrize(
    ("reference", "says"),
    [
        ("inv-42/DRX-SME-2026-A", "is not <investor_id>/<instrument_id>/<units>"),
        ("inv-42/DRX/3/x", "is not <investor_id>/<instrument_id>/<units>"),
        ("/DRX/3", "not one"),
        ("inv 42/DRX/3", "not one"),
        ("inv-42/DRX/0", "not a positive whole number"),
        ("inv-42/DRX/-1", "not a positive whole number"),
        ("inv-42/DRX/1.5", "not a positive whole number"),
        ("inv-42/DRX/03", "not a positive whole number"),
        ("inv-42/DRX/" + "1" * 10, "not a positive whole number"),
    ],
)
def test_an_authorisation_drexfy_cannot_attribute_is_refused_saying_why(
    reference: str, says: str
) -> None:
    payment = adyen_item(eventCode="AUTHORISATION", merchantReference=reference)
    with pytest.raises(WebhookRejected) as refusal:
        canonical(payment)
    assert (refusal.value.status, refusal.value.code) == (422, "invalid")
    assert says in refusal.value.reason and repr(reference) in refusal.value.reason


def test_a_refused_authorisation_is_acknowledged_and_ignored() -> None:
    refused_payment = adyen_item(
        eventCode="AUTHORISATION", success="false", merchantReference=ATTRIBUTED
    )
    assert canonical(refused_payment) is None
    assert canonical(replace(refused_payment, merchant_reference="anything")) is None


@pytest.mark.parametrize(
    ("event_code", "success", "event"),
    [
        ("PAYOUT_THIRDPARTY", "true", "payout.paid"),
        ("PAYOUT_THIRDPARTY", "false", "payout.failed"),
        ("PAYOUT_DECLINE", "true", "payout.failed"),
        ("PAYOUT_DECLINE", "false", "payout.failed"),
        ("PAYOUT_EXPIRE", "true", "payout.failed"),
        ("PAIDOUT_REVERSED", "true", "payout.returned"),
    ],
)
def test_what_became_of_a_payout(event_code: str, success: str, event: str) -> None:
    payout = adyen_item(eventCode=event_code, success=success, reason="Account closed")
    assert canonical(payout) == (
        event,
        {
            "payout_id": "8816178952380553",
            "withdrawal_id": "wd-7f3a",
            "amount": "250.00",
            "currency": "EUR",
            "occurred_at": "2026-03-02T10:15:00+01:00",
            "reason": "Account closed",
        },
    )
    assert event in PAYMENT_EVENTS


@pytest.mark.parametrize(
    ("event_code", "success", "event"),
    [
        ("REFUND", "true", "refund.succeeded"),
        ("REFUND", "false", "refund.failed"),
        ("REFUND_FAILED", "true", "refund.failed"),
        ("REFUNDED_REVERSED", "true", "refund.failed"),
    ],
)
def test_what_became_of_a_refund(event_code: str, success: str, event: str) -> None:
    refund = adyen_item(eventCode=event_code, success=success, merchantReference="pur-19")
    assert canonical(refund) == (
        event,
        {
            "refund_id": "8816178952380553",
            "purchase_id": "pur-19",
            "amount": "250.00",
            "currency": "EUR",
            "occurred_at": "2026-03-02T10:15:00+01:00",
        },
    )
    assert event in PAYMENT_EVENTS


@pytest.mark.parametrize(
    ("event_code", "success"),
    [
        ("CAPTURE", "true"),
        ("CANCELLATION", "true"),
        ("CHARGEBACK", "true"),
        ("REPORT_AVAILABLE", "true"),
        ("OFFER_CLOSED", "true"),
        ("PENDING", "true"),
        ("REFUND_WITH_DATA", "true"),
        ("AUTHORISATION", "false"),
        ("authorisation", "true"),
    ],
)
def test_other_events_are_acknowledged_and_ignored(event_code: str, success: str) -> None:
    assert canonical(adyen_item(eventCode=event_code, success=success)) is None
    assert ADYEN_ACCEPTED == "[accepted]"


def test_the_claim_is_what_adyen_tells_notifications_apart_by() -> None:
    assert adyen_item().claim == "adyen:8816178952380553:PAYOUT_THIRDPARTY:true"
    assert adyen_item(success="false").claim == "adyen:8816178952380553:PAYOUT_THIRDPARTY:false"


# ---------------------------------------------------------------------------------------------
# Amounts: minor units to major, exactly.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "currency", "amount", "text"),
    [
        (1, "EUR", Decimal("0.01"), "0.01"),
        (10000, "EUR", Decimal("100"), "100.00"),
        (999, "GBP", Decimal("9.99"), "9.99"),
        (500, "JPY", Decimal("500"), "500"),
        (1, "BHD", Decimal("0.001"), "0.001"),
        (0, "USD", Decimal("0"), "0.00"),
        (10**30 + 1, "CHF", Decimal("10000000000000000000000000000.01"), None),
    ],
)
def test_minor_units_become_the_amount_exactly(
    value: int, currency: str, amount: Decimal, text: str | None
) -> None:
    payout = adyen_item(amount={"value": value, "currency": currency})
    assert payout.amount == amount
    result = canonical(payout)
    assert result is not None
    assert result[1]["amount"] == (text or str(amount))


@given(st.integers(min_value=0, max_value=10**20), st.sampled_from(sorted(CURRENCY_EXPONENTS)))
def test_any_amount_converts_exactly(value: int, currency: str) -> None:
    payout = adyen_item(amount={"value": value, "currency": currency})
    exponent = CURRENCY_EXPONENTS[currency]
    assert payout.amount * 10**exponent == value
    result = canonical(payout)
    assert result is not None
    text = result[1]["amount"]
    assert Decimal(text) == payout.amount
    assert len(text.partition(".")[2]) == exponent


# ---------------------------------------------------------------------------------------------
# Only Adyen's signature over exactly these fields passes.
# ---------------------------------------------------------------------------------------------

references = st.text(min_size=1, max_size=40)
events = st.sampled_from(["AUTHORISATION", "REFUND", "PAYOUT_THIRDPARTY", "CAPTURE", "NEW_CODE"])
items = st.fixed_dictionaries(
    {
        "pspReference": references,
        "merchantAccountCode": references,
        "merchantReference": references,
        "amount": st.fixed_dictionaries(
            {
                "value": st.integers(min_value=0, max_value=10**12),
                "currency": st.sampled_from(sorted(CURRENCY_EXPONENTS)),
            }
        ),
        "eventCode": events,
        "eventDate": st.just("2026-03-02T10:15:00+01:00"),
        "success": st.sampled_from(["true", "false"]),
    },
    optional={"originalReference": references, "reason": references},
)
SIGNED_FIELDS = [
    "pspReference",
    "originalReference",
    "merchantAccountCode",
    "merchantReference",
    "amount.value",
    "amount.currency",
    "eventCode",
    "success",
]


@given(items)
def test_an_item_signed_with_the_key_is_read_as_sent(raw: dict[str, Any]) -> None:
    (item,) = read_notification(KEY, body_of(signed(raw)))
    assert item.psp_reference == raw["pspReference"]
    assert item.merchant_reference == raw["merchantReference"]
    assert item.original_reference == raw.get("originalReference")
    assert item.success is (raw["success"] == "true")
    assert item.currency == raw["amount"]["currency"]


def changed(item: dict[str, Any], field: str, data: st.DataObject) -> dict[str, Any]:
    """The item with one signed field given another value that is itself well-formed."""
    item = copy.deepcopy(item)
    holder, name = (item["amount"], field[7:]) if field.startswith("amount.") else (item, field)
    was = holder.get(name)
    if name == "success":
        holder[name] = "false" if was == "true" else "true"
    elif name == "currency":
        holder[name] = data.draw(st.sampled_from(sorted(set(CURRENCY_EXPONENTS) - {was})))
    elif name == "value":
        holder[name] = data.draw(st.integers(min_value=0).filter(lambda v: v != was))
    elif name == "eventCode":
        holder[name] = data.draw(events.filter(lambda code: code != was))
    else:
        holder[name] = data.draw(references.filter(lambda text: text != was))
    return item


@given(items, st.sampled_from(SIGNED_FIELDS), st.data())
def test_changing_any_signed_field_breaks_the_signature(
    raw: dict[str, Any], field: str, data: st.DataObject
) -> None:
    tampered = changed(signed(raw), field, data)
    assert refused(KEY, body_of(tampered)).code == "bad_signature"


@given(items)
def test_another_key_does_not_pass(raw: dict[str, Any]) -> None:
    assert refused(KEY, body_of(signed(raw, K4478_KEY))).code == "bad_signature"


def test_the_key_is_hex_in_either_case() -> None:
    assert hmac_signature(KEY.lower(), PHP_AUTHORISATION) == hmac_signature(KEY, PHP_AUTHORISATION)


@pytest.mark.parametrize("key", ["not-hex", "ABC", "", "DFB1EB54 85Z9"])
def test_a_key_that_is_not_hex_is_the_deployments_fault(key: str) -> None:
    with pytest.raises(ValueError):
        read_notification(key, body_of(signed(raw_item())))
    with pytest.raises(ValueError):  # whatever the request: the fault shows on the first one
        read_notification(key, b"x" * (MAX_BODY_BYTES + 1))


# ---------------------------------------------------------------------------------------------
# Refusals, each with its status and code; a body is taken whole or not at all.
# ---------------------------------------------------------------------------------------------


def drop(*path: str) -> Callable[[dict[str, Any]], None]:
    def edit(item: dict[str, Any]) -> None:
        holder = item
        for name in path[:-1]:
            holder = holder[name]
        del holder[path[-1]]

    return edit


def put(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(item: dict[str, Any]) -> None:
        item[name] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (drop("pspReference"), "pspReference"),
        (drop("merchantAccountCode"), "merchantAccountCode"),
        (drop("merchantReference"), "merchantReference"),
        (drop("eventCode"), "eventCode"),
        (drop("eventDate"), "eventDate"),
        (drop("success"), "success"),
        (drop("amount"), "amount"),
        (drop("amount", "value"), "amount.value"),
        (drop("amount", "currency"), "amount.currency"),
        (put("pspReference", ""), "pspReference"),
        (put("merchantReference", 42), "merchantReference"),
        (put("success", "True"), "success"),
        (put("success", True), "success"),
        (put("amount", [1000, "EUR"]), "amount"),
        (put("amount", {"value": 10.5, "currency": "EUR"}), "amount.value"),
        (put("amount", {"value": True, "currency": "EUR"}), "amount.value"),
        (put("amount", {"value": "1000", "currency": "EUR"}), "amount.value"),
        (put("amount", {"value": 1000, "currency": "XYZ"}), "amount.currency"),
        (put("amount", {"value": 1000, "currency": "eur"}), "amount.currency"),
        (put("amount", {"value": 1000, "currency": ["EUR"]}), "amount.currency"),
        (put("eventDate", "yesterday"), "eventDate"),
        (put("reason", 7), "reason"),
        (put("originalReference", {"psp": "x"}), "originalReference"),
    ],
)
def test_a_signed_item_missing_or_misshaping_a_field_is_invalid(
    edit: Callable[[dict[str, Any]], None], field: str
) -> None:
    item = raw_item()
    edit(item)
    refusal = refused(KEY, body_of(signed(item)))
    assert (refusal.status, refusal.code) == (422, "invalid")
    assert f"notificationItems[0].{field} " in refusal.reason


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"x" * (MAX_BODY_BYTES + 1), 413, "too_large"),
        (b"", 400, "not_json"),
        (b"{'live': 'false'}", 400, "not_json"),
        (b"\xff\xfe\x00", 400, "not_json"),
        (b"[" * 100_000, 400, "not_json"),
        (b"[]", 400, "not_an_object"),
        (b'"[accepted]"', 400, "not_an_object"),
        (b"{}", 422, "invalid"),
        (b'{"live": "false", "notificationItems": []}', 422, "invalid"),
        (b'{"live": "false", "notificationItems": {}}', 422, "invalid"),
        (b'{"notificationItems": ["item"]}', 422, "invalid"),
        (b'{"notificationItems": [{"NotificationRequestItem": []}]}', 422, "invalid"),
        (b'{"notificationItems": [{"notificationRequestItem": {}}]}', 422, "invalid"),
    ],
    ids=[
        "too large",
        "empty",
        "not json",
        "not utf",
        "too deep",
        "a list",
        "a string",
        "no items",
        "empty items",
        "items not a list",
        "item not an object",
        "request item not an object",
        "request item misnamed",
    ],
)
def test_a_body_that_is_not_a_notification_says_why(body: bytes, status: int, code: str) -> None:
    refusal = refused(KEY, body)
    assert (refusal.status, refusal.code) == (status, code)


@pytest.mark.parametrize(
    "additional_data",
    [None, {}, {"hmacSignature": ""}, {"hmacSignature": None}, "hmacSignature", {"hmac": "x"}],
)
def test_an_item_without_a_signature_is_unsigned(additional_data: Any) -> None:
    item = raw_item(additionalData=additional_data)
    if additional_data is None:
        del item["additionalData"]
    refusal = refused(KEY, body_of(item))
    assert (refusal.status, refusal.code) == (401, "unsigned")


@pytest.mark.parametrize(
    "signature",
    ["AAAA", "Ny9gS2veKo5E4w8/OL6xz1/wvT/hYkAXy1xNc/QvO4I=", "é\ud800", "x" * 10_000],
)
def test_an_item_with_a_wrong_signature_is_refused(signature: str) -> None:
    item = raw_item(additionalData={"hmacSignature": signature})
    refusal = refused(
        KEY, json.dumps({"notificationItems": [{"NotificationRequestItem": item}]}).encode()
    )
    assert (refusal.status, refusal.code) == (401, "bad_signature")


def test_an_item_is_judged_by_its_signature_before_its_shape() -> None:
    unsigned_and_empty = refused(KEY, body_of({"success": "maybe"}))
    assert unsigned_and_empty.code == "unsigned"


def test_additional_data_is_kept_as_text() -> None:
    item = adyen_item(additionalData={"totalFraudScore": "10", "n": 1, "flag": True, "o": {}})
    kept = {k: v for k, v in item.additional_data.items() if k != "hmacSignature"}
    assert kept == {"totalFraudScore": "10", "n": "1", "flag": "true", "o": "{}"}


def test_all_items_are_read_in_order() -> None:
    first, second = raw_item(pspReference="A1"), raw_item(pspReference="B2", success="false")
    read = read_notification(KEY, body_of(signed(first), signed(second)))
    assert [(item.psp_reference, item.success) for item in read] == [("A1", True), ("B2", False)]


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        ({"additionalData": {"hmacSignature": "AAAA"}}, "bad_signature"),
        ({"additionalData": {}}, "unsigned"),
        ({"amount": {"value": 1, "currency": "XXX"}}, "invalid"),
    ],
)
def test_one_bad_item_refuses_the_whole_body(bad: dict[str, Any], code: str) -> None:
    good = signed(raw_item(pspReference="A1"))
    bad_item = raw_item(pspReference="B2", **bad)
    if code == "invalid":
        bad_item = signed(bad_item)
    refusal = refused(KEY, body_of(good, bad_item, signed(raw_item(pspReference="C3"))))
    assert refusal.code == code
    assert "notificationItems[1]" in refusal.reason
