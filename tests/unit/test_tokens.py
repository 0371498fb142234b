"""The token format: base62 digits, the checksum, and what verification accepts."""

import random

import pytest

from keytui import tokens
from keytui.domain import Environment


def reference_base62(number: int, width: int) -> str:
    digits = ""
    while number:
        number, rem = divmod(number, 62)
        digits = tokens.ALPHABET[rem] + digits
    return digits.rjust(width, "0")


EDGES = [0, 1, 61, 62, 63, 3843, 3844, 3845, 62 ** 3 - 1, 62 ** 3, 62 ** 33 - 1, 2 ** 192 - 1, 2 ** 32 - 1]


@pytest.mark.parametrize("width", [0, 1, 2, 3, 6, 33])
def test_base62_writes_every_number_as_its_digits_padded_to_the_width(width):
    rng = random.Random(5)
    numbers = EDGES + [rng.getrandbits(bits) for bits in (8, 31, 32, 33, 191, 192) for _ in range(200)]
    for number in numbers:
        assert tokens.base62(number, width) == reference_base62(number, width), number


@pytest.mark.parametrize("env", list(Environment))
def test_a_new_token_has_the_documented_shape_and_passes_its_offline_check(env):
    for _ in range(200):
        token = tokens.generate(env)
        assert tokens.TOKEN_RE.match(token) and len(token) <= tokens.TOKEN_MAX
        assert tokens.token_environment(token) is env
        body, _, check = token.rpartition("_")
        flipped = check[:-1] + ("0" if check[-1] != "0" else "1")
        assert tokens.token_environment(f"{body}_{flipped}") is None
