"""The webhook signature: HMAC-SHA256 over `<timestamp>.<body>`, as Stripe and GitHub sign.

The sender puts the Unix time in `X-Modelplane-Timestamp` and `sha256=<hex>` in
`X-Modelplane-Signature`. Signing the timestamp with the body lets a receiver refuse a captured
request replayed later: `verify_signature` rejects a timestamp more than `tolerance` seconds
from the receiver's clock (5 minutes by default), and compares digests in constant time.
"""

from __future__ import annotations

import hashlib
import hmac

TIMESTAMP_HEADER = "X-Modelplane-Timestamp"
SIGNATURE_HEADER = "X-Modelplane-Signature"
MIN_SECRET_BYTES = 32
"""Shortest signing key accepted: 256 bits, the HMAC-SHA256 output size (RFC 2104 §3)."""


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The `X-Modelplane-Signature` value for `body` sent at `timestamp`."""
    digest = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def signature_headers(secret: bytes, timestamp: int, body: bytes) -> dict[str, str]:
    """The two headers a signed message carries."""
    return {TIMESTAMP_HEADER: str(timestamp), SIGNATURE_HEADER: sign(secret, timestamp, body)}


def verify_signature(
    secret: bytes,
    timestamp: str,
    body: bytes,
    header: str,
    now: float,
    tolerance: float = 300.0,
) -> bool:
    """Whether `header` signs `body` at `timestamp` with `secret`, within `tolerance` seconds
    of `now` (either side: a clock ahead of ours is as suspicious as a stale one)."""
    if not (timestamp.isascii() and timestamp.isdigit()) or abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, int(timestamp), body), header.strip())
