"""HMAC-SHA256 under one fixed key, with the key's padded states hashed once.

Verification computes three HMACs per call (the token's lookup digest and the key's and the
secret's row seals). With OpenSSL 3, `hmac.digest` sets up a new MAC context every call, which
costs about three times copying two SHA-256 states that have already absorbed the padded key.
The output is RFC 2104's HMAC, byte for byte (tests compare it with `hmac.digest` and with
RFC 4231's vectors); only the work of hashing the key is done once instead of every call.
"""

from __future__ import annotations

import hashlib

BLOCK = 64  # SHA-256's block size
_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class HmacSha256:
    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes):
        if len(key) > BLOCK:
            key = hashlib.sha256(key).digest()
        key = key.ljust(BLOCK, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def hexdigest(self, message: bytes) -> str:
        return self.digest(message).hex()
