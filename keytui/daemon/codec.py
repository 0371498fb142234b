"""The daemon's wire format: the service's values as JSON, and back, from a fixed list of types.

JSON has no tuples, sets, datetimes, enums or dataclasses, so each of those travels as an
object `{"$": tag, "v": ...}`; dicts travel as pairs (their keys are often enums); lists and
plain scalars travel as themselves. Decoding builds only the types named here: a request can
never make the daemon (or a response the client) construct anything else.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from enum import Enum
from typing import Any

from keytui.domain import Environment, Permission, Scope, Status, VerifyCode
from keytui.service import (alerts, analytics, anchors, audit, channels, delivery, demo, leaks, orgpolicy, policies,
                            rotation, watch)
from keytui.service.registry import EXPIRING, KeyFilter
from keytui.service.verification import VerifyResult
from keytui.service.views import IssuedKey, KeyView, NewKey, SecretView


class CodecError(ValueError):
    """A value outside the wire format (a bug in a caller, or a forged request)."""


ENUMS: dict[str, type[Enum]] = {cls.__name__: cls for cls in (Environment, Permission, Scope, Status, VerifyCode)}

# What the service returns; a client decodes these and nothing else.
RESULTS = (KeyView, IssuedKey, SecretView, VerifyResult, alerts.AlertView, analytics.Overview,
           analytics.ScopeSummary, analytics.Usage, analytics.KeyCount, analytics.EventView, watch.PassReport,
           orgpolicy.ApplyReport, orgpolicy.OrgPolicyDoc, orgpolicy.EnvRules, orgpolicy.Violation,
           policies.SettingView, audit.ChainReport, anchors.AnchorCheck, demo.DemoReport, alerts.DeliveryView,
           channels.ChannelView, delivery.DeliveryReport, leaks.LeakFinding, leaks.Candidate, rotation.Caller,
           rotation.RotationTraffic)
# What a client may send as an argument; the daemon decodes these and nothing else.
ARGUMENTS = (KeyFilter, NewKey, leaks.Candidate)

SCALARS = (str, int, float, bool, type(None))


def _classes(types) -> dict[str, type]:
    return {cls.__name__: cls for cls in types}


RESULT_TYPES = _classes(RESULTS)
ARGUMENT_TYPES = _classes(ARGUMENTS)


def encode(value: Any) -> Any:
    if isinstance(value, Enum):  # before the scalars: StrEnum members are str
        if type(value).__name__ not in ENUMS:
            raise CodecError(f"cannot send {type(value).__name__}")
        return {"$": "enum", "t": type(value).__name__, "v": value.value}
    if isinstance(value, SCALARS):
        return value
    if isinstance(value, datetime):
        return {"$": "datetime", "v": value.isoformat()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$": "tuple", "v": [encode(v) for v in value]}
    if isinstance(value, (set, frozenset)):
        return {"$": "frozenset", "v": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"$": "dict", "v": [[encode(k), encode(v)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        name = type(value).__name__
        if RESULT_TYPES.get(name) is not type(value) and ARGUMENT_TYPES.get(name) is not type(value):
            raise CodecError(f"cannot send {name}")
        return {"$": name, "v": {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    raise CodecError(f"cannot send {type(value).__name__}")


def decode(data: Any, classes: dict[str, type]) -> Any:
    """`classes`: RESULT_TYPES in the client, ARGUMENT_TYPES in the daemon."""
    if isinstance(data, SCALARS):
        return data
    if isinstance(data, list):
        return [decode(v, classes) for v in data]
    if not isinstance(data, dict) or not isinstance(data.get("$"), str):
        raise CodecError("malformed value")
    tag, inner = data["$"], data.get("v")
    if tag == "enum":
        return _enum(data.get("t"), inner)
    if tag == "datetime":
        return _datetime(inner)
    if tag in ("tuple", "frozenset", "dict"):
        items = decode(_list(inner), classes)
        if tag == "dict":
            if not all(isinstance(p, list) and len(p) == 2 for p in items):
                raise CodecError("malformed dict")
            return {_hashable(k): v for k, v in items}
        return tuple(items) if tag == "tuple" else frozenset(_hashable(v) for v in items)
    cls = classes.get(tag)
    if cls is None or not isinstance(inner, dict):
        raise CodecError(f"unknown type {tag!r}")
    names = {f.name for f in dataclasses.fields(cls)}
    if not set(inner) <= names:
        raise CodecError(f"unknown fields for {tag}")
    try:
        return BUILDERS.get(cls, cls)(**{k: decode(v, classes) for k, v in inner.items()})
    except TypeError:
        raise CodecError(f"missing fields for {tag}") from None


def _key_filter(status=None, environment=None, scope=None, search=None, violations_only=False,
                expiring_days=None) -> KeyFilter:
    """A filter from a request is checked like one typed on the command line."""
    if not isinstance(search, (str, type(None))) or not isinstance(violations_only, bool):
        raise CodecError("malformed KeyFilter")
    if expiring_days is None:
        return KeyFilter.parse(status, environment, scope, search, violations_only)
    if status is not None or type(expiring_days) is not int or not 0 <= expiring_days <= 3650:
        raise CodecError("malformed KeyFilter")
    return KeyFilter.parse(EXPIRING, environment, scope, search, violations_only, expiring_days)


BUILDERS = {KeyFilter: _key_filter}


def _enum(name, value):
    cls = ENUMS.get(name) if isinstance(name, str) else None
    try:
        return cls(value)
    except (TypeError, ValueError):
        raise CodecError("unknown enum value") from None


def _datetime(text):
    try:
        return datetime.fromisoformat(text)
    except (TypeError, ValueError):
        raise CodecError("malformed datetime") from None


def _list(inner) -> list:
    if not isinstance(inner, list):
        raise CodecError("malformed value")
    return inner


def _hashable(value):
    try:
        hash(value)
    except TypeError:
        raise CodecError("unhashable key") from None
    return value
