"""Review page speed at scale (a script, not a test): the next document at 100,000 documents.

    python benchmarks/bench_review_page.py [--documents 100000] [--moves 30] [--keep PATH] [--browser]

The target: the Review page moves to the next document in under 300 ms with 100,000 documents
in the ledger. A ledger is filled through the ledger's own API with the sandbox's realistic
results (bench_pages.fill: 10 uploads of 100-document batches), then the whole dashboard script
(app.py, the sidebar, the Review page) runs under AppTest as a reviewer works through the queue:
each "move" is one key press's run, Confirm (decide, claim the next, count, draw it) or Next
(let go, claim the next, count, draw it), timed from the press to the drawn page. Printed: the
first run (the queue chosen once over the whole ledger), then the median, 90th percentile and
slowest move of each kind, and the same on a 300-document ledger for comparison. The time spent
inside Ledger calls is printed too (bench_pages.LedgerClock), so the page's own share shows.

--browser also times it as a reviewer sees it: `streamlit run` on the large ledger, headless
Chromium (Debian's), Ctrl+Enter and Ctrl+Down pressed in turns, each timed from the key press
until the next document's heading is on the screen (a requestAnimationFrame after it changed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("STREAMLIT_LOGGER_LEVEL", "error")  # AppTest's bare-mode warnings, per run

from bench_pages import CLOCK, fill  # noqa: E402

TARGET_MS = 300.0
SMALL = 300


def moves(db: Path, workdir: Path, count: int) -> dict[str, list[float]]:
    """Seconds per run: the first (name typed, queue chosen), then Confirm and Next in turns."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    for name in [n for n in os.environ if n.startswith("ATLAS_")]:
        del os.environ[name]
    os.environ["ATLAS_DB_PATH"] = str(db)
    os.environ["ATLAS_SANDBOX_STATE_PATH"] = str(workdir / "sandbox.jsonl")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=600)
    at.secrets["atlas"] = {"product_types": "POC_CDL"}
    at.run()
    at.switch_page("app_pages/review.py").run()
    times: dict[str, list[float]] = {"first": [], "confirm": [], "next": [], "ledger": []}
    CLOCK.seconds = 0.0
    start = time.perf_counter()
    at.text_input(key="reviewer_input").input("bench").run()
    times["first"].append(time.perf_counter() - start)
    shown = _document(at)
    assert shown, f"no document on the page: {[e.value for e in at.error]}"
    for n in range(count):
        kind = "confirm" if n % 2 == 0 else "next"
        button = at.button(key="review_confirm" if kind == "confirm" else "review_next")
        CLOCK.seconds = 0.0
        start = time.perf_counter()
        button.click().run()
        times[kind].append(time.perf_counter() - start)
        times["ledger"].append(CLOCK.seconds)
        assert not at.exception, [e.value for e in at.exception]
        now = _document(at)
        assert now and now != shown, f"the page did not move on from {shown}"
        shown = now
    st.cache_resource.clear()
    return times


def browser_moves(db: Path, count: int) -> dict[str, list[float]]:
    """Seconds from a key press to the next document on screen, in real Chromium."""
    sys.path.insert(0, str(ROOT / "tests" / "browser"))
    from conftest import CHROMIUM, CHROMIUM_ARGS, start_dashboard  # the browser tests' harness
    from playwright.sync_api import sync_playwright

    workdir = db.parent / "browser"
    workdir.mkdir(exist_ok=True)
    (workdir / "atlas.db").unlink(missing_ok=True)
    os.link(db, workdir / "atlas.db")  # the same ledger file, under the dashboard's folder
    app = start_dashboard(workdir)
    times: dict[str, list[float]] = {"confirm": [], "next": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(f"{app.url}/review")
            name = page.get_by_label("Your name (recorded with each decision)")
            name.fill("bench-browser")
            name.press("Enter")
            heading = page.get_by_role("heading", name="Document ", exact=False).first
            heading.wait_for(timeout=120_000)
            for n in range(count):
                kind, keys = ("confirm", "Control+Enter") if n % 2 == 0 else ("next", "Control+ArrowDown")
                before = heading.inner_text()
                page.evaluate("() => document.activeElement && document.activeElement.blur()")
                start = time.perf_counter()
                page.keyboard.press(keys)
                page.wait_for_function(
                    """before => new Promise(done => {
                        const h = [...document.querySelectorAll('h3')].find(e => e.innerText.startsWith('Document '));
                        if (!h || h.innerText === before) return done(false);
                        requestAnimationFrame(() => done(true));
                    })""",
                    arg=before, timeout=30_000, polling=5,
                )
                times[kind].append(time.perf_counter() - start)
            browser.close()
    finally:
        app.stop()
        (workdir / "atlas.db").unlink(missing_ok=True)
    return times


def _document(at) -> str | None:  # type: ignore[no-untyped-def]
    heads = [s.value for s in at.subheader if s.value.startswith("Document ")]
    return heads[0] if heads else None


def _line(label: str, seconds: list[float]) -> str:
    ms = sorted(s * 1000 for s in seconds)
    p90 = ms[min(len(ms) - 1, int(len(ms) * 0.9))]
    return (
        f"  {label:<10} median {statistics.median(ms):7.1f} ms   p90 {p90:7.1f} ms   "
        f"slowest {ms[-1]:7.1f} ms   ({len(ms)} runs)"
    )


def report(title: str, times: dict[str, list[float]]) -> float:
    """Print one ledger's figures; return the slowest median move in ms."""
    print(f"\n{title}")
    print(f"  first run (name typed, queue chosen over the ledger): {times['first'][0] * 1000:.0f} ms")
    for kind in ("confirm", "next"):
        print(_line(kind, times[kind]))
    print(_line("in ledger", times["ledger"]))
    return max(statistics.median(times[k]) for k in ("confirm", "next")) * 1000


def main() -> None:
    """Fill the ledgers (or reuse --keep) and print the moves' timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--moves", type=int, default=30)
    parser.add_argument("--keep", type=Path, help="fill this ledger file once and reuse it after")
    parser.add_argument("--browser", action="store_true", help="also time the moves in Chromium")
    args = parser.parse_args()
    CLOCK.install()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        large = args.keep or work / "large.db"
        if not large.exists():
            start = time.perf_counter()
            fill(large, args.documents)
            print(f"filled {args.documents:,} documents in {time.perf_counter() - start:.0f} s")
        elif args.keep:
            # A kept ledger: start each run from a queue nobody has touched.
            import sqlite3

            with sqlite3.connect(large) as db:
                db.execute("DELETE FROM corrections")
                db.execute("DELETE FROM reviews")
                db.execute("DELETE FROM review_sync")
        fill(work / "small.db", SMALL, uploads=1)
        small_median = report(f"{SMALL} documents", moves(work / "small.db", work, args.moves))
        large_median = report(f"{args.documents:,} documents", moves(large, work, args.moves))
        if args.browser:
            seen = browser_moves(large, args.moves)
            print(f"\n{args.documents:,} documents, in Chromium (key press to the next document on screen)")
            for kind in ("confirm", "next"):
                print(_line(kind, seen[kind]))
    verdict = "within" if large_median < TARGET_MS else "OVER"
    print(
        f"\nnext document at {args.documents:,} documents: {large_median:.0f} ms median "
        f"({verdict} the {TARGET_MS:.0f} ms target; {small_median:.0f} ms at {SMALL})"
    )


if __name__ == "__main__":
    main()
