"""keytui.hmacs: the precomputed HMAC is RFC 2104's HMAC-SHA256, byte for byte, because stored
digests and seals written before it must still match."""

from __future__ import annotations

import hmac
import os

import pytest

from keytui.hmacs import HmacSha256
from keytui.tokens import Keyring

# RFC 4231, test cases 1, 2 and 6 (a key longer than the block is hashed first)
RFC4231 = [
    (b"\x0b" * 20, b"Hi There", "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?", "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
]


@pytest.mark.parametrize("key, message, expected", RFC4231)
def test_rfc4231_vectors(key, message, expected):
    assert HmacSha256(key).hexdigest(message) == expected


def test_same_as_the_standard_library_for_many_keys_and_messages_and_reusable():
    for n in range(200):
        key, message = os.urandom(n % 80), os.urandom(n * 7)
        mac = HmacSha256(key)
        assert mac.digest(message) == hmac.digest(key, message, "sha256")
        assert mac.digest(message) == hmac.digest(key, message, "sha256")  # no state carried between calls


def test_the_keyring_digest_and_seal_are_unchanged():
    keyring = Keyring(bytes(range(32)))
    token = "kt_dev_" + "A" * 33 + "_" + "B" * 6
    assert keyring.digest(token) == hmac.digest(keyring.pepper, token.encode(), "sha256").hex()
    assert keyring.seal("api_key v1", "key_1", None, 5) == hmac.digest(
        keyring.integrity_key, "api_key v1\x1fkey_1\x1f\x00\x1f5".encode(), "sha256").hex()
