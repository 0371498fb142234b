"""Console benchmarks: start to first rendered Overview, registry open, filter keystroke to
updated table, opening Analytics, every page's time to content beside a trivial Textual app's
mode switch; on the demo data (24 keys) and on 100,000 keys / 1,000,000 events.

    python bench/tui_bench.py [--runs 5] [--skip-large] [--naive-keys 100000] [--no-socket]

Start-up is measured in fresh processes (interpreter start to the first frame showing the
Overview's figures) against a trivial Textual app (Header, Static, Footer) measured the same
way in the same run: each app takes its stamp once the screen has refreshed after its content
is there (the trivial app's is there at its first frame, the Overview's figures may come a
frame later), with the bytecode an installed package has. The rest is measured in-process with Textual's Pilot at 120x40. The large
database is built once with demo.build into $TMPDIR/keytui-bench/schema-N/large-100k and reused.
Each figure is also taken over the socket: the console as a client of `keytui serve --socket`
on the same home (a RemoteVault; every call one HTTP request over the Unix socket).
Pages: in a fresh console each run, each page (keys 2-7, then Enter on the registry's first row
for Key detail) from its key to its content shown (its loads done and the next frame drawn),
beside a trivial Textual app (two modes of Header, Static, Footer) switching mode the same way.
Targets (issue 14), printed MET or MISSED: start <= 1.8x the trivial app's; every page on the
demo data <= 2x the trivial mode switch, and on the large data <= 1.5x its demo figure;
registry open >= 20x faster than a naive DataTable holding every row.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import weakref
from datetime import datetime, timezone
from pathlib import Path

NOW = datetime(2026, 11, 27, 9, 0, tzinfo=timezone.utc)
SIZE = (120, 40)
LARGE_KEYS, LARGE_EVENTS = 100_000, 1_000_000
FILTER_TEXT = "agent"
TYPING_GAP_S = 0.15  # between keystrokes: a quick typist (about 7 characters a second)


# ---------------------------------------------------------------------------------- data
def open_vault(home: Path, operator: str = "bench", **kwargs):
    from keytui.clock import FixedClock
    from keytui.service import Vault

    return Vault.open(home, operator=operator, clock=FixedClock(NOW), **kwargs)


def console_vault(home: Path, sock: Path | None):
    """The console's vault: in process, or the daemon's at `sock` (as a viewer, like read_only)."""
    if sock is None:
        return open_vault(home, read_only=True)
    from keytui.daemon.client import RemoteVault

    return RemoteVault(str(sock), read_only=True, mfa_window_seconds=300)


@contextlib.contextmanager
def daemon(home: Path):
    """`keytui serve --socket` on `home` (clock pinned like the embedded figures); yields the socket."""
    sock = Path(tempfile.mkdtemp(prefix="keytui-bench-")) / "keytui.sock"
    env = dict(os.environ, KEYTUI_NOW=NOW.isoformat())
    proc = subprocess.Popen([sys.executable, "-m", "keytui", "serve", "--socket", str(sock), "--home", str(home)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        from keytui.daemon.run import answers

        for _ in range(600):
            if answers(sock):
                break
            time.sleep(0.05)
        yield sock
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def build(home: Path, keys: int, events: int | None) -> Path:
    marker = home / "built"
    if marker.exists():
        return home
    home.mkdir(parents=True, exist_ok=True)
    vault = open_vault(home)
    started = time.perf_counter()
    report = vault.build_demo(keys=keys, events=events, force=True)
    vault.ctx.db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    vault.close()
    marker.write_text(f"{report}\n")
    print(f"  built {keys:,} keys / {report.events:,} events in {home} ({time.perf_counter() - started:.0f} s)")
    return home


# ---------------------------------------------------------------------------------- start-up (child processes)
def child(kind: str, home: str | None, stamp: str, sock: str | None = None) -> None:
    """Run one app headless; write the wall-clock time of its first frame with data, then exit."""
    from textual.app import App

    def ready(app) -> None:
        Path(stamp).write_text(repr(time.time()))
        app.exit()

    if kind == "trivial":
        from textual.widgets import Footer, Header, Static

        class Trivial(App):
            def compose(self):
                yield Header()
                yield Static("Hello")
                yield Footer()

            def on_ready(self) -> None:
                # as for keytui below: the stamp once the screen has refreshed after the condition
                self.call_after_refresh(ready, self)

        Trivial().run(headless=True, size=SIZE)
        return

    from keytui.app import KeytuiApp

    class Measured(KeytuiApp):
        def on_ready(self) -> None:
            self._check()

        def _check(self) -> None:
            from textual.widgets import Static

            cards = self.screen.query("#card-total .value")
            if cards and str(cards.first(Static).render()) != "-":
                self.call_after_refresh(ready, self)
            else:
                self.set_timer(0.002, self._check)

    vault = console_vault(Path(home), Path(sock) if sock else None)
    Measured(vault, watch_interval=0).run(headless=True, size=SIZE)


def start_once(kind: str, home: Path | None, sock: Path | None = None) -> float:
    with tempfile.NamedTemporaryFile(delete=False) as fh:
        stamp = fh.name
    env = dict(os.environ, KEYTUI_NOW=NOW.isoformat())
    # bytecode as an installed console has it (pip compiles on install; an editable checkout under
    # PYTHONDONTWRITEBYTECODE would compile keytui's modules on every start): the warm-up writes it
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    began = time.time()
    subprocess.run([sys.executable, __file__, "--child", kind, "--home", str(home or ""), "--stamp", stamp]
                   + (["--socket", str(sock)] if sock else []), check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)
    elapsed = float(Path(stamp).read_text()) - began
    os.unlink(stamp)
    return elapsed


def start_times(apps: dict[str, tuple], runs: int) -> dict[str, float]:
    """Median start of each app (kind, home[, socket]); the apps take turns, after one warm-up
    round (warm file caches), so a busy moment on the machine hits them alike."""
    times: dict[str, list[float]] = {label: [] for label in apps}
    for _ in range(runs + 1):
        for label, app in apps.items():
            times[label].append(start_once(*app))
    return {label: statistics.median(t[1:]) for label, t in times.items()}


# ---------------------------------------------------------------------------------- in-process (Pilot)
async def press_until(pilot, key: str, condition, timeout: float = 60.0) -> float:
    """Seconds from pressing `key` until `condition()` holds and the next frame is drawn.

    Pilot.press also waits for animations (the tab underline), which a user does not wait for,
    so the key is pressed in a task and the condition is polled beside it.
    """
    started = time.perf_counter()
    task = asyncio.create_task(pilot.press(key))
    while not condition():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"pressing {key!r}: condition not met")
        await asyncio.sleep(0.0005)
    await asyncio.sleep(1 / 60)  # one frame
    elapsed = time.perf_counter() - started
    await task
    return elapsed


def rows_shown(app) -> bool:
    keys = app.screen.query("#keys") if app.screen.PAGE == "registry" else None
    return bool(keys) and keys.first().row_count > 0


async def console_figures(home: Path, runs: int, sock: Path | None = None) -> dict[str, float]:
    from keytui.app import KeytuiApp
    from keytui.screens.registry import fetch_window

    vault = console_vault(home, sock)
    out: dict[str, list[float]] = {"registry": [], "filter": [], "filter_work": [], "analytics": []}
    for _ in range(runs):
        app = KeytuiApp(vault, watch_interval=0)
        async with app.run_test(size=SIZE) as pilot:
            out["registry"].append(await press_until(pilot, "2", lambda: rows_shown(app)))
            screen = app.screen
            await pilot.press("slash")
            typed = ""
            for ch in FILTER_TEXT:
                typed += ch
                await asyncio.sleep(TYPING_GAP_S)
                out["filter"].append(await press_until(
                    pilot, ch, lambda: screen.shown_listing and screen.shown_listing.key_filter.search == typed))
                t = time.perf_counter()
                fetch_window(vault, screen.listing(), 0)  # the worker's part after the debounce (count: another)
                out["filter_work"].append(time.perf_counter() - t)
            await pilot.press("enter")  # leave the filter box
            out["analytics"].append(await press_until(
                pilot, "6", lambda: app.screen.PAGE == "analytics" and app.screen.usage is not None))
    vault.close()
    return {k: statistics.median(v) for k, v in out.items()}


PAGES = [("Registry", "2"), ("Key detail", "enter"), ("Scopes", "3"), ("Permissions", "4"), ("Policies", "5"),
         ("Analytics", "6"), ("Activity", "7")]
START_TARGET, PAGE_TARGET, LARGE_TARGET = 1.8, 2.0, 1.5


def track_loads() -> weakref.WeakKeyDictionary:
    """Count, per screen, the loads it has shown (keytui.screens.loading: every read's value goes
    through `show_loaded`, from a worker or read ahead): a page's content is on screen once it has
    shown one and has none left running."""
    from keytui.screens.loading import Loads

    shown: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    original = Loads.show_loaded
    if getattr(original, "tracked", False):
        return original.tracked

    def show_loaded(self, value, show, group="page"):
        result = original(self, value, show, group)
        shown[self] = shown.get(self, 0) + 1
        return result

    show_loaded.tracked = shown
    Loads.show_loaded = show_loaded
    return shown


def content_shown(app, shown, name: str) -> bool:
    screen = app.screen
    page = "key detail" if type(screen).__name__ == "KeyDetailScreen" else getattr(screen, "PAGE", "")
    return page == name.lower() and shown.get(screen, 0) > 0 and not screen._load_jobs


async def page_figures(home: Path, runs: int, sock: Path | None = None) -> dict[str, float]:
    """Median time from each page's key to its content, first visit in a fresh console each run."""
    from keytui.app import KeytuiApp

    shown = track_loads()
    vault = console_vault(home, sock)
    out: dict[str, list[float]] = {name: [] for name, _ in PAGES}
    for _ in range(runs):
        app = KeytuiApp(vault, watch_interval=0)
        async with app.run_test(size=SIZE) as pilot:
            await press_until(pilot, "1", lambda: content_shown(app, shown, "overview"))
            for name, key in PAGES:
                out[name].append(await press_until(pilot, key, lambda: content_shown(app, shown, name)))
                if key == "enter":
                    await pilot.press("escape")
    vault.close()
    return {k: statistics.median(v) for k, v in out.items()}


