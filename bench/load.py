"""Load test of the chat app through a light HTTP client, and the cost of a statement turn as the memory grows.

    .venv/bin/python bench/load.py                                  # starts app.py on 127.0.0.1 (bundled model)
    .venv/bin/python bench/load.py --model /path/to/checkpoint --sessions 20 --turns 50

Part 1: concurrent sessions, each on its own session key, telling and asking about its own agent
("Agent7 went to the kitchen."), so a slot, support or answer that names another session's agent
is a cross-session leak. Part 2: statement turns (/tell of one statement) in a session holding 10
slots and in one holding 3,000, one at a time; the target is p50 at 3,000 <= 1.5 x p50 at 10.
The client speaks gradio's HTTP queue API directly (POST /gradio_api/call/NAME, then read the
event stream), without gradio_client's per-call overhead. Every loop is bounded (a timeout per
call, a deadline for the run). Writes bench/results/load.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
ROOMS = ["kitchen", "garden", "office", "bedroom", "hallway", "bathroom"]
AGENT = re.compile(r"\bAgent(\d+)\b")


class LightClient:
    """gradio's queue over plain HTTP: one POST to enqueue a call, one GET to read its result."""

    def __init__(self, url: str, timeout: float = 60.0):
        self.http = httpx.Client(base_url=url, timeout=timeout)

    def call(self, api: str, *data):
        """The endpoint's first output; RuntimeError with gradio's message if it failed."""
        posted = self.http.post(f"gradio_api/call/{api}", json={"data": list(data)})
        posted.raise_for_status()
        kind = None
        with self.http.stream("GET", f"gradio_api/call/{api}/{posted.json()['event_id']}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:") and kind == "complete":
                    return json.loads(line[5:])[0]
                elif line.startswith("data:") and kind == "error":
                    raise RuntimeError(f"{api}: {line[5:].strip()}")
        raise RuntimeError(f"{api}: the stream ended without a result")

    def close(self) -> None:
        self.http.close()


def start_app(port: int, data_dir: str, model: str | None = None, wait: float = 180) -> tuple[subprocess.Popen, str]:
    """app.py on 127.0.0.1:`port` with `data_dir`, once it answers; SystemExit if it does not."""
    command = [sys.executable, str(REPO / "app.py"), "--host", "127.0.0.1", "--port", str(port), "--data-dir", data_dir]
    process = subprocess.Popen(command + (["--model", model] if model else []), cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"app.py exited with {process.returncode}: {process.stderr.read()[-2000:]}")
        try:
            httpx.get(url + "config", timeout=2)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.3)
    process.kill()
    raise SystemExit(f"app.py did not answer on {url} within {wait:.0f}s")


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def machine() -> str:
    return f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), Python {platform.python_version()}"


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
    """One client on its own key: tell, tell, ask, tell, memory, ... checking it only ever sees its own agent."""
    client, key, told = LightClient(url, timeout), secrets.token_urlsafe(16), 0
    try:
        for turn in range(turns):
            if turn % 5 == 2:
                endpoint, args = "ask", (f"Where is Agent{me}?", key, f"{me}-{turn}")
            elif turn % 10 == 4:
                endpoint, args = "memory", (key,)
            else:
                endpoint, args = "tell", (f"Agent{me} went to the {ROOMS[(me + turn) % len(ROOMS)]}.", key, f"{me}-{turn}")
            start = time.perf_counter()
            try:
                result = client.call(endpoint, *args)
            except Exception as error:  # noqa: BLE001 - every failure is counted, none stops the run
                tally.fail("error", f"session {me} turn {turn} /{endpoint}: {error!r}")
                continue
            tally.record("/" + endpoint, time.perf_counter() - start)
            if endpoint == "tell":
                told += len(result)
                seen = [slot["resolved"] for slot in result]
            elif endpoint == "ask":
                seen = [result["answer"], *(hop["text"] for hop in result["hops"])]
            else:
                seen = [slot["resolved"] for slot in result]
                if len(result) != told:
                    tally.fail("leak", f"session {me} turn {turn}: /memory has {len(result)} slots, it told {told}")
            for text in _foreign(me, *seen):
                tally.fail("leak", f"session {me} turn {turn} /{endpoint}: saw {text!r}")
    finally:
        client.close()


def concurrent(url: str, args: argparse.Namespace) -> dict:
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
    every = [s for values in tally.latencies.values() for s in values]
    return {"sessions": args.sessions, "turns": args.turns, "completed": len(every), "wall_s": round(wall, 1),
            "errors": tally.errors, "leaks": tally.leaks, "unfinished": sum(t.is_alive() for t in threads),
            "latency_ms": {name: {"n": len(v), "p50": percentile(v, 50) * 1000, "p95": percentile(v, 95) * 1000,
                                  "max": max(v) * 1000}
                           for name, v in sorted(tally.latencies.items()) + [("all turns", every)] if v}}


