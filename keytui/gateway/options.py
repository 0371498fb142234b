"""The gateway's settings, validated once by `keytui serve` and handed to every worker.

uvicorn starts each worker process by importing the app factory, so the settings travel in
an environment variable as JSON rather than as Python objects.
"""

from __future__ import annotations

import ipaddress
import json
import os
from dataclasses import asdict, dataclass, field

from keytui.domain import InputError

ENV_VAR = "KEYTUI_GATEWAY_OPTIONS"
MAX_WORKERS = 64


@dataclass(frozen=True)
class GatewayOptions:
    home: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    fail_limit: int = 20
    fail_window_s: float = 60.0
    cooldown_s: float = 300.0
    access_log: bool = False
    commit_timeout_s: float = 5.0
    leak_report_keys: str | None = None  # GitHub-style public keys that sign POST /v1/leaks
    request_timeout_s: float = 10.0  # a request head, then its body, must arrive within this
    idle_timeout_s: float = 5.0  # an idle keep-alive connection is closed after this
    max_connections: int = 1000  # per worker, and kept below its file limit
    max_pending: int = 10_000  # requests that may wait for the activity log; more get 503 at once
    networks: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "networks", parse_trusted_proxies(self.trusted_proxies))

    def to_env(self) -> str:
        data = asdict(self)
        data.pop("networks")
        return json.dumps(data)

    @classmethod
    def from_env(cls) -> "GatewayOptions":
        raw = os.environ.get(ENV_VAR)
        if not raw:
            return cls()
        data = json.loads(raw)
        data["trusted_proxies"] = tuple(data.get("trusted_proxies", ()))
        return cls(**data)


def parse_trusted_proxies(values) -> tuple:
    networks = []
    for raw in values or ():
        try:
            networks.append(ipaddress.ip_network(str(raw).strip(), strict=False))
        except ValueError:
            raise InputError("trusted-proxy", f"{raw!r} is not an IPv4/IPv6 address or CIDR (e.g. 127.0.0.1/32, 10.0.0.0/8)") from None
    return tuple(networks)


def check_number(name: str, value, low: float, high: float | None = None) -> None:
    if value is None or value < low or (high is not None and value > high):
        allowed = f"{low:g} to {high:g}" if high is not None else f"{low:g} or more"
        raise InputError(name, f"{value!r} is not allowed; give a number from {allowed}")
