"""Benchmark: label 1,000 frames in a real browser at a fixed key interval.

Starts ``rmeval label`` on a synthetic 1,000-frame dataset (400x300 PNGs, written to a
temporary directory), opens the labelling page in headless Debian chromium (Playwright),
and plays a rater: before each key it reads which frame is on screen, then presses G or N
(seeded random) every ``--interval`` ms. Prints:

- keypress-to-frame-shown latency, p50 / p95 / max, measured in the page: from the key
  event's timestamp to the first paint after the next frame was put on screen;
- misattributed answers: stored on a frame that was not on screen when its key was pressed,
  or with another label than the key pressed on it;
- lost answers: keys pressed on a shown frame with no stored answer and no visible
  "not saved" note; keys dropped or ignored *with* a note are counted apart;
- the load average before and after.

    python benchmarks/bench_labelling.py                  # 1,000 frames, 150 ms
    python benchmarks/bench_labelling.py --frames 300 --interval 100
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from machine import cpu_model, load_average, usable_cores

from rmeval.dataset import DatasetMetadata, write_dataset

VIEW = "iframe[title='rmeval.labeling.pages.frame_view.frame_view']"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def make_dataset(root: Path, n: int) -> Path:
    rng = np.random.default_rng(0)
    h, w = 300, 400
    frames = np.empty((n, h, w, 3), dtype=np.uint8)
    yy, xx = np.mgrid[0:h, 0:w]
    for i in range(n):
        f = np.zeros((h, w, 3), dtype=np.uint8)
        f[..., 0] = (xx + 3 * i) % 256
        f[..., 1] = (yy + 5 * i) % 256
        f[..., 2] = 90
        x = 20 + (i * 7) % (w - 80)
        f[120:180, x : x + 60] = rng.integers(0, 256, size=(60, 60, 3), dtype=np.uint8)
        frames[i] = f
    index = pd.DataFrame({"episode": np.arange(n) // 100, "step": np.arange(n) % 100,
                          "label": pd.array([None] * n, dtype="Int8")})
    meta = DatasetMetadata(env="Bench-v0", task="square", goal_prompts=["a noisy square on the left"],
                           baseline_prompts=["a square"], name="bench-labelling", label_rule="", description="benchmark")
    return write_dataset(root / "bench", frames, index, meta).root


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=1000)
    ap.add_argument("--interval", type=float, default=150.0, help="ms between key presses")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    a = ap.parse_args()
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="bench-labelling-"))
    proc = None
    try:
        print(f"machine: {cpu_model()}, {usable_cores()} cores; load before: {load_average()}")
        root = make_dataset(tmp, a.frames)
        size = sum(p.stat().st_size for p in (root / "frames").iterdir()) / a.frames / 1024
        print(f"dataset: {a.frames} frames of 400x300, PNG {size:.0f} KiB on average")
        db = tmp / "labels.sqlite"
        port = free_port()
        log = open(tmp / "server.log", "wb")
        proc = subprocess.Popen([sys.executable, "-m", "rmeval", "label", "--dataset", str(root), "--db", str(db),
                                 "--port", str(port)], cwd=tmp, stdout=log, stderr=subprocess.STDOUT,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"))
        url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        rng = np.random.default_rng(1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=a.chromium, args=CHROMIUM_ARGS, headless=True)
            page = browser.new_context(viewport={"width": 1440, "height": 900}).new_page()
            page.goto(f"{url}/?rater=bench")
            view = page.frame_locator(VIEW).last
            view.locator("#caption", has_text="frames/000000.png").wait_for(timeout=60_000)
            frame = next(f for f in page.frames if "frame_view" in f.url and f.evaluate("!document.getElementById('app').hidden"))
            seen: list[tuple[str, int]] = []
            t0 = time.perf_counter()
            for i in range(a.frames):
                cap = frame.evaluate("document.getElementById('caption').textContent")
                shown = cap.split("\u00b7 ")[-1].strip() if cap.startswith("Frame ") else ""
                label = int(rng.integers(0, 2))
                page.keyboard.press("g" if label else "n")
                seen.append((shown, label))
                wait = t0 + (i + 1) * a.interval / 1000 - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            elapsed = time.perf_counter() - t0
            for _ in range(300):  # until every answer is acknowledged
                if frame.evaluate("JSON.parse(sessionStorage.getItem(Object.keys(sessionStorage)[0])).pending.length") == 0:
                    break
                time.sleep(0.1)
            stats = frame.evaluate("window.__rmevalFrameView")
            browser.close()
        con = sqlite3.connect(db)
        rows = con.execute(
            "SELECT e.frame, e.label, a.shown_at, a.key_at FROM label_events AS e JOIN answer_receipts AS a "
            "ON a.event_id = e.id WHERE e.kind = 'label' ORDER BY e.id").fetchall()
        con.close()
        stored: dict[str, list[int]] = {}
        for f, lab, _s, _k in rows:
            stored.setdefault(f, []).append(lab)
        pressed = {f: lab for f, lab in seen if f}
        blank = sum(1 for f, _lab in seen if not f)
        misattributed = sum(1 for f, labs in stored.items() if f in pressed and labs != [pressed[f]])
        unseen = sum(1 for f in stored if f not in pressed)
        noted = int(stats["dropped"]) + int(stats["ignored"])
        print(f"dropped (no frame on screen): {stats['dropped']}; ignored (bounce, held or second key on one display): {stats['ignored']}")
        lost = max(0, sum(1 for f in pressed if f not in stored) - noted)
        not_shown = sum(1 for *_x, s, k in rows if s is not None and k is not None and k < s)
        ms = np.array([k["ms"] for k in stats["keys"]])
        print(f"keys pressed: {len(seen)} in {elapsed:.1f} s ({a.interval:g} ms apart); answers stored: {len(rows)}")
        print(f"key event -> frame painted: p50 {np.percentile(ms, 50):.1f} ms, p95 {np.percentile(ms, 95):.1f} ms, "
              f"max {ms.max():.1f} ms (n={ms.size})")
        print(f"misattributed answers (observer: another label than pressed on the frame it saw): {misattributed}; "
              f"stored on a frame the observer did not see: {unseen} (keys it pressed while the view showed no "
              f"frame: {blank}); stored with the key before the frame was painted: {not_shown}")
        print(f"lost answers: {lost}; dropped/ignored with a visible note: {noted}")
        truth = {a_["seq"]: (a_["frame"], a_["label"]) for a_ in stats["answers"]}
        con = sqlite3.connect(db)
        by_seq = con.execute("SELECT a.seq, e.frame, e.label FROM answer_receipts AS a JOIN label_events AS e "
                             "ON a.event_id = e.id WHERE e.kind != 'retract'").fetchall()
        con.close()
        wrong = sum(1 for seq, f, lab in by_seq if truth.get(seq) != (f, lab))
        print(f"stored answers that differ from the frame/label the page showed at the key: {wrong} of {len(by_seq)}; "
              f"answers the page sent that are not stored: {len(set(truth) - {r[0] for r in by_seq})}")
        if stats["drops"]:
            states: dict[str, int] = {}
            for d in stats["drops"]:
                states[str(d.get("state"))] = states.get(str(d.get("state")), 0) + 1
            print(f"the frame awaited at each drop was: {states}")
        if stats["errors"]:
            print(f"frame fetches that failed (retried): {stats['errors']}")
        print(f"load after: {load_average()}")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=20)
        if os.environ.get("KEEP_LOG"):
            shutil.copy(tmp / "server.log", os.environ["KEEP_LOG"])
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
