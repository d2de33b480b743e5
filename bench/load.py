"""Load test of the chat app through a light HTTP client, and the cost of a statement turn as the memory grows.

    .venv/bin/python bench/load.py                                  # starts app.py on 127.0.0.1 (bundled model)
    .venv/bin/python bench/load.py --model /path/to/checkpoint --sessions 20 --turns 50

Part 1: concurrent sessions, each on its own session key, telling and asking about its own agent
("Agent7 went to the kitchen."), so a slot, support or answer that names another session's agent
is a cross-session leak; a session that dies counts as an error. Part 2: statement turns (/tell of
one statement) in a session holding 10 slots and in one holding 3,000, one at a time; the target is
p50 at 3,000 <= 1.5 x p50 at 10. Part 3: a neighbour session asks in a loop while another session
imports a large memory export through the UI's upload event (90,000 slots, about 37 MB); its /ask
p50 / p95 / max before and during the import.
The client speaks gradio's HTTP queue API directly (POST /gradio_api/call/NAME, then read the
event stream), without gradio_client's per-call overhead. Every loop is bounded (a timeout per
call, a deadline for the run). Writes bench/results/load.{md,json}.
"""
from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

import machine  # bench/machine.py

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

    def upload(self, name: str, content: bytes) -> dict:
        """A file sent to gradio's upload route, as the FileData an upload event takes."""
        posted = self.http.post("gradio_api/upload", files={"files": (name, content, "application/json")})
        posted.raise_for_status()
        return {"path": posted.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}

    def event_name(self, trigger: str) -> str:
        """The api name gradio gave the UI event fired by `trigger` (e.g. "upload")."""
        config = self.http.get("config").json()
        return next(dep["api_name"] for dep in config["dependencies"] if any(t[1] == trigger for t in dep["targets"]))

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
    client, key, told, turn = LightClient(url, timeout), secrets.token_urlsafe(16), 0, 0
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
                told += len(result["slots"])
                seen = [slot["resolved"] for slot in result["slots"]] + [part["text"] for part in result["skipped"]]
                if result["skipped"]:
                    tally.fail("error", f"session {me} turn {turn}: /tell skipped {result['skipped']}")
            elif endpoint == "ask":
                seen = [result["answer"], *(hop["text"] for hop in result["hops"])]
            else:
                seen = [slot["resolved"] for slot in result]
                if len(result) != told:
                    tally.fail("leak", f"session {me} turn {turn}: /memory has {len(result)} slots, it told {told}")
            for text in _foreign(me, *seen):
                tally.fail("leak", f"session {me} turn {turn} /{endpoint}: saw {text!r}")
    except Exception as error:  # noqa: BLE001 - a session that dies is an error, never a silent gap
        tally.fail("error", f"session {me} died at turn {turn}: {error!r}")
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


def export_file(slots: int) -> bytes:
    """A memory export of `slots` statements (about 430 bytes each, as the app's export writes them)."""
    sys.path.insert(0, str(REPO))
    from memnet.input.sentence import Sentence
    from memnet.memory.slots import Memory

    memory = Memory()
    for start in range(0, slots, 1000):
        texts = [f"Importee{i} travelled all the way to the faraway {ROOMS[i % len(ROOMS)]} with a story {i}."
                 for i in range(start, min(slots, start + 1000))]
        memory.write([Sentence(t, t, tuple(t.lower().rstrip(".").split())) for t in texts])
    return json.dumps(memory.to_json(), indent=1).encode()


def _asks(client: LightClient, key: str, until: Callable[[], bool], limit: int, tally: Tally, phase: Callable[[], str]) -> None:
    """/ask in a loop until `until()` (or `limit` asks), timing each under the name `phase()` gives when it starts."""
    for i in range(limit):
        if until():
            return
        name, start = phase(), time.perf_counter()
        try:
            answer = client.call("ask", "Where is Agent0?", key, "")
        except Exception as error:  # noqa: BLE001 - counted
            tally.fail("error", f"neighbour ask {i} ({name}): {error!r}")
            continue
        tally.record(name, time.perf_counter() - start)
        if answer["answer"] != "office":
            tally.fail("error", f"neighbour ask {i} ({name}) answered {answer['answer']!r}, not 'office'")


