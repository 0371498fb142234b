"""The daemon's HTTP API on the Unix socket: the `Vault` contract, one call per request.

    POST /v1/session           {"mfa_window_seconds": N, "read_only": bool} -> {"session", "user", "role", ...}
    POST /v1/call/<method>     {"args": [...], "kwargs": {...}}            -> {"result": ...} | {"error": ...}

Every request is authorised by the caller's uid from SO_PEERCRED (keytui.daemon.peer), never
by anything in the request: the daemon builds a service context acting as that user with the
role the roles table gives them (the daemon's own account is the home's admin), checks the
method against keytui.service.roles, and audits a refusal with the real user name. Values
travel in keytui.daemon.codec; refusals as typed JSON (keytui.daemon.errors).

A client that wants the console's MFA window opens a session: its id (a random token, bound
to the uid that opened it) names one service context whose window a good TOTP code opens for
five minutes. A session id is worthless to any other user; sessions expire when idle.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import os
import re
import threading
from concurrent.futures import ThreadPoolExecutor

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from keytui.daemon import codec
from keytui.daemon.errors import STATUS, encode_error
from keytui.daemon.peer import SCOPE_KEY
from keytui.daemon.sessions import Caller, Sessions
from keytui.domain import InputError, RoleRefused
from keytui.service import Context, Vault, roles

log = logging.getLogger("keytui.daemon")

MAX_BODY = 8 * 1024 * 1024  # an org policy or a batch of new keys fits many times over
THREADS = 4
UNWRITTEN_EVERY_S = 60.0  # how often the refused attempts left unwritten by the budget are audited
MAX_WINDOW_S = 900
METHOD = re.compile(r"[a-z][a-z_]{0,39}\Z")


class Daemon:
    """The service context of the home, and each caller's view of it."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.account_uid = os.geteuid()
        self.sessions = Sessions()
        self.refusals = roles.RefusalBudget()
        self.pool = ThreadPoolExecutor(THREADS, thread_name_prefix="keytui-daemon",
                                       initializer=lambda: ctx.db.connect(reuse_if_open=True))
        self._stopping = threading.Event()
        threading.Thread(target=self._audit_unwritten_refusals, name="keytui-refusals", daemon=True).start()

    def close(self) -> None:
        self._stopping.set()
        self._record_unwritten(None)  # a flood's last minute, too
        self.pool.shutdown(wait=True)
        self.ctx.close()

    def _audit_unwritten_refusals(self) -> None:
        while not self._stopping.wait(UNWRITTEN_EVERY_S):
            self._record_unwritten(roles.minute_of(self.ctx))

    def _record_unwritten(self, minute: int | None) -> None:
        try:
            self.pool.submit(roles.record_unwritten, self.ctx, self.refusals, minute).result()
        except Exception as exc:  # noqa: BLE001 — the daemon goes on; the log says what was not audited
            log.error("could not audit refused attempts left unwritten: %s", exc)

    # ------------------------------------------------------------------ who is calling
    def caller(self, request: Request) -> Caller:
        peer = request.scope.get(SCOPE_KEY)
        if peer is None:
            raise RoleRefused("the keytui daemon answers only on its Unix socket")
        user = peer.user
        if user is None:
            raise RoleRefused(f"uid {peer.uid} has no user name on this host; keytui refuses it")
        read_only = request.headers.get("x-keytui-read-only") == "1"
        return Caller(peer.uid, user, read_only)

    def role(self, caller: Caller) -> roles.Role | None:
        role = roles.ADMIN if caller.uid == self.account_uid else roles.role_of(self.ctx, caller.user)
        if role is not None and caller.read_only:
            role = min(role, roles.VIEWER)
        return role

    def vault_for(self, caller: Caller, role: roles.Role, session_id: str | None) -> Vault:
        if session_id:
            vault = self.sessions.get(session_id, caller)
            vault.ctx.role = role.label  # a role granted or revoked meanwhile counts at once
            return vault
        return Vault(self.ctx.as_operator(caller.user, role=role.label))

    # ------------------------------------------------------------------ the work, in a pool thread
    def open_session(self, caller: Caller, window: int) -> dict:
        role = self.role(caller)
        if role is None:
            self.refuse(caller, "whoami", None)
        vault = Vault(self.ctx.as_operator(caller.user, role=role.label, mfa_window_seconds=window))
        return dict(vault.whoami(), session=self.sessions.add(caller, vault))

    def call(self, caller: Caller, session_id: str | None, method: str, args: list, kwargs: dict):
        role = self.role(caller)
        if role is None:
            self.refuse(caller, method, None)
        vault = self.vault_for(caller, role, session_id)
        named = _bind(method, args, kwargs)
        roles.authorize(vault.ctx, method, named, role, self.refusals)
        if method == "enroll_mfa" and named.get("operator") not in (None, caller.user):
            raise roles.recorded(vault.ctx, method, RoleRefused(
                "nobody can enrol MFA for someone else; they enrol their own authenticator", role=role.label),
                self.refusals)
        return getattr(vault, method)(*args, **kwargs)

    def refuse(self, caller: Caller, method: str, role: roles.Role | None):
        ctx = self.ctx.as_operator(caller.user, role=roles.VIEWER.label)
        roles.authorize(ctx, method, {}, role, self.refusals)

    async def run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)


