"""The cooling table stays bounded however many addresses fail."""

from __future__ import annotations

from keytui.domain import VerifyCode
from keytui.gateway import cooling
from keytui.gateway.cooling import Cooling


def test_a_flood_from_many_addresses_keeps_the_tables_bounded(monkeypatch):
    monkeypatch.setattr(cooling, "MAX_TRACKED", 50)
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