def import_stall(url: str, slots: int, baseline: int, timeout: float) -> dict:
    """A neighbour's /ask latency alone, then while another session imports a `slots`-slot export
    through the UI's upload event (the same route a browser takes: upload, then the event)."""
    content = export_file(slots)
    neighbour, importer, tally = LightClient(url, timeout), LightClient(url, max(timeout, 600)), Tally()
    key, other, outcome = secrets.token_urlsafe(16), secrets.token_urlsafe(16), {}
    try:
        neighbour.call("tell", "Agent0 went to the kitchen. Agent0 went to the garden. Agent0 went to the office.", key, "")
        _asks(neighbour, key, lambda: False, baseline, tally, lambda: "alone")
        done, uploaded = threading.Event(), threading.Event()

        def run_import():
            begin = time.perf_counter()
            try:
                event = importer.event_name("upload")
                sent = importer.upload("memory.json", content)
                uploaded.set()
                outcome["upload_s"] = time.perf_counter() - begin
                outcome["status"] = importer.call(event, sent, other, "")
            except Exception as error:  # noqa: BLE001 - reported
                outcome["status"] = f"failed: {error!r}"
            outcome["import_s"] = time.perf_counter() - begin
            done.set()
        thread = threading.Thread(target=run_import, daemon=True)
        thread.start()
        _asks(neighbour, key, done.is_set, 100_000, tally,
              lambda: "during the import event (worker + re-read)" if uploaded.is_set() else "during the upload (gradio's route)")
        thread.join(timeout)
        imported = len(neighbour.call("memory", other))
    finally:
        neighbour.close()
        importer.close()
    return {"slots": slots, "file_mb": round(len(content) / 1e6, 1), "import_s": round(outcome.get("import_s", 0), 1),
            "upload_s": round(outcome.get("upload_s", 0), 1),
            "status": outcome.get("status"), "imported_slots": imported, "errors": tally.errors,
            "neighbour_ask_ms": {name: {"n": len(v), "p50": percentile(v, 50) * 1000, "p95": percentile(v, 95) * 1000,
                                        "max": max(v) * 1000} for name, v in tally.latencies.items() if v}}


def report(args: argparse.Namespace, load: dict, cost: dict, stall: dict) -> str:
    small, large = cost[min(cost)], cost[max(cost)]
    ratio = large["p50_ms"] / small["p50_ms"]
    facts = machine.facts()
    lines = ["# Load test of the chat app", "", f"`.venv/bin/python bench/load.py {' '.join(sys.argv[1:])}`".replace(" `", "`"), "",
             f"app.py on 127.0.0.1 ({args.model or 'bundled model'}), a light HTTP client on gradio's queue API "
             f"(POST /gradio_api/call/NAME + event stream); machine: {facts['cpu']}, {facts['cores']} cores, Python {facts['python']}, shared with other work.", "",
             f"## {load['sessions']} concurrent sessions x {load['turns']} turns (tell / ask / memory), each on its own session key", "",
             f"- turns completed: {load['completed']} of {load['sessions'] * load['turns']} in {load['wall_s']}s "
             f"({load['completed'] / load['wall_s']:.1f} turns/s)",
             f"- errors (failed calls, dead sessions): {len(load['errors'])}", f"- cross-session leaks: {len(load['leaks'])}",
             f"- sessions still running at the deadline: {load['unfinished']}", "",
             "| endpoint | turns | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|",
             *(f"| {name} | {v['n']} | {v['p50']:.0f} | {v['p95']:.0f} | {v['max']:.0f} |" for name, v in load["latency_ms"].items()),
             "", f"## Statement turn cost against memory size ({args.repeats} one-statement /tell calls per size, "
             "one at a time, sizes alternating; before the concurrent part)", "",
             "| slots held | p50 ms | p95 ms |", "|---|---|---|",
             *(f"| {row['slots']:,} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} |" for row in cost.values()), "",
             f"p50 at {large['slots']:,} slots / p50 at {small['slots']:,} slots: **{ratio:.2f}** (target <= 1.5).", "",
             f"## A neighbour's /ask while another session imports {stall['slots']:,} slots ({stall['file_mb']} MB) "
             "through the UI's upload event (after the other parts)", "",
             f"- import: {stall['import_s']}s (the upload {stall['upload_s']}s of it), status {stall['status']!r}; the importing session then holds "
             f"{stall['imported_slots']:,} slots", f"- neighbour errors: {len(stall['errors'])}", "",
             "| neighbour /ask | n | p50 ms | p95 ms | max ms |", "|---|---|---|---|---|",
             *(f"| {name} | {v['n']} | {v['p50']:.0f} | {v['p95']:.0f} | {v['max']:.0f} |"
               for name, v in stall["neighbour_ask_ms"].items())]
    for title, items in (("Errors", load["errors"] + stall["errors"]), ("Leaks", load["leaks"])):
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
    parser.add_argument("--import-slots", type=int, default=90_000, help="slots in the export imported in part 3")
    parser.add_argument("--baseline", type=int, default=40, help="neighbour /ask calls timed before the import")
    args = parser.parse_args(argv)

    process, url = start_app(args.port, tempfile.mkdtemp(prefix="memnet-load-"), args.model)
    try:
        cost = statement_cost(url, args.sizes, args.repeats, args.timeout)
        load = concurrent(url, args)
        stall = import_stall(url, args.import_slots, args.baseline, args.timeout)
    finally:
        process.terminate()
        process.wait(timeout=30)
    text = report(args, load, cost, stall)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "load.md").write_text(text)
    (RESULTS / "load.json").write_text(json.dumps({"command": sys.argv, "machine": machine.facts(), "concurrent": load,
                                                   "statement_cost": cost, "import_stall": stall}, indent=1))
    print(text)
    ratio = cost[max(cost)]["p50_ms"] / cost[min(cost)]["p50_ms"]
    missing = load["completed"] < load["sessions"] * load["turns"]   # a dead session leaves turns undone
    failed = load["errors"] or load["leaks"] or load["unfinished"] or missing or stall["errors"]
    return 1 if failed or stall["imported_slots"] != stall["slots"] or ratio > 1.5 else 0


if __name__ == "__main__":
    sys.exit(main())
