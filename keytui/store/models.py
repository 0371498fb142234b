"""Peewee models. Times are epoch milliseconds (BIGINT) so that hot-path SQL, range filters and
hourly buckets are plain integer arithmetic on SQLite and PostgreSQL alike."""

from __future__ import annotations

from peewee import (AutoField, BigIntegerField, BlobField, BooleanField, CharField, ForeignKeyField, IntegerField,
                    Model, TextField)

from keytui.clock import from_ms, to_ms
from keytui.store.binding import database


class EpochField(BigIntegerField):
    """An aware UTC datetime stored as epoch milliseconds."""

    def db_value(self, value):
        if value is None or isinstance(value, int):
            return value
        return to_ms(value)

    def python_value(self, value):
        return from_ms(value)


class BaseModel(Model):
    class Meta:
        database = database
        legacy_table_names = False


class Meta(BaseModel):
    """Small named values: schema version, the audit head anchor, the watch cursor."""

    name = CharField(primary_key=True, max_length=64)
    value = TextField()


class Operator(BaseModel):
    name = CharField(unique=True, max_length=64)
    totp_secret = BlobField(null=True)  # AES-GCM under the master key
    enrolled_at = EpochField(null=True)
    last_totp_step = BigIntegerField(null=True)  # replay guard: a code's step is accepted once
    failed_attempts = IntegerField(default=0)
    locked_until = EpochField(null=True)


class ApiKey(BaseModel):
    """A credential. Never deleted: revoked keys stay as evidence."""

    id = AutoField()
    key_id = CharField(unique=True, max_length=32)
    name = CharField(max_length=64, index=True)
    scope = CharField(max_length=32, index=True)
    permissions = CharField(max_length=64)  # "read,write,execute,admin" subset, fixed order
    environment = CharField(max_length=16, index=True)
    owner = CharField(max_length=64, index=True)
    created_by = CharField(max_length=64)
    created_at = EpochField(index=True)
    updated_at = EpochField()
    expires_at = EpochField(null=True, index=True)
    expiry_days = IntegerField(null=True)  # the 30/60/90 policy; rotation renews expiry by it
    status = CharField(max_length=16, index=True)
    revoked_at = EpochField(null=True)
    revoke_reason = TextField(null=True)
    last_used_at = EpochField(null=True, index=True)
    ip_allowlist = TextField(default="")  # comma separated networks
    policy_violation = TextField(null=True)  # set by "Apply Org Policy"
    seal = CharField(max_length=64, null=True)  # HMAC over the fields that decide (keytui.service.integrity)
    canary = BooleanField(default=False)  # a tripwire: verifies as NOT_FOUND, any use raises an alert

    class Meta:
        # the overview cards count keys per environment and judged status from this index alone
        indexes = ((("environment", "status", "expires_at"), False),)


class KeySecret(BaseModel):
    """One token of a key. During a rotation grace period a key has two live secrets."""

    id = AutoField()
    key = ForeignKeyField(ApiKey, backref="secrets", on_delete="RESTRICT")
    digest = CharField(unique=True, max_length=64)  # HMAC-SHA256 under the pepper
    ciphertext = BlobField()  # AES-GCM under the master key, AAD = key_id
    hint = CharField(max_length=32)
    origin = CharField(max_length=16)  # create | rotate | regenerate | auto-rotate
    created_at = EpochField()
    valid_until = EpochField(null=True)  # None: as long as the key lives
    ended_by = CharField(max_length=16, null=True)  # rotation | regeneration | revocation
    seal = CharField(max_length=64, null=True)  # HMAC over key_id, digest and validity (keytui.service.integrity)


class ActivityEvent(BaseModel):
    """One authentication attempt (spec section 8)."""

    id = AutoField()
    ts = EpochField(index=True)
    key_id = CharField(max_length=32, null=True)
    module = CharField(max_length=32, index=True)
    action = CharField(max_length=16)
    status = CharField(max_length=8, index=True)  # success | failed
    code = CharField(max_length=32)
    ip = CharField(max_length=64, null=True, index=True)
    environment = CharField(max_length=16, null=True)
    secret_id = IntegerField(null=True)  # the KeySecret that matched: old or new token in a rotation

    class Meta:
        indexes = ((("key_id", "id"), False),)


