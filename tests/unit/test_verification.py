"""Every verification code, what each call records, and that a malformed token never reaches the database."""

from __future__ import annotations

import pytest

from keytui import tokens
from keytui.clock import from_ms
from keytui.domain import CANARY_CODE, Environment, InputError, VerifyCode
from keytui.store.models import ActivityEvent


pytestmark = pytest.mark.usefixtures("store")

@pytest.fixture
def agents_key(make_key):
    return make_key(permissions=("read", "write"), ip_allowlist=["10.0.0.0/8", "2001:db8::/32"])


def test_valid_token_verifies_with_its_key(vault, agents_key):
    result = vault.verify(agents_key.token, "sandbox", "write", "agents", "10.1.2.3", "agents")
    assert result.valid and result.code is VerifyCode.VALID
    assert result.key_id == agents_key.key.key_id
    assert result.permissions == ("read", "write")


@pytest.mark.parametrize("ask, expected", [
    (dict(environment="production", ip="10.1.2.3"), VerifyCode.WRONG_ENVIRONMENT),
    (dict(ip="192.0.2.1"), VerifyCode.IP_NOT_ALLOWED),
    (dict(ip=None), VerifyCode.IP_NOT_ALLOWED),
    (dict(ip="2001:db8::7"), VerifyCode.VALID),
    (dict(ip="10.1.2.3", permission="execute"), VerifyCode.INSUFFICIENT_PERMISSION),
    (dict(ip="10.1.2.3", permission="admin"), VerifyCode.INSUFFICIENT_PERMISSION),
    (dict(ip="10.1.2.3", scope="workflows"), VerifyCode.SCOPE_MISMATCH),
    (dict(environment="sbx", ip="10.1.2.3", scope="agents", permission="read"), VerifyCode.VALID),
])
def test_denials_name_the_check_that_failed(vault, agents_key, ask, expected):
    ask = {"environment": "sandbox", **ask}
    result = vault.verify(agents_key.token, **ask)
    assert result.code is expected
    assert result.valid is (expected is VerifyCode.VALID)


def test_admin_implies_read_write_and_execute(vault, make_key, mfa_code):
    admin = make_key(permissions=("admin",), totp=mfa_code())
    for permission in ("read", "write", "execute", "admin"):
        assert vault.verify(admin.token, "sandbox", permission).code is VerifyCode.VALID


def test_execute_does_not_imply_admin(vault, make_key, mfa_code):
    runner = make_key(permissions=("execute",), totp=mfa_code())
    assert vault.verify(runner.token, "sandbox", "execute").code is VerifyCode.VALID
    assert vault.verify(runner.token, "sandbox", "admin").code is VerifyCode.INSUFFICIENT_PERMISSION
    assert vault.verify(runner.token, "sandbox", "read").code is VerifyCode.INSUFFICIENT_PERMISSION


def test_expired_and_revoked_keys_are_refused(vault, make_key, clock):
    expiring = make_key("Expiring", expires_in_days=30)
    revoked = make_key("Revoked")
    vault.revoke(revoked.key.key_id)
    assert vault.verify(revoked.token, "sandbox").code is VerifyCode.REVOKED
    clock.advance(days=30)
    assert vault.verify(expiring.token, "sandbox").code is VerifyCode.EXPIRED


def test_an_unknown_well_formed_token_is_not_found(vault, agents_key):
    result = vault.verify(tokens.generate(Environment.SANDBOX), "sandbox")
    assert result.code is VerifyCode.NOT_FOUND and not result.valid and result.key_id is None


def with_bad_checksum(token: str) -> str:
    last = "0" if token[-1] != "0" else "1"
    return token[:-1] + last


@pytest.mark.sqlite_only
@pytest.mark.parametrize("mangle", [
    lambda t: "hello",
    lambda t: "",
    lambda t: t[:-2],
    lambda t: t.replace("kt_sbx_", "kt_xyz_"),
    lambda t: t + " ",
    with_bad_checksum,
], ids=["garbage", "empty", "truncated", "unknown-env-tag", "trailing-space", "bad-checksum"])
def test_a_malformed_token_is_not_found_without_a_database_lookup(vault, agents_key, sql_trace, mangle):
    result = vault.verify(mangle(agents_key.token), "sandbox", ip="10.1.2.3")
    assert result.code is VerifyCode.NOT_FOUND
    assert not [s for s in sql_trace if "digest" in s], "a malformed token was looked up"
    event = ActivityEvent.select().order_by(ActivityEvent.id.desc()).get()
    assert (event.key_id, event.status, event.code) == (None, "failed", "NOT_FOUND")


@pytest.mark.sqlite_only
def test_a_well_formed_token_is_looked_up_by_digest_only(vault, agents_key, sql_trace):
    vault.verify(agents_key.token, "sandbox", ip="10.1.2.3")
    lookups = [s for s in sql_trace if "digest" in s]
    assert len(lookups) == 1
    assert vault.ctx.keyring.digest(agents_key.token) in lookups[0]
    assert agents_key.token not in "".join(sql_trace)


