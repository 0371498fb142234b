"""How every screen reads what it shows: one pattern, off the UI thread, and no hidden failure.

`load(fetch, show)` runs `fetch()` (Vault calls only, returning plain values) in a thread
worker, one at a time per screen and group: a newer load supersedes an older one, whose result
is dropped (a thread cannot be stopped, so it is left to finish rather than cancelled); then
`show(value)` runs on the UI thread. A load that fails puts
"Could not load: <reason>" on the screen's `LoadError` line and raises one error notification;
the next good load clears both. `Refreshing` screens also re-read when they are shown and when
the app announces that data changed (its `data_changed_signal`), a burst of changes costing
one read.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, TypeVar

from textual.worker import Worker, WorkerState

from keytui.widgets.load_error import LoadError

T = TypeVar("T")
PAGE = "page"  # the group that loads the whole screen: its success clears every failure
REASON_MAX = 160


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

    def load(self, fetch: Callable[[], T], show: Callable[[T], Any], *, group: str = PAGE,
             on_error: Callable[[Exception], bool] | None = None) -> Worker[T]:
        """Run `fetch()` off the UI thread, then `show(result)` on it. `on_error` may claim an
        expected error (return True), e.g. a refused filter shown beside its field."""
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

    def refresh_data(self) -> None:
        """Re-read from the service what this screen shows (with `load`)."""

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
        self.refresh_data()