def _bind(method: str, args: list, kwargs: dict) -> dict:
    """The call's arguments by name, checked against the Vault method's signature."""
    target = getattr(Vault, method, None)
    if method.startswith("_") or not callable(target):
        return {}  # refused by the roles map: it names no such method
    try:
        bound = inspect.signature(target).bind(None, *args, **kwargs)
    except TypeError as exc:
        raise InputError("request", f"{method}: {exc}") from None
    return {k: v for k, v in bound.arguments.items() if k != "self"}


async def _body(request: Request) -> dict:
    size = 0
    chunks = []
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise InputError("request", f"body over {MAX_BODY // (1024 * 1024)} MiB")
        chunks.append(chunk)
    try:
        data = json.loads(b"".join(chunks) or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InputError("request", "the body is not JSON") from None
    if not isinstance(data, dict):
        raise InputError("request", "the body is a JSON object")
    return data


def _error(exc: Exception) -> JSONResponse:
    error = encode_error(exc)
    if error["type"] == "InternalError":
        log.error("daemon call failed", exc_info=exc)
    return JSONResponse({"error": error}, status_code=STATUS.get(error["type"], 500))


def create_app(daemon: Daemon) -> Starlette:
    async def session(request: Request) -> JSONResponse:
        try:
            caller = daemon.caller(request)
            window = (await _body(request)).get("mfa_window_seconds", 0)
            if not isinstance(window, int) or not 0 <= window <= MAX_WINDOW_S:
                raise InputError("mfa_window_seconds", f"a whole number of seconds from 0 to {MAX_WINDOW_S}")
            return JSONResponse(await daemon.run(daemon.open_session, caller, window))
        except Exception as exc:  # every refusal is an answer, never a dropped connection
            return _error(exc)

    async def call(request: Request) -> JSONResponse:
        try:
            caller = daemon.caller(request)
            body = await _body(request)
            try:
                args = codec.decode(body.get("args", []), codec.ARGUMENT_TYPES)
                kwargs = codec.decode(body.get("kwargs", {"$": "dict", "v": []}), codec.ARGUMENT_TYPES)
            except codec.CodecError as exc:
                raise InputError("request", str(exc)) from None
            if not isinstance(args, list) or not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
                raise InputError("request", "args is a list and kwargs a dict of names")
            method = request.path_params["method"]
            if not METHOD.match(method):
                raise InputError("method", "not a keytui call")
            result = await daemon.run(daemon.call, caller, request.headers.get("x-keytui-session"), method, args,
                                      kwargs)
            return JSONResponse({"result": codec.encode(result)})
        except Exception as exc:
            return _error(exc)

    return Starlette(routes=[Route("/v1/session", session, methods=["POST"]),
                             Route("/v1/call/{method}", call, methods=["POST"])])