def statement_cost(url: str, sizes: list[int], repeats: int, timeout: float) -> dict:
    """p50 / p95 of a one-statement /tell in sessions of each size. The sessions are filled first
    (250 statements per /tell), then timed in turn, one call each per round, so that load from
    other work on the machine falls on every size alike."""
    client, keys, times = LightClient(url, timeout), {}, defaultdict(list)
    try:
        for size in sizes:
            keys[size] = secrets.token_urlsafe(16)
            for start in range(0, size, 250):
                text = " ".join(f"Person{i} went to the room{i % 97}." for i in range(start, min(size, start + 250)))
                client.call("tell", text, keys[size], "")
        held = {size: len(client.call("memory", keys[size])) for size in sizes}
        for i in range(repeats):
            for size in sizes:
                begin = time.perf_counter()
                client.call("tell", f"Visitor{i} went to the hall{i % 7}.", keys[size], f"cost-{i}")
                times[size].append(time.perf_counter() - begin)
    finally:
        client.close()
    return {size: {"slots": held[size], "p50_ms": percentile(times[size], 50) * 1000,
                   "p95_ms": percentile(times[size], 95) * 1000} for size in sizes}


def report(args: argparse.Namespace, load: dict, cost: dict) -> str:
    small, large = cost[min(cost)], cost[max(cost)]
    ratio = large["p50_ms"] / small["p50_ms"]
    lines = ["# Load test of the chat app", "", f"`.venv/bin/python bench/load.py {' '.join(sys.argv[1:])}`".replace(" `", "`"), "",
             f"app.py on 127.0.0.1 ({args.model or 'bundled model'}), a light HTTP client on gradio's queue API "
             f"(POST /gradio_api/call/NAME + event stream); machine: {machine()}, shared with other work.", "",
             f"## {load['sessions']} concurrent sessions x {load['turns']} turns (tell / ask / memory), each on its own session key", "",
             f"- turns completed: {load['completed']} of {load['sessions'] * load['turns']} in {load['wall_s']}s "
             f"({load['completed'] / load['wall_s']:.1f} turns/s)",
             f"- errors: {len(load['errors'])}", f"- cross-session leaks: {len(load['leaks'])}",
             f"- sessions still running at the deadline: {load['unfinished']}", "",
             "| endpoint | turns | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|",
             *(f"| {name} | {v['n']} | {v['p50']:.0f} | {v['p95']:.0f} | {v['max']:.0f} |" for name, v in load["latency_ms"].items()),
             "", f"## Statement turn cost against memory size ({args.repeats} one-statement /tell calls per size, "
             "one at a time, sizes alternating; before the concurrent part)", "",
             "| slots held | p50 ms | p95 ms |", "|---|---|---|",
             *(f"| {row['slots']:,} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} |" for row in cost.values()), "",
             f"p50 at {large['slots']:,} slots / p50 at {small['slots']:,} slots: **{ratio:.2f}** (target <= 1.5)."]
    for title, items in (("Errors", load["errors"]), ("Leaks", load["leaks"])):
        if items:
            lines += ["", f"## {title} (first 20)", "", *(f"- {item}" for item in items[:20])]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint for the app it starts (default: the bundled model)")
    parser.add_argument("--port", type=int, default=7870)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--turns", type=int, default=50)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 3000], help="memory sizes for the statement-turn cost")
    parser.add_argument("--repeats", type=int, default=60, help="statement turns timed per size")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds allowed per call")
    parser.add_argument("--deadline", type=float, default=900.0, help="seconds allowed for the concurrent part")
    args = parser.parse_args(argv)

    process, url = start_app(args.port, tempfile.mkdtemp(prefix="memnet-load-"), args.model)
    try:
        cost = statement_cost(url, args.sizes, args.repeats, args.timeout)
        load = concurrent(url, args)
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = report(args, load, cost)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.md").write_text(text)
    (RESULTS / "load.json").write_text(json.dumps({"command": sys.argv, "machine": machine(), "concurrent": load,
                                                   "statement_cost": cost}, indent=1))
    print(text)
    ratio = cost[max(cost)]["p50_ms"] / cost[min(cost)]["p50_ms"]
    return 1 if load["errors"] or load["leaks"] or load["unfinished"] or ratio > 1.5 else 0


if __name__ == "__main__":
    sys.exit(main())