def test_every_call_records_an_event_and_the_last_use(vault, agents_key, clock):
    assert vault.get(agents_key.key.key_id).last_used_at is None
    first = clock.now()
    vault.verify(agents_key.token, "sandbox", "read", ip="10.1.2.3", module="ci")
    clock.advance(minutes=5)
    vault.verify(agents_key.token, "sandbox", "execute", ip="10.9.9.9", module="workflows")
    vault.verify("kt_sbx_nonsense", "sandbox", ip="192.0.2.1")
    rows = [(e.key_id, e.module, e.action, e.status, e.code, e.ip, e.environment, e.ts)
            for e in ActivityEvent.select().order_by(ActivityEvent.id)]
    key_id = agents_key.key.key_id
    assert rows == [
        (key_id, "ci", "access", "success", "VALID", "10.1.2.3", "sandbox", first),
        (key_id, "workflows", "execution", "failed", "INSUFFICIENT_PERMISSION", "10.9.9.9", "sandbox", clock.now()),
        (None, "unknown", "access", "failed", "NOT_FOUND", "192.0.2.1", "sandbox", clock.now()),
    ]
    assert vault.get(key_id).last_used_at == first  # the refused call later is in the log, not the last use


def test_last_used_is_the_last_successful_verification(vault, agents_key, clock):
    """An expired key's token presented yesterday does not make it look used yesterday."""
    key_id = agents_key.key.key_id
    assert vault.verify(agents_key.token, "sandbox", "read", ip="10.0.0.1").valid
    used = clock.now()
    clock.advance(hours=1)
    assert vault.verify(agents_key.token, "production", "read", ip="10.0.0.1").code is VerifyCode.WRONG_ENVIRONMENT
    assert vault.verify(agents_key.token, "sandbox", "read", ip="192.0.2.1").code is VerifyCode.IP_NOT_ALLOWED
    assert vault.get(key_id).last_used_at == used
    clock.advance(days=400)  # past its expiry
    assert vault.verify(agents_key.token, "sandbox", "read", ip="10.0.0.1").code is VerifyCode.EXPIRED
    assert vault.get(key_id).last_used_at == used
    assert vault.count_events(key_id=key_id, status="failed") == 3  # the refusals are in the activity log


def test_the_module_defaults_to_the_keys_scope(vault, agents_key):
    vault.verify(agents_key.token, "sandbox", ip="10.1.2.3")
    assert ActivityEvent.get().module == "agents"


@pytest.mark.parametrize("ask, field", [
    (dict(environment="moon"), "environment"),
    (dict(permission="root"), "permission"),
    (dict(scope="everything"), "scope"),
    (dict(ip="10.0.0.300"), "ip"),
    (dict(module="Bad Module!"), "module"),
])
def test_bad_verify_arguments_are_input_errors_and_record_nothing(vault, agents_key, ask, field):
    ask = {"environment": "sandbox", **ask}
    with pytest.raises(InputError) as err:
        vault.verify(agents_key.token, **ask)
    assert err.value.field == field
    assert ActivityEvent.select().count() == 0


def test_checking_calls_together_judges_each_exactly_as_checking_it_alone(vault, make_key, clock, store):
    """The demo checks a million calls with `check_many`, reading each token once per stretch;
    every call must come out as `check` alone would judge it at the call's moment."""
    from keytui.service import integrity
    from keytui.service.verification import Verifier
    from keytui.store.hotpath import VerificationSQL
    from keytui.store.models import ApiKey

    plain = make_key("Plain", ip_allowlist=["10.0.0.0/8"], permissions=("read", "write"))
    soon = make_key("Soon Expired", expires_in_days=30)
    revoked = make_key("Revoked")
    vault.revoke(revoked.key.key_id)
    rotated = make_key("Rotated")
    new_token = vault.rotate(rotated.key.key_id, grace_hours=2).token
    tampered = make_key("Tampered")
    ApiKey.update(permissions="read,write,admin").where(ApiKey.key_id == tampered.key.key_id).execute()
    canary = make_key("Canary", canary=True)
    unknown = tokens.generate(Environment.SANDBOX)
    tokens_ = [plain.token, soon.token, revoked.token, rotated.token, new_token, tampered.token, canary.token,
               unknown, plain.token[:-1] + "x", "not a token"]
    asks = [("sandbox", None, None, "10.1.2.3", None), ("sandbox", "write", None, "192.0.2.1", None),
            ("production", None, "agents", None, None), ("sandbox", "execute", None, None, "ci.runner"),
            ("sandbox", None, "workflows", "10.1.2.3", None)]
    start = clock.now_ms()
    calls = [(start + hours * 3_600_000, (token, *ask)) for hours in (0, 1, 3, 745) for token in tokens_ for ask in asks]

    verifier = Verifier(vault.ctx)
    verifier.sql = VerificationSQL.for_database(vault.ctx.db, many=3)  # many chunks, the last padded
    together = verifier.check_many(calls)
    alone = []
    for ts, args in calls:
        clock.set(from_ms(ts))
        alone.append(Verifier(vault.ctx).check(*args)[1])
    assert together == alone
    codes = {event.code for event in together}
    assert {"VALID", "EXPIRED", "REVOKED", "IP_NOT_ALLOWED", "WRONG_ENVIRONMENT", "NOT_FOUND", integrity.TAMPERED,
            "INSUFFICIENT_PERMISSION", "SCOPE_MISMATCH", CANARY_CODE} <= codes
