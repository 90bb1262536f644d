"""The webhook signature and the receivers' check (pure)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from modelplane_operator.alerts import sign, verify_signature

SECRET = b"k" * 32
BODY = b'{"id":"drift:uid:2026-12-07T15:00:00Z"}'
NOW = 1_796_655_600


def test_the_signature_is_hmac_sha256_over_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET, f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, NOW, BODY) == f"sha256={expected}"


def test_a_fresh_signature_verifies() -> None:
    assert verify_signature(SECRET, str(NOW), BODY, sign(SECRET, NOW, BODY), now=NOW + 10)


@pytest.mark.parametrize(
    ("secret", "timestamp", "body", "now"),
    [
        (SECRET, str(NOW), BODY + b" ", NOW),  # tampered body
        (b"x" * 32, str(NOW), BODY, NOW),  # another key
        (SECRET, str(NOW + 1), BODY, NOW),  # timestamp swapped after signing
        (SECRET, str(NOW), BODY, NOW + 301),  # replayed after the tolerance
        (SECRET, str(NOW), BODY, NOW - 301),  # from a clock far ahead
        (SECRET, "-1", BODY, NOW),
        (SECRET, "", BODY, NOW),
    ],
)
def test_anything_else_fails_verification(
    secret: bytes, timestamp: str, body: bytes, now: int
) -> None:
    header = sign(SECRET, NOW, BODY)
    assert not verify_signature(secret, timestamp, body, header, now=now)


def test_the_tolerance_is_the_receivers_choice() -> None:
    header = sign(SECRET, NOW, BODY)
    assert verify_signature(SECRET, str(NOW), BODY, header, now=NOW + 900, tolerance=1000)
    assert not verify_signature(SECRET, str(NOW), BODY, header, now=NOW + 61, tolerance=60)