async def trivial_switch(runs: int) -> float:
    """Median time for a trivial Textual app to switch to a mode not shown before."""
    from textual.app import App
    from textual.screen import Screen
    from textual.widgets import Footer, Header, Static

    class Page(Screen):
        def __init__(self, text: str):
            super().__init__()
            self.text = text

        def compose(self):
            yield Header()
            yield Static(self.text, id="content")
            yield Footer()

    class Trivial(App):
        MODES = {"one": lambda: Page("one"), "two": lambda: Page("two")}
        DEFAULT_MODE = "one"
        BINDINGS = [("2", "switch_mode('two')", "Two")]

    times = []
    for _ in range(runs):
        app = Trivial()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            times.append(await press_until(pilot, "2", lambda: app.current_mode == "two"
                                           and bool(app.screen.query("#content"))))
    return statistics.median(times)


async def naive_registry(home: Path, limit: int) -> float:
    """A DataTable given every key (what the registry avoids), timed to its first frame."""
    from textual.app import App
    from textual.widgets import DataTable

    from keytui.widgets.key_table import COLUMNS, key_cells

    vault = open_vault(home, read_only=True)

    class Naive(App):
        def compose(self):
            yield DataTable()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            for column in COLUMNS:
                table.add_column(column.label, key=column.key, width=column.width)
            now = vault.now()
            table.add_rows(tuple(key_cells(v, now).values()) for v in vault.list_keys(limit=limit))

    app = Naive()
    t = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        elapsed = time.perf_counter() - t
    vault.close()
    return elapsed


