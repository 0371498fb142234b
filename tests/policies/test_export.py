"""Export Registry: every registry column plus environment and permissions, never a secret."""

import csv
import io
import json

import pytest

from keytui.service import orgpolicy
from keytui.domain import InputError
from keytui.service.export import COLUMNS, export_registry
from keytui.store.models import KeySecret


pytestmark = pytest.mark.usefixtures("store")

@pytest.fixture
def registry(vault, clock, make):
    live = make("Agents Execution Key", env="production", perms=("read", "write"), days=60,
               ip_allowlist=["10.0.0.0/8", "192.168.1.7"])
    vault.verify(live.token, "production", ip="10.1.2.3")
    gone = make("Leaked Key", env="development")
    vault.revoke(gone.key.key_id, "pasted in chat")
    old = make("GitHub Sync Key", scope="integrations", env="staging", days=30)
    orgpolicy.apply(vault.ctx, '[environments.staging]\nrequire_ip_restriction = true\n')
    clock.advance(days=31)
    return {"live": live, "gone": gone, "old": old}


def secrets_of(vault, issued):
    ciphertexts = [bytes(s.ciphertext).hex() for s in KeySecret.select()]
    return [i.token for i in issued.values()] + [vault.ctx.keyring.digest(i.token) for i in issued.values()] + ciphertexts


def test_json_export_holds_every_column_and_judged_status(vault, registry):
    out = io.StringIO()
    assert export_registry(vault.ctx, "json", out) == 3
    rows = {r["name"]: r for r in json.loads(out.getvalue())}
    assert all(list(r) == COLUMNS for r in rows.values())
    live = rows["Agents Execution Key"]
    assert (live["status"], live["environment"], live["permissions"], live["ip_allowlist"]) == (
        "active", "production", ["read", "write"], ["10.0.0.0/8", "192.168.1.7"])
    assert live["last_used_at"] == registry["live"].key.created_at.isoformat()
    assert live["key_id"] == registry["live"].key.key_id and live["owner"] == "alice"
    assert rows["Leaked Key"]["status"] == "revoked"
    assert rows["GitHub Sync Key"]["status"] == "expired"  # by time, before any watch pass
    assert "IP restriction" in rows["GitHub Sync Key"]["policy_violation"]
    assert not any(secret in out.getvalue() for secret in secrets_of(vault, registry))


def test_csv_export_matches_and_is_audited(vault, registry):
    out = io.StringIO()
    export_registry(vault.ctx, "csv", out, destination="registry.csv")
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["name"] for r in rows] == ["Agents Execution Key", "Leaked Key", "GitHub Sync Key"]
    assert rows[0]["permissions"] == "read,write" and rows[0]["ip_allowlist"] == "10.0.0.0/8,192.168.1.7"
    assert not any(secret in out.getvalue() for secret in secrets_of(vault, registry))
    entry = vault.audit_entries(limit=1)[0]
    assert (entry["action"], entry["details"]) == ("registry.export",
                                                   {"format": "csv", "keys": 3, "destination": "registry.csv"})


def test_unknown_format_is_refused(vault):
    with pytest.raises(InputError, match="allowed: csv, json"):
        export_registry(vault.ctx, "xml", io.StringIO())
