"""What a verification request asks, read from a JSON body, query parameters or headers.

Unknown fields are refused rather than ignored: a misspelt "permision" silently skipped would
turn a permission check into a plain validity check. Messages never repeat a token, even one
sent in the wrong field.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from starlette.requests import Request

from keytui.domain import InputError

MAX_BODY = 16 * 1024
MAX_FIELD = 512
FIELDS = ("token", "environment", "permission", "scope", "module")
OPTIONAL = ("permission", "scope", "module")
TOKEN_LIKE = re.compile(r"kt_[A-Za-z0-9_]+", re.IGNORECASE)  # KT_DEV_… is a token someone shouted


@dataclass(frozen=True)
class VerifyCall:
    token: str | None
    environment: str
    permission: str | None
    scope: str | None
    module: str | None


def redact(message: str) -> str:
    return TOKEN_LIKE.sub("kt_…", message)


def _text(field: str, value) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise InputError(field, "must be a string")
    if len(value) > MAX_FIELD:
        raise InputError(field, f"is {len(value)} characters; at most {MAX_FIELD} allowed")
    return value


def header_token(request: Request) -> str | None:
    """The token from `Authorization: Bearer` or `X-API-Key` (both must agree if both are sent)."""
    bearer = None
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.strip().partition(" ")
        if scheme.lower() == "bearer":
            bearer = value.strip() or None
    api_key = (request.headers.get("x-api-key") or "").strip() or None
    if bearer and api_key and bearer != api_key:
        raise InputError("authorization", "Authorization: Bearer and X-API-Key carry different tokens; send one")
    return _text("authorization", bearer or api_key)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise InputError("body", f"is {declared} bytes; at most {limit} allowed")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise InputError("body", f"is over {limit} bytes; at most {limit} allowed")
    return bytes(body)


async def read_json(request: Request) -> dict:
    body = await read_body(request)
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InputError("body", 'is not valid JSON; send an object like {"token": "...", "environment": "production"}') from None
    except RecursionError:
        raise InputError("body", "is nested too deeply; send a flat JSON object") from None
    if not isinstance(data, dict):
        raise InputError("body", "must be a JSON object")
    return data


def _unknown(names) -> None:
    extra = sorted(set(names) - set(FIELDS))
    if extra:
        raise InputError(redact(extra[0])[:64], f"unknown field; allowed: {', '.join(FIELDS)}")


def _no_token_in_url(request: Request) -> None:
    """URLs end up in logs: a token in the query string (as `token`, or anything that looks like
    one) is refused, never used or silently ignored."""
    if not request.scope["query_string"]:  # most calls: nothing to parse
        return
    params = request.query_params.multi_items()
    if any(name == "token" or TOKEN_LIKE.search(name) or TOKEN_LIKE.search(value) for name, value in params):
        raise InputError("token", "is not accepted in the URL (URLs end up in logs); send Authorization: Bearer or X-API-Key")


async def verify_call(request: Request) -> VerifyCall:
    """POST /v1/keys/verify: a JSON body; the token may come in a header instead, never in the URL."""
    _no_token_in_url(request)
    data = await read_json(request)
    _unknown(data)
    token = _text("token", data.get("token"))
    from_header = header_token(request)
    if token and from_header and token != from_header:
        raise InputError("token", "the body and the Authorization header carry different tokens; send one")
    token = token or from_header
    if token is None:
        raise InputError("token", "is required (in the body or as Authorization: Bearer)")
    return _call(token, {k: data.get(k) for k in FIELDS[1:]})


def auth_call(request: Request) -> VerifyCall:
    """GET /v1/auth: query parameters, or X-Keytui-<Field> headers set by the proxy."""
    _no_token_in_url(request)
    _unknown(request.query_params.keys())
    values = {k: request.query_params.get(k) or request.headers.get(f"x-keytui-{k}") for k in FIELDS[1:]}
    return _call(header_token(request), values)


def _call(token: str | None, values: dict) -> VerifyCall:
    environment = _text("environment", values.get("environment"))
    if environment is None:
        raise InputError("environment", "is required; allowed: development, sandbox, staging, production (or dev, prod)")
    return VerifyCall(token, environment, *(_text(k, values.get(k)) for k in OPTIONAL))
