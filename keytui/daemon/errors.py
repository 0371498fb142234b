"""The service's refusals as typed JSON, raised again on the client as the same exceptions, so
the CLI and the console handle them exactly as in embedded mode."""

from __future__ import annotations

from keytui.config import ConfigError
from keytui.daemon import DaemonUnavailable
from keytui.domain import InputError, NotFoundError, ReadOnlyError, RoleRefused, RuleError
from keytui.daemon.sessions import SessionExpired
from keytui.service.mfa import MfaRequired


# HTTP statuses: the client decides by the body's type, these only help people reading logs.
STATUS = {"InputError": 400, "RoleRefused": 403, "SessionExpired": 403, "NotFoundError": 404, "ReadOnlyError": 409, "MfaRequired": 409,
          "RuleError": 409, "ConfigError": 500}


def _message(exc: Exception) -> str:
    return str(exc.args[0]) if exc.args else str(exc)


def encode_error(exc: Exception) -> dict:
    """The refusal as JSON; exceptions the service does not raise on purpose become one line
    without detail (the daemon logs the rest)."""
    if isinstance(exc, InputError):
        return {"type": "InputError", "field": exc.field, "message": exc.message}
    if isinstance(exc, SessionExpired):
        return {"type": "SessionExpired", "message": _message(exc)}
    if isinstance(exc, RoleRefused):
        return {"type": "RoleRefused", "message": _message(exc), "needed": exc.needed, "role": exc.role}
    for cls in (MfaRequired, ReadOnlyError, RuleError):
        if isinstance(exc, cls):
            return {"type": cls.__name__, "message": _message(exc), "field": exc.field}
    if isinstance(exc, NotFoundError):
        return {"type": "NotFoundError", "message": _message(exc)}
    if isinstance(exc, ConfigError):
        return {"type": "ConfigError", "message": _message(exc)}
    return {"type": "InternalError", "message": f"the keytui daemon failed ({type(exc).__name__}); see its log"}


def raise_error(error: object) -> None:
    if not isinstance(error, dict):
        raise DaemonUnavailable("the keytui daemon sent a malformed answer")
    kind, message, field = error.get("type"), str(error.get("message", "")), error.get("field")
    if kind == "InputError":
        raise InputError(str(field), message)
    if kind == "SessionExpired":
        raise SessionExpired(message)
    if kind == "RoleRefused":
        raise RoleRefused(message, needed=error.get("needed"), role=error.get("role"))
    if kind == "MfaRequired":
        raise MfaRequired(message)
    if kind in ("ReadOnlyError", "RuleError"):
        raise (ReadOnlyError if kind == "ReadOnlyError" else RuleError)(message, field)
    if kind == "NotFoundError":
        raise NotFoundError(message)
    if kind == "ConfigError":
        raise ConfigError(message)
    raise DaemonUnavailable(message or "the keytui daemon failed")
