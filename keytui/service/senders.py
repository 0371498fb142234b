"""Sending one alert to one channel: a signed webhook POST, or an RFC 5424 syslog message.

Webhook: the JSON body is signed with HMAC-SHA256 under the channel's secret over
"<t>.<body>", where t is the Unix time of sending, in the header
`X-Keytui-Signature: t=<t>,v1=<hex>` (the scheme Stripe uses), so a receiver can check the
sender and refuse a replay by the age of t. `X-Keytui-Delivery` carries the delivery id,
the same on every retry, so a receiver can drop duplicates. Redirects are not followed: a
signed alert goes only where it was configured to go.

Syslog: one RFC 5424 message (facility auth) to a local datagram socket (/dev/log style) or
over UDP; the alert's fields travel as structured data, the message as UTF-8 text with every
control character made visible.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime, timezone

from keytui.text import visible

TIMEOUT_S = 5.0
USER_AGENT = "keytui-alerts/1"
SIGNATURE_HEADER = "X-Keytui-Signature"
DELIVERY_HEADER = "X-Keytui-Delivery"
FACILITY_AUTH = 4
SYSLOG_SEVERITY = {"high": 2, "medium": 4, "low": 5}  # critical, warning, notice
SD_ID = "keytui@32473"  # 32473: the private enterprise number RFC 5612 reserves for examples
SYSLOG_MAX = 2048  # bytes: what RFC 5426 asks every UDP receiver to accept


class DeliveryError(Exception):
    """The channel did not take the alert; the message says why in one line (no secret in it)."""


def sign(secret: bytes, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret, str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def post_webhook(url: str, secret: bytes, body: bytes, delivery_id: str) -> None:
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, DELIVERY_HEADER: delivery_id,
               SIGNATURE_HEADER: sign(secret, body, int(time.time()))}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _OPENER.open(request, timeout=TIMEOUT_S) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"webhook unreachable: {type(reason).__name__}: {str(reason)[:120]}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"webhook answered HTTP {status}")


def _clean(text: str, limit: int) -> str:
    return visible(text)[:limit]


def _sd_value(text) -> str:
    """An RFC 5424 PARAM-VALUE: '"', '\\' and ']' escaped."""
    return _clean(text, 200).replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def _ascii_token(text: str, limit: int) -> str:
    """HOSTNAME, APP-NAME, MSGID: printable US-ASCII without spaces, or '-'."""
    out = "".join(c for c in str(text) if 33 <= ord(c) <= 126)[:limit]
    return out or "-"


def syslog_message(alert: dict, *, now: datetime | None = None, hostname: str | None = None) -> bytes:
    """The RFC 5424 message for an alert (id, kind, severity, key_id, key_name, ip, message)."""
    now = now or datetime.now(timezone.utc)
    pri = FACILITY_AUTH * 8 + SYSLOG_SEVERITY.get(alert.get("severity"), 5)
    stamp = now.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    params = " ".join(f'{name}="{_sd_value(alert[name])}"' for name in ("id", "kind", "severity", "key_id", "ip")
                      if alert.get(name) is not None)
    header = (f"<{pri}>1 {stamp} {_ascii_token(hostname or socket.gethostname(), 255)} keytui {os.getpid()} "
              f"{_ascii_token(alert.get('kind', '-'), 32)} [{SD_ID} {params}] ")
    text = _clean((f"{alert['key_name']}: " if alert.get("key_name") else "") + str(alert.get("message", "")), 1500)
    data = header.encode() + b"\xef\xbb\xbf" + text.encode()
    return data[:SYSLOG_MAX]


def send_syslog(address: str, message: bytes) -> None:
    """To a local datagram socket (an absolute path) or HOST:PORT over UDP."""
    try:
        if address.startswith("/"):
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.settimeout(TIMEOUT_S)
                sock.sendto(message, address)
            return
        host, _, port = address.rpartition(":")
        host = host.strip("[]")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        with socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.settimeout(TIMEOUT_S)
            sock.sendto(message, (host, int(port)))
    except OSError as exc:
        raise DeliveryError(f"syslog unreachable: {type(exc).__name__}: {exc.strerror or exc}") from None