async def screenshots(home: Path, out: Path) -> None:
    """The README's pictures: Overview and Registry at 120x40 on the demo data, as SVG."""
    from keytui.app import KeytuiApp

    vault = open_vault(home, operator="alice")
    app = KeytuiApp(vault, watch_interval=0)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()  # every page loads in workers
        await pilot.pause()
        (out / "overview.svg").write_text(app.export_screenshot(title="keytui: Overview"))
        await pilot.press("2")
        await app.workers.wait_for_complete()
        await pilot.pause()
        (out / "registry.svg").write_text(app.export_screenshot(title="keytui: Registry"))
    vault.close()


# ---------------------------------------------------------------------------------- report
def measure(homes: dict[str, Path], socks: dict[str, Path], runs: int) -> dict[str, dict[str, float]]:
    """Every figure per home, embedded and (where a daemon runs) over its socket."""
    apps = {"trivial": ("trivial", None)}
    for label, home in homes.items():
        apps[label] = ("keytui", home)
        if label in socks:
            apps[f"{label}, socket"] = ("keytui", home, socks[label])
    starts = start_times(apps, runs)
    rows = {"trivial": {"start": starts["trivial"], "switch": asyncio.run(trivial_switch(runs))}}
    for label, home in homes.items():
        rows[label] = dict(asyncio.run(console_figures(home, runs)), **asyncio.run(page_figures(home, runs)),
                           start=starts[label])
        if label in socks:
            rows[f"{label}, socket"] = dict(asyncio.run(console_figures(home, runs, socks[label])),
                                            **asyncio.run(page_figures(home, runs, socks[label])),
                                            start=starts[f"{label}, socket"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--skip-large", action="store_true", help="demo data only")
    parser.add_argument("--naive-keys", type=int, default=LARGE_KEYS, help="rows the naive table loads")
    parser.add_argument("--screenshots", metavar="DIR", help="only write overview.svg and registry.svg to DIR")
    parser.add_argument("--no-socket", action="store_true", help="embedded figures only (no daemon)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--home", help=argparse.SUPPRESS)
    parser.add_argument("--stamp", help=argparse.SUPPRESS)
    parser.add_argument("--socket", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.home, args.stamp, args.socket)
        return

    from keytui.store.migrations import SCHEMA_VERSION

    # a build per schema: a read-only console refuses a home that needs an upgrade
    root = Path(tempfile.gettempdir()) / "keytui-bench" / f"schema-{SCHEMA_VERSION}"
    homes = {"demo (24 keys)": build(root / "demo-24", 24, None)}
    if args.screenshots:
        asyncio.run(screenshots(homes["demo (24 keys)"], Path(args.screenshots)))
        return
    if not args.skip_large:
        homes["large (100k keys, 1M events)"] = build(root / "large-100k", LARGE_KEYS, LARGE_EVENTS)

    with contextlib.ExitStack() as stack:
        socks = {} if args.no_socket else {label: stack.enter_context(daemon(home)) for label, home in homes.items()}
        rows = measure(homes, socks, args.runs)
    baseline = rows.pop("trivial")
    trivial, switch = baseline["start"], baseline["switch"]
    print(f"\nkeytui console benchmarks (median of {args.runs}; {SIZE[0]}x{SIZE[1]}; Python {sys.version.split()[0]}; "
          f"load average {os.getloadavg()[0]:.1f})")
    print(f"  trivial Textual app (Header, Static, Footer) start: {trivial * 1000:7.0f} ms; "
          f"mode switch: {switch * 1000:.1f} ms")
    names = list(rows)
    width = max([30] + [len(n) + 2 for n in names])
    header = f"  {'measure':<44}" + "".join(f"{n:>{width}}" for n in names)
    if len(names) == 2 and not socks:
        header += f"{'large/demo':>12}"
    print(header)
    measures = [("start", "start to first rendered Overview"), ("registry", "open Registry (2) to rows shown"),
                ("filter", "filter keystroke to updated table*"),
                ("filter_work", "  of which the window query (worker)"),
                ("analytics", "open Analytics (6) to charts shown")] + \
               [(name, f"page: {name} to content shown") for name, _ in PAGES]
    for key, label in measures:
        line = f"  {label:<44}" + "".join(f"{rows[n][key] * 1000:{width - 3}.1f} ms" for n in names)
        if len(names) == 2 and not socks:
            line += f"{rows[names[1]][key] / rows[names[0]][key]:11.2f}x"
        print(line)
    from keytui.screens.registry import FILTER_DEBOUNCE_S

    print("  * typing 'agent' with {:.0f} ms between keys; includes the filter box's debounce (FILTER_DEBOUNCE_S = "
          "{:.0f} ms); the total count follows from a worker".format(TYPING_GAP_S * 1000, FILTER_DEBOUNCE_S * 1000))
    met: list[bool] = []
    for label in names:
        ratio = rows[label]["start"] / trivial
        met.append(ratio <= START_TARGET)
        print(f"  {label}: start / trivial start = {ratio:.2f}x (target <= {START_TARGET:g}x): {verdict(met[-1])}")
    demo_label = names[0]
    for name, _ in PAGES:
        ratio = rows[demo_label][name] / switch
        met.append(ratio <= PAGE_TARGET)
        line = (f"  {name}: {demo_label} {ratio:.2f}x the trivial mode switch (target <= {PAGE_TARGET:g}x): "
                f"{verdict(met[-1])}")
        for label in names[1:]:
            if label.startswith("large") and "socket" not in label:
                grown = rows[label][name] / rows[demo_label][name]
                met.append(grown <= LARGE_TARGET)
                line += f"; large / demo {grown:.2f}x (target <= {LARGE_TARGET:g}x): {verdict(met[-1])}"
        print(line)
    if not args.skip_large:
        large = [n for n in names if n.startswith("large")][0]
        naive = asyncio.run(naive_registry(homes[large], args.naive_keys))
        faster = naive / rows[large]["registry"]
        met.append(faster >= 20)
        print(f"  naive DataTable with {args.naive_keys:,} rows to first frame: {naive * 1000:,.0f} ms; "
              f"registry open: {rows[large]['registry'] * 1000:,.1f} ms -> {faster:.0f}x faster "
              f"(target >= 20x): {verdict(met[-1])}")
    print(f"  targets met: {sum(met)} of {len(met)}")


def verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


if __name__ == "__main__":
    main()