class UsageRollup(BaseModel):
    """Hourly counters kept by verification itself, so analytics stay fast on millions of events
    and still see traffic when Usage Monitoring skips the per-event rows."""

    id = AutoField()
    hour = BigIntegerField()  # epoch ms of the hour start
    key_id = CharField(max_length=32)  # '' when the token matched no key
    module = CharField(max_length=32)
    ok = IntegerField(default=0)
    failed = IntegerField(default=0)

    class Meta:
        indexes = ((("hour", "key_id", "module"), True),)


class UsageDaily(BaseModel):
    """The hourly counters folded into days once a day is over (keytui.service.rollup): per key
    (module '*') and per calling module (key_id '*'), so a 30-day chart reads one row per
    key-day instead of one per key-hour."""

    id = AutoField()
    day = BigIntegerField()  # epoch ms of the UTC day start
    key_id = CharField(max_length=32)
    module = CharField(max_length=32)
    ok = IntegerField(default=0)
    failed = IntegerField(default=0)

    class Meta:
        indexes = ((("day", "key_id", "module"), True),)


class AuditEntry(BaseModel):
    """Append-only, HMAC-chained record of every state change."""

    id = AutoField()
    seq = BigIntegerField(unique=True)
    ts = EpochField(index=True)
    operator = CharField(max_length=64)
    action = CharField(max_length=32, index=True)
    key_id = CharField(max_length=32, null=True, index=True)
    details = TextField()  # canonical JSON
    prev_mac = CharField(max_length=64)
    mac = CharField(max_length=64)


class PolicySetting(BaseModel):
    name = CharField(primary_key=True, max_length=64)
    value = TextField()  # JSON
    updated_at = EpochField()
    updated_by = CharField(max_length=64)


class OrgPolicy(BaseModel):
    id = AutoField()
    applied_at = EpochField()
    applied_by = CharField(max_length=64)
    source = TextField()  # the TOML as applied
    active = BooleanField(default=True, index=True)


class Alert(BaseModel):
    id = AutoField()
    created_at = EpochField(index=True)
    kind = CharField(max_length=32, index=True)
    severity = CharField(max_length=8)  # low | medium | high
    key_id = CharField(max_length=32, null=True, index=True)
    ip = CharField(max_length=64, null=True)
    message = TextField()
    evidence = TextField(default="[]")  # JSON list of event ids
    dedupe_key = CharField(max_length=128, unique=True)
    acknowledged_at = EpochField(null=True, index=True)
    acknowledged_by = CharField(max_length=64, null=True)


class AlertChannel(BaseModel):
    """Where alerts go besides the console: a webhook or syslog."""

    id = AutoField()
    name = CharField(unique=True, max_length=32)
    kind = CharField(max_length=16)  # webhook | syslog
    target = TextField()  # the webhook URL, or the syslog address (HOST:PORT or a socket path)
    secret = BlobField(null=True)  # the webhook's HMAC secret, AES-GCM under the master key
    min_severity = CharField(max_length=8)
    created_at = EpochField()
    created_by = CharField(max_length=64)


class AlertDelivery(BaseModel):
    """The outbox: one row per alert and channel, written with the alert, so nothing is lost
    while a receiver is down or keytui restarts."""

    id = AutoField()
    alert_id = IntegerField(index=True)
    channel = CharField(max_length=32)
    delivery_id = CharField(unique=True, max_length=40)  # the same on every retry: receivers dedupe by it
    status = CharField(max_length=12)  # pending | delivered | failed
    attempts = IntegerField(default=0)
    next_attempt_at = EpochField(null=True)
    last_error = TextField(null=True)
    delivered_at = EpochField(null=True)

    class Meta:
        indexes = ((("status", "next_attempt_at"), False),)


class LeakReportSeen(BaseModel):
    """Leak reports already handled (SHA-256 of the signed body), so a replay is refused."""

    digest = CharField(primary_key=True, max_length=64)
    seen_at = EpochField(index=True)


class RoleGrant(BaseModel):
    """Who may do what when keytui runs as a daemon: viewer, operator or admin (keytui.service.roles)."""

    user = CharField(primary_key=True, max_length=64)
    role = CharField(max_length=16)
    granted_at = EpochField()
    granted_by = CharField(max_length=64)
    seal = CharField(max_length=64)  # HMAC over user and role: a write to the database alone grants nothing


MODELS = [Meta, Operator, ApiKey, KeySecret, ActivityEvent, UsageRollup, UsageDaily, AuditEntry, PolicySetting, OrgPolicy, Alert,
          AlertChannel, AlertDelivery, LeakReportSeen, RoleGrant]
