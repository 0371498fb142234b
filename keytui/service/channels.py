"""Alert channels: where alerts go besides the console, for the on-call person who is not
looking at it. A channel is a webhook (signed JSON POST) or syslog (RFC 5424, a local socket
or UDP), with a minimum severity. The webhook's HMAC secret is kept AES-GCM encrypted under
the master key, bound to the channel's name, and never shown again.

The org policy may require channels by name (`[alerts] required_channels`): such a channel
cannot be removed, and `alerts channel list` names the required ones that are missing.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from dataclasses import dataclass
from datetime import datetime

from keytui.domain import InputError, NotFoundError, RuleError
from keytui.service import orgpolicy
from keytui.service.alerts import SEVERITIES
from keytui.service.context import Context, uses_store
from keytui.store.models import AlertChannel, AlertDelivery

NAME_RE = orgpolicy.CHANNEL_RE
KINDS = ("webhook", "syslog")
DEFAULT_SYSLOG = "/dev/log"
URL_MAX = 2000
SECRET_MIN, SECRET_MAX = 16, 512


@dataclass(frozen=True)
class ChannelView:
    name: str
    kind: str
    target: str
    min_severity: str
    created_at: datetime | None
    created_by: str | None
    signed: bool
    exists: bool = True  # False: required by the org policy but not configured

    def as_dict(self) -> dict:
        return {"name": self.name, "kind": self.kind, "target": self.target, "min_severity": self.min_severity,
                "created_at": self.created_at.isoformat() if self.created_at else None,
                "created_by": self.created_by, "signed": self.signed, "exists": self.exists}


def parse_name(value: str) -> str:
    text = str(value or "").strip().lower()
    if not NAME_RE.match(text):
        raise InputError("channel", f"{value!r} is not a channel name (1-32 of a-z 0-9 . _ -, starting with a letter "
                                    f"or digit)")
    return text


def parse_severity(value: str | None) -> str:
    text = str(value or "low").strip().lower()
    if text not in SEVERITIES:
        raise InputError("min-severity", f"{value!r} is not a severity; allowed: {', '.join(SEVERITIES)}")
    return text


def parse_url(value: str) -> str:
    text = str(value or "").strip()
    parts = urllib.parse.urlsplit(text) if len(text) <= URL_MAX and text.isprintable() and " " not in text else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError("url", f"give an http:// or https:// URL of at most {URL_MAX} characters")
    if parts.username or parts.password:
        raise InputError("url", "must not hold credentials; the receiver checks the signature made with --secret-file")
    return text


def parse_address(value: str | None) -> str:
    """A syslog address: an absolute socket path, or HOST:PORT for UDP ([v6]:PORT for IPv6)."""
    text = str(value or DEFAULT_SYSLOG).strip()
    if text.startswith("/") and text.isprintable() and len(text) < 108:
        return text
    host, _, port = text.rpartition(":")
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    ok = port.isdigit() and 1 <= int(port) <= 65535 and bare and re.match(r"^[A-Za-z0-9.:-]+$", bare)
    if ok and ":" in bare:
        try:
            ipaddress.IPv6Address(bare)
        except ValueError:
            ok = False
        ok = ok and host.startswith("[")
    if not ok:
        raise InputError("address", f"{value!r} is not a syslog address; give HOST:PORT for UDP ([::1]:514 for IPv6) "
                                    f"or the absolute path of a local socket (default {DEFAULT_SYSLOG})")
    return text


def parse_secret(value: str | bytes) -> bytes:
    data = value.encode() if isinstance(value, str) else bytes(value)
    data = data.strip()
    if not SECRET_MIN <= len(data) <= SECRET_MAX or not all(33 <= b <= 126 for b in data):
        raise InputError("secret-file", f"must hold one secret of {SECRET_MIN}-{SECRET_MAX} printable ASCII characters "
                                        f"(e.g. the output of `openssl rand -hex 32`)")
    return data


def aad(name: str) -> str:
    """What the channel's encrypted secret is bound to (never a key id: those start with key_)."""
    return f"alert-channel:{name}"


def _view(row: AlertChannel) -> ChannelView:
    return ChannelView(row.name, row.kind, row.target, row.min_severity, row.created_at, row.created_by,
                       row.secret is not None)


def required(ctx: Context) -> tuple[str, ...]:
    doc = orgpolicy.active(ctx)
    return doc.required_channels if doc else ()


@uses_store
def list_channels(ctx: Context) -> list[ChannelView]:
    """Every channel by name, then the ones the org policy requires that are missing."""
    found = [_view(r) for r in AlertChannel.select().order_by(AlertChannel.name)]
    names = {c.name for c in found}
    return found + [ChannelView(n, "-", "-", "-", None, None, False, exists=False)
                    for n in required(ctx) if n not in names]


@uses_store
def add(ctx: Context, name: str, kind: str, *, url: str | None = None, secret: str | bytes | None = None,
        address: str | None = None, min_severity: str | None = None) -> ChannelView:
    ctx.require_writable()
    name = parse_name(name)
    if kind not in KINDS:
        raise InputError("kind", f"{kind!r} is not a channel kind; allowed: {', '.join(KINDS)}")
    severity = parse_severity(min_severity)
    if kind == "webhook":
        target = parse_url(url)
        if secret is None:
            raise InputError("secret-file", "a webhook needs a secret to sign with (--secret-file FILE)")
        blob = ctx.keyring.encrypt(parse_secret(secret).decode(), aad(name))
    else:
        target, blob = parse_address(address), None
    with ctx.transaction():
        if AlertChannel.select().where(AlertChannel.name == name).exists():
            raise InputError("channel", f"{name!r} exists; remove it first to change it")
        row = AlertChannel.create(name=name, kind=kind, target=target, secret=blob, min_severity=severity,
                                  created_at=ctx.now(), created_by=ctx.operator)
        ctx.audit("alert.channel.add", None, channel=name, kind=kind, target=target, min_severity=severity,
                  signed=blob is not None)
    return _view(row)


@uses_store
def remove(ctx: Context, name: str) -> int:
    """Remove a channel (audited); its undelivered alerts are marked failed. Returns how many."""
    ctx.require_writable()
    name = parse_name(name)
    if name in required(ctx):
        raise RuleError(f"channel: the org policy requires {name!r}; change the policy before removing it")
    with ctx.transaction():
        if not AlertChannel.delete().where(AlertChannel.name == name).execute():
            raise NotFoundError(f"channel: no channel named {name!r}")
        dropped = (AlertDelivery.update(status="failed", last_error="channel removed", next_attempt_at=None)
                   .where((AlertDelivery.channel == name) & (AlertDelivery.status == "pending")).execute())
        ctx.audit("alert.channel.remove", None, channel=name, undelivered=dropped)
    return dropped


def get(name: str) -> AlertChannel:
    row = AlertChannel.get_or_none(AlertChannel.name == parse_name(name))
    if row is None:
        raise NotFoundError(f"channel: no channel named {name!r}")
    return row
