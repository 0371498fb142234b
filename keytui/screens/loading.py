"""How every screen reads what it shows: one pattern, off the UI thread, and no hidden failure.

`load(fetch, show)` runs `fetch()` (Vault calls only, returning plain values) in a thread
worker, one at a time per screen and group: a newer load supersedes an older one, whose result
is dropped (a thread cannot be stopped, so it is left to finish rather than cancelled); then
`show(value)` runs on the UI thread. A load that fails puts
"Could not load: <reason>" on the screen's `LoadError` line and raises one error notification;
the next good load clears both. `Refreshing` screens also re-read when they are shown and when
the app announces that data changed (its `data_changed_signal`), a burst of changes costing
one read. A page whose first read is slow on a large home starts it as its screen is made
(`read_ahead`), so the read and Textual's building of the page overlap.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, wait
from typing import Any, Callable, ClassVar, Hashable, TypeVar

from textual.worker import Worker, WorkerState

from keytui.widgets.load_error import LoadError

T = TypeVar("T")
PAGE = "page"  # the group that loads the whole screen: its success clears every failure
# How long a page's first refresh waits for a read ahead that is not in yet. Shown through a
# worker, a read finishing a few milliseconds after that refresh came a frame late: the UI thread
# drew the empty page first (Analytics on 100,000 keys: ~150 ms instead of ~100). While it waits
# the UI thread leaves the GIL, so the read runs alone; a slower read still goes to a worker.
READ_AHEAD_WAIT_S = 0.025
REASON_MAX = 160


def in_thread(fn: Callable[..., T], *args, name: str = "read ahead") -> Future:
    """fn(*args) on a daemon thread of its own (a console that exits early does not wait for it)."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # handed to whoever asks for the result
            future.set_exception(exc)

    threading.Thread(target=run, name=name, daemon=True).start()
    return future


def one_line(error: BaseException) -> str:
    """The reason a load failed, in one line (the notification and the error line show it)."""
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= REASON_MAX else text[: REASON_MAX - 1] + "…"


class Loads:
    """Screen mixin: `load()` data in a thread worker, show it on the UI thread, say when it fails."""

    LOAD_WHAT: ClassVar[str] = "this page"  # names the screen in the error notification

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._load_jobs: dict[Worker, tuple[str, Callable[[Any], Any], Callable[[Exception], bool] | None]] = {}
        self._load_failures: dict[str, str] = {}
        self._ahead: list[tuple] | None = None  # reads started before the screen was built

    def load(self, fetch: Callable[[], T], show: Callable[[T], Any], *, group: str = PAGE,
             on_error: Callable[[Exception], bool] | None = None) -> Worker[T] | None:
        """Run `fetch()` off the UI thread, then `show(result)` on it. `on_error` may claim an
        expected error (return True), e.g. a refused filter shown beside its field. While the
        screen reads ahead (not mounted yet, no worker possible) only the read starts."""
        if self._ahead is not None:
            self._ahead.append((in_thread(fetch), show, group, on_error))
            return None
        for older in [w for w, job in self._load_jobs.items() if job[0] == group]:
            del self._load_jobs[older]  # superseded: it finishes unheard
        worker = self.run_worker(fetch, name=f"load {group}", group=f"load-{group}", thread=True, exit_on_error=False)
        self._load_jobs[worker] = (group, show, on_error)
        return worker

    def loading(self, group: str = PAGE) -> bool:
        """Whether a load of `group` is still running."""
        return any(job[0] == group and not worker.is_finished for worker, job in self._load_jobs.items())

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        job = self._load_jobs.get(event.worker)
        if job is None or not event.worker.is_finished:
            return
        del self._load_jobs[event.worker]
        group, show, on_error = job
        if event.state is WorkerState.SUCCESS:
            self.show_loaded(event.worker.result, show, group)
        elif event.state is WorkerState.ERROR:
            error = event.worker.error
            if not (on_error and isinstance(error, Exception) and on_error(error)):
                self.load_failed(group, error)

    def show_loaded(self, value: T, show: Callable[[T], Any], group: str = PAGE) -> None:
        """Show what a load read (or a read already done elsewhere): its group's failures clear."""
        self._load_succeeded(group)
        show(value)

    def load_failed(self, group: str, error: BaseException) -> None:
        """Show the failure on the error line; notify once per failure (a poller failing every
        second says it once), until a good load clears it."""
        reason = one_line(error)
        known = reason in self._load_failures.values()
        self._load_failures[group] = reason
        self._show_failures()
        if not known:
            self.notify(f"Could not load {self.LOAD_WHAT}: {reason}", title="Load failed", severity="error",
                        markup=False)

    @property
    def load_failed_now(self) -> bool:
        return bool(self._load_failures)

    def _load_succeeded(self, group: str) -> None:
        if group == PAGE:
            self._load_failures.clear()
        else:
            self._load_failures.pop(group, None)
        self._show_failures()

    def _show_failures(self) -> None:
        line = next(iter(self.query(LoadError).results(LoadError)), None)
        if line is None:
            return
        if self._load_failures:
            line.fail("; ".join(dict.fromkeys(self._load_failures.values())))
        else:
            line.clear()


class Refreshing(Loads):
    """Screen mixin: re-read (`refresh_data()`) when shown and whenever the app says data changed."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._refresh_queued = False
        self._read_ahead: tuple[Hashable, list[tuple]] | None = None

    def refresh_data(self) -> None:
        """Re-read from the service what this screen shows (with `load`)."""

    def read_ahead_key(self) -> Hashable | None:
        """What the first read depends on (filters, a range), for a page that reads ahead; None:
        it does not (its `refresh_data` needs its widgets)."""
        return None

    def read_ahead(self) -> None:
        """Start the first read now, before the screen is built, on threads of their own: on
        100,000 keys a page's aggregates take as long as Textual takes to build the page, and
        SQLite leaves the GIL while it works, so the two overlap. The first refresh shows it if
        what it depends on is unchanged by then (a page opened on a scope is read again)."""
        key = self.read_ahead_key()
        if key is None:
            return
        self._ahead = []
        try:
            self.refresh_data()
        finally:
            self._read_ahead, self._ahead = (key, self._ahead), None

    def on_mount(self) -> None:
        self.app.data_changed_signal.subscribe(self, self._data_changed)

    def on_screen_resume(self) -> None:
        self._queue_refresh()

    def _data_changed(self, _: object = None) -> None:
        """A screen out of sight waits until it is shown again."""
        if self.is_current:
            self._queue_refresh()

    def _queue_refresh(self) -> None:
        """A burst of reasons to re-read (changes, being shown) is one read."""
        if not self._refresh_queued:
            self._refresh_queued = True
            self.call_later(self._refresh_now)

    def _refresh_now(self) -> None:
        self._refresh_queued = False
        ahead, self._read_ahead = self._read_ahead, None
        if ahead is not None and ahead[0] == self.read_ahead_key():
            wait([future for future, *_ in ahead[1]], timeout=READ_AHEAD_WAIT_S)
            for future, show, group, on_error in ahead[1]:
                if future.done() and future.exception() is None:
                    # in already (usually: it ran while Textual built the page), shown now; a worker
                    # would only hand it over, and its round of messages cost a page ~50 ms
                    self.show_loaded(future.result(), show, group)
                else:
                    self.load(future.result, show, group=group, on_error=on_error)
            return
        self.refresh_data()
