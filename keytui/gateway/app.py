"""The gateway application: routes, the verification flow, and the lifespan that owns the
database connections and the group commit.

The group commit checks each batch of calls and writes their events on the event loop's own
thread, in well under a millisecond a batch (see keytui.store.connections.OnLoop for why not a
thread); the service's maintenance thread answers /healthz (so health is reported even while
the writer waits for a lock) and checkpoints the SQLite log. Every response goes through `_answer`, which
turns input errors into 400s, a stuck activity log or a store fault into 503 with the words the
CLI uses for the same fault (the full disk, the lock, the damaged file), anything unexpected
into a bare 500 (logged as one line, without the message, which could quote the request), and
writes an access line that holds no query string, header or token.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import math
import time
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from keytui.domain import MISSING_TOKEN, RATE_LIMITED, InputError, StoreUnavailable, VerifyCode, parse_environment
from keytui.gateway import inputs, leakreports
from keytui.gateway.batcher import CommitTimeout, GroupCommit, QueueFull, StoreDown
from keytui.gateway.clientip import client_ip
from keytui.gateway.cooling import Cooling
from keytui.gateway.metrics import Metrics
from keytui.gateway.options import GatewayOptions
from keytui.gateway.protocol import GUARD
from keytui.service import Event, VerifyResult
from keytui.service.backend import CHECKPOINT_INTERVAL_S, VerificationBackend
from keytui.service.leaks import ReplayedReport
from keytui.service.verification import parse_module
from keytui.text import visible

log = logging.getLogger("keytui.gateway")
access = logging.getLogger("keytui.gateway.access")

OPERATOR = "gateway"
DRAIN_TIMEOUT_S = 30.0
UNAUTHENTICATED = frozenset({VerifyCode.NOT_FOUND, VerifyCode.EXPIRED, VerifyCode.REVOKED})
HEALTH_GRACE_S = 1.0  # writes waiting this long for another process's lock turn /healthz 503


class CoolingOff(Exception):
    def __init__(self, seconds: float):
        self.seconds = math.ceil(seconds)


def _error(status: int, message: str, field: str | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"error": message}
    if field:
        body["field"] = field
    return JSONResponse(body, status_code=status, headers=headers)


def _sick(reason: str, message: str) -> JSONResponse:
    """/healthz's 503: `status` is the fault's one word (locked, full, unreachable…) for monitors."""
    return JSONResponse({"status": reason, "error": message}, status_code=503, headers={"Retry-After": "1"})


class Gateway:
    def __init__(self, options: GatewayOptions):
        self.options = options
        self.metrics = Metrics()
        self.cooling = Cooling(options.fail_limit, options.fail_window_s, options.cooldown_s)
        self.leak_keys = leakreports.load_keys(options.leak_report_keys) if options.leak_report_keys else None
        self.leak_counts = leakreports.LeakCounters()

    # ------------------------------------------------------------------ lifespan
    @asynccontextmanager
    async def lifespan(self, app):
        self.backend = VerificationBackend(self.options.home, operator=OPERATOR)
        self.verifier = self.backend.verifier
        self.batcher = GroupCommit(self.verifier.record, self.backend.on_loop, self.metrics, prepare=self._check_all,
                                   commit_timeout_s=self.options.commit_timeout_s,
                                   max_pending=self.options.max_pending, explain=self.backend.explain)
        self._logged_fault: str | None = None
        checkpoints = asyncio.get_running_loop().create_task(self._checkpoints(), name="keytui-checkpoints")
        try:
            yield
        finally:
            await self.batcher.close(DRAIN_TIMEOUT_S)
            checkpoints.cancel()
            await self._checkpoint()
            self.backend.close()

    async def _checkpoints(self) -> None:
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL_S)
            await self._checkpoint()

    async def _checkpoint(self) -> None:
        try:
            await self.backend.checkpoint()
        except Exception as exc:  # noqa: BLE001 — a busy checkpoint is simply tried again next time
            log.debug("checkpoint skipped: %s", type(exc).__name__)

    # ------------------------------------------------------------------ the verification flow
    def _check_all(self, items: list) -> tuple[list, list[Event | None]]:
        """In the group commit: check each call (an error is that call's outcome, with no event)
        and give each its event; events handed in as such (cooling started, no token) pass through."""
        outcomes, events = [], []
        for item in items:
            if isinstance(item, Event):
                outcomes.append(None)
                events.append(item)
                continue
            try:
                result, event = self.verifier.check(*item)
            except Exception as exc:  # noqa: BLE001 — raised again on the loop, for this request only
                outcomes.append(exc)
                events.append(None)
                continue
            outcomes.append(result)
            events.append(event)
        return outcomes, events

    async def _judge(self, request: Request, call: inputs.VerifyCall) -> VerifyResult:
        ip = request.state.ip
        wait = self.cooling.remaining(ip)
        if wait:
            self.metrics.rate_limited += 1
            raise CoolingOff(wait)
        started = time.perf_counter()
        outcome = await self.batcher.submit((call.token or "", call.environment, call.permission, call.scope, ip,
                                             call.module))
        if isinstance(outcome, Exception):
            raise outcome
        result: VerifyResult = outcome
        self._logged_fault = None  # the store works: its next fault is logged again
        if result.canary and await self.backend.canary_cooling() and self.cooling.cool(ip):
            self._cooling_started(ip, call, "after presenting a canary token")
        elif self.cooling.note(ip, result.code):
            self._cooling_started(ip, call, f"after {self.options.fail_limit} bad tokens in "
                                            f"{self.options.fail_window_s:g} s")
        self.metrics.verified(result.code.value, time.perf_counter() - started)
        request.state.code = result.code.value
        return result

    def _cooling_started(self, ip: str | None, call: inputs.VerifyCall, why: str) -> None:
        self.metrics.cooling_started += 1
        log.warning("address %s answered 429 for %g s %s", ip, self.options.cooldown_s, why)
        # a note about the address, not this request's answer: nobody waits for it
        self.batcher.post(Event(self.backend.now_ms(), None, None, "gateway", "access",
                                "failed", RATE_LIMITED, ip, parse_environment(call.environment).value))

    async def verify(self, request: Request) -> Response:
        result = await self._judge(request, await inputs.verify_call(request))
        return JSONResponse(result.as_dict())

    async def auth(self, request: Request) -> Response:
        call = inputs.auth_call(request)
        if call.token is None:
            await self._missing_token(request, call)
            return JSONResponse({"valid": False, "code": MISSING_TOKEN}, status_code=401,
                                headers={"WWW-Authenticate": 'Bearer realm="keytui"', "X-Keytui-Code": MISSING_TOKEN})
        result = await self._judge(request, call)
        headers = {"X-Keytui-Code": result.code.value}
        if result.valid:
            status = 200
            headers.update({"X-Keytui-Key-Id": result.key_id, "X-Keytui-Scope": result.scope,
                            "X-Keytui-Environment": result.environment,
                            "X-Keytui-Permissions": ",".join(result.permissions)})
        elif result.code in UNAUTHENTICATED:
            status = 401
            headers["WWW-Authenticate"] = 'Bearer realm="keytui", error="invalid_token"'
        else:
            status = 403
        return JSONResponse({"valid": result.valid, "code": result.code.value, "key_id": result.key_id},
                            status_code=status, headers=headers)

    async def leaks(self, request: Request) -> Response:
        """A signed leak report (see keytui.gateway.leakreports); answers GitHub's labels."""
        if self.leak_keys is None:
            return _error(404, "leak reports are not enabled (keytui serve --leak-report-keys FILE)")
        try:
            body = await inputs.read_body(request, leakreports.MAX_BODY)
            leakreports.check_signature(self.leak_keys, request.headers.get(leakreports.KEY_ID_HEADER),
                                        request.headers.get(leakreports.SIGNATURE_HEADER), body)
            labels = await self.backend.leak_report(leakreports.parse(body), hashlib.sha256(body).hexdigest())
        except leakreports.Refused as exc:
            self.leak_counts.counts[exc.outcome] += 1
            log.warning("leak report refused: %s", exc.outcome)
            return _error(exc.status, exc.message)
        except ReplayedReport:
            self.leak_counts.counts["replayed"] += 1
            log.warning("leak report refused: replayed")
            return _error(409, "this report was handled before; a replay is refused")
        except InputError:
            self.leak_counts.counts["invalid"] += 1
            raise
        self.leak_counts.counts["accepted"] += 1
        request.state.code = "LEAK_REPORT"
        return JSONResponse(labels)
    async def _missing_token(self, request: Request, call: inputs.VerifyCall) -> None:
        """A probe without a token is recorded like any refused call (module from the query),
        so reviewers watching for probes see it; it is answered once the event is stored."""
        request.state.code = MISSING_TOKEN
        event = Event(self.backend.now_ms(), None, None, parse_module(call.module) or "unknown", "access", "failed",
                      MISSING_TOKEN, request.state.ip, parse_environment(call.environment).value)
        await self.batcher.submit(event)

    async def healthz(self, request: Request) -> Response:
        try:
            await self.backend.health()
        except StoreUnavailable as exc:
            return _sick(exc.reason, exc.message)
        except Exception as exc:  # noqa: BLE001 — health reports, never raises
            return _sick("unavailable", f"database unreachable ({type(exc).__name__})")
        fault = self.batcher.fault
        if fault is not None and (fault.reason != "locked" or self.batcher.failing_for() > HEALTH_GRACE_S):
            return _sick(fault.reason, f"activity log writes are failing (retrying): {fault.message}")
        return JSONResponse({"status": "ok", "pending_events": self.batcher.pending})

    async def metrics_text(self, request: Request) -> Response:
        text = self.metrics.render(pending_events=self.batcher.pending, pending_limit=self.batcher.max_pending,
                                   cooling_ips=self.cooling.cooling_count(), connections=GUARD.stats())
        return PlainTextResponse(text + "\n".join(self.leak_counts.render()) + "\n",
                                 media_type="text/plain; version=0.0.4")

    async def ping(self, request: Request) -> Response:
        """Liveness without the database. POST reads and parses a JSON body first, so a load test
        can tell what the HTTP stack costs for a verification-shaped request from what checking costs."""
        if request.method == "POST":
            await inputs.read_json(request)
        return JSONResponse({"pong": True})

    # ------------------------------------------------------------------ every response
    def _answer(self, route: str, handler):
        async def endpoint(request: Request) -> Response:
            started = time.perf_counter()
            request.state.code = "-"
            client = request.scope.get("client")
            request.state.ip = client_ip(client[0] if client else None, request.headers.get("x-forwarded-for"),
                                         request.headers.get("x-real-ip"), self.options.networks)
            try:
                response = await handler(request)
            except InputError as exc:
                response = _error(400, f"{exc.field}: {inputs.redact(exc.message)}", inputs.redact(exc.field))
            except CoolingOff as exc:
                request.state.code = RATE_LIMITED
                response = _error(429, f"too many bad tokens from this address; retry after {exc.seconds} s",
                                  headers={"Retry-After": str(exc.seconds)})
            except (CommitTimeout, QueueFull) as exc:
                response = self._unavailable(exc)
            except ClientDisconnect:
                response = _error(400, "the client went away before its request arrived")
            except Exception as exc:  # noqa: BLE001 — one line, no trace, no message (it may quote the request)
                response = self._failed(request, route, exc)
            self.metrics.responded(route, response.status_code)
            if self.options.access_log:
                access.info('%s "%s %s" %d %s %.1fms', request.state.ip or "-", request.method, route,
                            response.status_code, request.state.code, (time.perf_counter() - started) * 1000)
            return response

        return endpoint

    def _unavailable(self, exc: Exception) -> Response:
        fault = self.batcher.fault
        why = f": {fault.message}" if fault is not None else "; retry"
        if isinstance(exc, QueueFull):
            text = f"too many requests are waiting for the activity log{why}"
        elif isinstance(exc, StoreDown):
            text = fault.message if fault is not None else "the database server cannot be reached; retry"
        else:
            text = f"the activity log could not be written in time{why}"
        return _error(503, text, headers={"Retry-After": "1"})

    def _failed(self, request: Request, route: str, exc: Exception) -> Response:
        fault = self.backend.explain(exc)
        if fault is not None:  # a store fault while checking: said once, answered 503 with its words
            if fault.message != self._logged_fault:
                log.error("%s", fault.message)
                self._logged_fault = fault.message
            return _error(503, fault.message, headers={"Retry-After": "1"})
        log.error("%s %s failed: %s", request.method, route, type(exc).__name__)
        return _error(500, "internal error")

    def app(self) -> Starlette:
        routes = [
            Route("/v1/keys/verify", self._answer("/v1/keys/verify", self.verify), methods=["POST"]),
            Route("/v1/auth", self._answer("/v1/auth", self.auth), methods=["GET"]),
            Route("/v1/leaks", self._answer("/v1/leaks", self.leaks), methods=["POST"]),
            Route("/healthz", self._answer("/healthz", self.healthz), methods=["GET"]),
            Route("/metrics", self._answer("/metrics", self.metrics_text), methods=["GET"]),
            Route("/v1/ping", self._answer("/v1/ping", self.ping), methods=["GET", "POST"]),
        ]
        return Starlette(routes=routes, lifespan=self.lifespan,
                         exception_handlers={HTTPException: self._http_error})

    async def _http_error(self, request: Request, exc: HTTPException) -> Response:
        """Unknown paths and methods: JSON like every other answer (the path is not echoed)."""
        self.metrics.responded("other", exc.status_code)
        return _error(exc.status_code, exc.detail, headers=exc.headers)


class VisibleFormatter(logging.Formatter):
    """Log lines carry callers' text (addresses, modules): control characters are made visible,
    so a log viewer's terminal never receives an escape sequence from a request."""

    def format(self, record: logging.LogRecord) -> str:
        return visible(super().format(record))


def configure_logging() -> None:
    """One stream handler for the gateway's own lines, beside uvicorn's."""
    logger = logging.getLogger("keytui.gateway")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(VisibleFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def create_app(options: GatewayOptions | None = None) -> Starlette:
    """The uvicorn factory: each worker process builds its own gateway from the environment."""
    configure_logging()
    options = options or GatewayOptions.from_env()
    GUARD.configure(request_timeout_s=options.request_timeout_s, max_connections=options.max_connections)
    return Gateway(options).app()
