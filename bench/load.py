"""Load test of the chat app: concurrent gradio_client sessions, each telling and asking about its own agent.

    .venv/bin/python bench/load.py --model /path/to/checkpoint     # starts app.py on 127.0.0.1
    .venv/bin/python bench/load.py --url http://127.0.0.1:7860/    # or uses a running app

Every session works on facts about its own agent ("Agent7 went to the kitchen."), so a slot,
support or answer that names another session's agent is a cross-session leak. Every loop is
bounded (sessions x turns, a timeout per call, a deadline for the run) and stops by itself.
Writes the report to bench/results/load.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from gradio_client import Client

REPO = Path(__file__).resolve().parents[1]
ROOMS = ["kitchen", "garden", "office", "bedroom", "hallway", "bathroom"]
AGENT = re.compile(r"\bAgent(\d+)\b")


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, endpoint: str, seconds: float) -> None:
        with self.lock:
            self.latencies[endpoint].append(seconds)

    def fail(self, kind: str, message: str) -> None:
        with self.lock:
            (self.leaks if kind == "leak" else self.errors).append(message)


def _foreign(me: int, *texts: str) -> list[str]:
    return [t for t in texts if t and any(int(n) != me for n in AGENT.findall(t))]


def session(url: str, me: int, turns: int, timeout: float, tally: Tally) -> None:
    """One client: tell, tell, ask, tell, memory, ... for `turns` turns, checking that it only ever sees its own agent."""
    try:
        client = Client(url, verbose=False)
    except Exception as error:  # noqa: BLE001 - every failure is counted, none stops the run
        tally.fail("error", f"session {me}: connect: {error!r}")
        return
    told = 0
    for turn in range(turns):
        if turn % 5 == 2:
            endpoint, args = "/ask", (f"Where is Agent{me}?",)
        elif turn % 10 == 4:
            endpoint, args = "/memory", ()
        else:
            endpoint, args = "/tell", (f"Agent{me} went to the {ROOMS[(me + turn) % len(ROOMS)]}.",)
        start = time.perf_counter()
        try:
            result = client.submit(*args, api_name=endpoint).result(timeout=timeout)
        except Exception as error:  # noqa: BLE001
            tally.fail("error", f"session {me} turn {turn} {endpoint}: {error!r}")
            continue
        tally.record(endpoint, time.perf_counter() - start)
        if endpoint == "/tell":
            told += len(result)
            seen = [slot["resolved"] for slot in result]
        elif endpoint == "/ask":
            seen = [result["answer"], *(hop["text"] for hop in result["hops"])]
        else:
            seen = [slot["resolved"] for slot in result]
            if len(result) != told:
                tally.fail("leak", f"session {me} turn {turn}: /memory has {len(result)} slots, it told {told}")
        for text in _foreign(me, *seen):
            tally.fail("leak", f"session {me} turn {turn} {endpoint}: saw {text!r}")


def start_app(model: str | None, port: int, data_dir: str, wait: float) -> tuple[subprocess.Popen, str]:
    command = [sys.executable, str(REPO / "app.py"), "--host", "127.0.0.1", "--port", str(port), "--data-dir", data_dir]
    process = subprocess.Popen(command + (["--model", model] if model else []), cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"app.py exited with {process.returncode}: {process.stderr.read()[-2000:]}")
        try:
            urllib.request.urlopen(url + "config", timeout=2)
            return process, url
        except OSError:
            time.sleep(0.5)
    process.terminate()
    raise SystemExit(f"app.py did not answer on {url} within {wait:.0f}s")


def percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def report(args: argparse.Namespace, tally: Tally, wall: float, unfinished: int) -> str:
    every = [s for values in tally.latencies.values() for s in values]
    rows = [f"| {name} | {len(v)} | {percentile(v, 50) * 1000:.0f} | {percentile(v, 95) * 1000:.0f} | {max(v) * 1000:.0f} |"
            for name, v in sorted(tally.latencies.items()) + [("all turns", every)] if v]
    lines = [
        "# Load test of the chat app",
        "",
        f"`.venv/bin/python bench/load.py {' '.join(sys.argv[1:])}`".replace("  ", " "),
        "",
        f"{args.sessions} concurrent gradio_client sessions x {args.turns} turns (tell / ask / memory) against app.py on 127.0.0.1;",
        f"machine: {os.cpu_count()} CPU cores, shared with other work; Python {platform.python_version()}.",
        "",
        f"- turns completed: {len(every)} of {args.sessions * args.turns} in {wall:.1f}s ({len(every) / wall:.1f} turns/s)",
        f"- errors: {len(tally.errors)}",
        f"- cross-session leaks: {len(tally.leaks)}",
        f"- sessions still running at the deadline: {unfinished}",
        "",
        "| endpoint | turns | p50 ms | p95 ms | max ms |",
        "|---|---|---|---|---|",
        *rows,
    ]
    for title, items in (("Errors", tally.errors), ("Leaks", tally.leaks)):
        if items:
            lines += ["", f"## {title} (first 20)", "", *(f"- {item}" for item in items[:20])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running app (default: start app.py)")
    parser.add_argument("--model", help="checkpoint for the app it starts (default: the bundled model)")
    parser.add_argument("--port", type=int, default=7870)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per call")
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds allowed for the whole run")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "load.md")
    args = parser.parse_args(argv)

    process, url = (None, args.url) if args.url else start_app(args.model, args.port, tempfile.mkdtemp(prefix="memnet-load-"), 120)
    try:
        tally = Tally()
        threads = [threading.Thread(target=session, args=(url, me, args.turns, args.timeout, tally), daemon=True)
                   for me in range(args.sessions)]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + args.deadline
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        wall = time.perf_counter() - start
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
    text = report(args, tally, wall, sum(t.is_alive() for t in threads))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    return 1 if tally.errors or tally.leaks else 0


if __name__ == "__main__":
    sys.exit(main())
