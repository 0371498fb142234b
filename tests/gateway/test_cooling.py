"""The cooling rules with a clock the test moves: which failures count, the failure window, the
cooldown's length, IPv6 /64 blocks. (test_timing.py runs the same rules once in real time.)"""

from __future__ import annotations

import pytest

from keytui.domain import VerifyCode
from keytui.gateway import cooling as cooling_module
from keytui.gateway.cooling import Cooling

IP = "198.51.100.1"


class TestClock:
    __test__ = False

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock():
    return TestClock()


def cooling(clock, limit=3, window_s=60.0, cooldown_s=300.0) -> Cooling:
    return Cooling(limit, window_s, cooldown_s, clock=clock)


def fail(c: Cooling, times: int, ip: str = IP, code: VerifyCode = VerifyCode.NOT_FOUND) -> list[bool]:
    return [c.note(ip, code) for _ in range(times)]


def test_the_limit_th_failure_within_the_window_starts_a_cooldown_of_its_length(clock):
    c = cooling(clock)
    assert fail(c, 3) == [False, False, True]
    assert c.remaining(IP) == 300 and c.cooling_count() == 1
    clock.now += 299.5
    assert c.remaining(IP) == pytest.approx(0.5)
    clock.now += 0.5
    assert c.remaining(IP) == 0 and c.cooling_count() == 0


@pytest.mark.parametrize("code", [VerifyCode.NOT_FOUND, VerifyCode.EXPIRED, VerifyCode.REVOKED])
def test_unknown_expired_and_revoked_tokens_count(clock, code):
    assert fail(cooling(clock), 3, code=code)[-1] is True


@pytest.mark.parametrize("code", [VerifyCode.VALID, VerifyCode.WRONG_ENVIRONMENT, VerifyCode.SCOPE_MISMATCH,
                                  VerifyCode.IP_NOT_ALLOWED, VerifyCode.INSUFFICIENT_PERMISSION])
def test_a_valid_token_refused_for_its_settings_does_not_count(clock, code):
    c = cooling(clock)
    assert fail(c, 10, code=code) == [False] * 10 and c.remaining(IP) == 0


def test_a_failure_leaves_the_window_after_window_seconds(clock):
    c = cooling(clock)
    fail(c, 1)
    clock.now += 30
    fail(c, 1)
    clock.now += 30  # the first failure is now exactly 60 s old: outside the window
    assert fail(c, 1) == [False] and c.remaining(IP) == 0
    clock.now += 1  # three within 60 s: 30 s ago, 1 s ago and now
    assert fail(c, 1) == [True]


def test_after_a_cooldown_the_count_starts_again(clock):
    c = cooling(clock)
    fail(c, 3)
    clock.now += 300
    assert fail(c, 2) == [False, False] and c.remaining(IP) == 0
    assert fail(c, 1) == [True]


def test_addresses_are_counted_apart_but_ipv6_by_64_block(clock):
    c = cooling(clock)
    fail(c, 2, "198.51.100.1")
    assert fail(c, 1, "198.51.100.2") == [False]
    for n in range(3):
        fail(c, 1, f"2001:db8:1:1::{n + 1}")
    assert c.remaining("2001:db8:1:1::ffff") > 0 and c.remaining("2001:db8:1:2::1") == 0


@pytest.mark.parametrize("limit, cooldown_s", [(0, 300.0), (3, 0.0)], ids=["fail-limit 0", "cooldown 0"])
def test_a_limit_or_cooldown_of_zero_turns_cooling_off(clock, limit, cooldown_s):
    c = cooling(clock, limit=limit, cooldown_s=cooldown_s)
    assert not c.enabled and fail(c, 50) == [False] * 50 and c.remaining(IP) == 0


def test_a_flood_from_many_addresses_keeps_the_tables_bounded(monkeypatch):
    monkeypatch.setattr(cooling_module, "MAX_TRACKED", 50)
    now = [0.0]
    table = Cooling(limit=2, window_s=60, cooldown_s=300, clock=lambda: now[0])
    for n in range(500):
        ip = f"2001:db8:{n:x}::1"
        table.note(ip, VerifyCode.NOT_FOUND)
        table.note(ip, VerifyCode.NOT_FOUND)
        now[0] += 0.01
    assert table.cooling_count() <= 50 and len(table._until) <= 50
    assert len(table._failures) <= 50
    assert table.remaining("2001:db8:1f3::1") > 0  # the newest cooling periods are the ones kept
    assert all(len(q) <= 2 for q in table._failures.values())
