"""POST /v1/leaks: leak reports in the shape of GitHub's secret scanning partner program.

A report is a JSON list of {"token", "type", "url", "source"}, signed with ECDSA P-256 over
SHA-256 of the raw body: `Github-Public-Key-Signature` holds the base64 of the DER signature
and `Github-Public-Key-Identifier` names the key, one of those in the file given to
`keytui serve --leak-report-keys FILE`, shaped like GitHub's public key listing
({"public_keys": [{"key_identifier", "key" (PEM), "is_current"}]}). Only a report whose
signature checks reaches the store; replays are refused there (the service remembers each
handled body's digest).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from keytui.domain import InputError

KEY_ID_HEADER = "github-public-key-identifier"
SIGNATURE_HEADER = "github-public-key-signature"
MAX_BODY = 1024 * 1024
MAX_KEYS_FILE = 1024 * 1024
OUTCOMES = ("accepted", "unsigned", "unknown_key", "bad_signature", "replayed", "invalid")


class Refused(Exception):
    """A report that does not reach the store; `outcome` is its /metrics label."""

    def __init__(self, outcome: str, status: int, message: str):
        super().__init__(message)
        self.outcome, self.status, self.message = outcome, status, message


def load_keys(path: str) -> dict[str, ec.EllipticCurvePublicKey]:
    """The verification keys by identifier; InputError names what is wrong with the file."""
    field = "leak-report-keys"
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_KEYS_FILE + 1)
    except OSError as exc:
        raise InputError(field, f"cannot read {path}: {exc.strerror}") from None
    try:
        entries = json.loads(raw)["public_keys"] if len(raw) <= MAX_KEYS_FILE else None
    except (ValueError, TypeError, KeyError):
        entries = None
    if not isinstance(entries, list) or not entries:
        raise InputError(field, 'must be JSON like {"public_keys": [{"key_identifier": "...", "key": "-----BEGIN '
                                'PUBLIC KEY-----...", "is_current": true}]}')
    keys = {}
    for number, entry in enumerate(entries, 1):
        ident = entry.get("key_identifier") if isinstance(entry, dict) else None
        pem = entry.get("key") if isinstance(entry, dict) else None
        if not isinstance(ident, str) or not ident or not isinstance(pem, str):
            raise InputError(field, f"key {number} needs a key_identifier and a PEM key")
        try:
            key = serialization.load_pem_public_key(pem.encode())
        except (ValueError, TypeError):
            raise InputError(field, f"key {number} is not a PEM public key") from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise InputError(field, f"key {number} is not an ECDSA P-256 key")
        keys[ident] = key
    return keys


def check_signature(keys: dict, key_id: str | None, signature: str | None, body: bytes) -> None:
    """Raises Refused unless `signature` is a valid signature of `body` by the key named `key_id`."""
    if not key_id or not signature:
        raise Refused("unsigned", 401, "the report is not signed (Github-Public-Key-Identifier and "
                                       "Github-Public-Key-Signature are required)")
    key = keys.get(key_id)
    if key is None:
        raise Refused("unknown_key", 401, "the report is signed with a key this gateway does not know")
    try:
        key.verify(base64.b64decode(signature, validate=True), body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, binascii.Error, ValueError):
        raise Refused("bad_signature", 401, "the report's signature does not verify") from None


def parse(body: bytes):
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Refused("invalid", 400, "the report is not valid JSON") from None


class LeakCounters:
    """Reports by outcome, for /metrics."""

    def __init__(self):
        self.counts = Counter({outcome: 0 for outcome in OUTCOMES})

    def render(self) -> list[str]:
        name = "keytui_gateway_leak_reports_total"
        return [f"# HELP {name} Leak reports received, by outcome (refused ones included).",
                f"# TYPE {name} counter",
                *(f'{name}{{outcome="{o}"}} {n}' for o, n in sorted(self.counts.items()))]
