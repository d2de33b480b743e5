"""Durability of acknowledged writes: kill -9, two tabs, a restart under an open tab, an API client
across a restart, two app processes on one data folder, a real full disk.

    .venv/bin/python bench/durability.py                       # all scenarios, bundled model
    .venv/bin/python bench/durability.py --rounds 5 --clients 4 --scenarios kill api processes

Loopback only (app.py on 127.0.0.1), bounded (a timeout per call, a fixed number of writes and
rounds). Every statement sent is unique ("Writer3 went to the room57."), so after each scenario
the store is read back through /memory and each acknowledged write is looked for: lost = acknowledged
but absent, duplicates = stored more than once. A client whose call got no reply (the app was
killed) sends the same message id again after the restart, as a careful client does. The browser
scenarios drive Debian's Chromium through Playwright. Writes bench/results/durability.{md,json}.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import random
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load import RESULTS, LightClient, machine, start_app  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")


def _stop(process, hard: bool = False) -> None:
    if hard:
        process.kill()      # SIGKILL: no shutdown code runs
    else:
        process.terminate()
    process.wait(timeout=30)


def _check(url: str, key: str, acknowledged: list[str], timeout: float) -> dict:
    client = LightClient(url, timeout)
    try:
        stored = Counter(slot["text"] for slot in client.call("memory", key))
    finally:
        client.close()
    return {"acknowledged": len(acknowledged), "stored": sum(stored.values()),
            "lost": sum(1 for text in acknowledged if not stored[text]),
            "duplicates": sum(count - 1 for count in stored.values() if count > 1)}


def kill_rounds(args, data: str) -> dict:
    """Clients write as fast as they can; the app is killed (-9) at a random moment; after the
    restart every unanswered message is sent again with its id; then everything is checked."""
    key, totals, rng = secrets.token_urlsafe(16), Counter(), random.Random(0)
    acknowledged: list[str] = []
    for round_ in range(args.rounds):
        process, url = start_app(args.port, data, args.model)
        unanswered: list[tuple[str, str]] = []
        lock, stop = threading.Lock(), threading.Event()

        def writer(me: int) -> None:
            client = LightClient(url, args.timeout)
            for n in range(args.writes):
                if stop.is_set():
                    break
                text, message_id = f"Writer{me} went to the room{round_ * 1000 + n}.", f"r{round_}-w{me}-{n}"
                try:
                    client.call("tell", text, key, message_id)
                    with lock:
                        acknowledged.append(text)
                except Exception:  # noqa: BLE001 - the app was killed under this call
                    with lock:
                        unanswered.append((text, message_id))
                    break
            client.close()

        threads = [threading.Thread(target=writer, args=(me,), daemon=True) for me in range(args.clients)]
        for thread in threads:
            thread.start()
        time.sleep(rng.uniform(1.0, 3.0))
        _stop(process, hard=True)
        stop.set()
        for thread in threads:
            thread.join(args.timeout)
        process, url = start_app(args.port, data, args.model)
        client = LightClient(url, args.timeout)
        for text, message_id in unanswered:    # the careful client: same message, same id
            result = client.call("tell", text, key, message_id)
            acknowledged.append(text)
        client.close()
        totals["unanswered"] += len(unanswered)
        _stop(process)
    process, url = start_app(args.port, data, args.model)
    try:
        result = _check(url, key, acknowledged, args.timeout)
    finally:
        _stop(process)
    return {**result, "rounds": args.rounds, "clients": args.clients, "unanswered_then_retried": totals["unanswered"]}


def api_restart(args, data: str) -> dict:
    """A program tells N statements under its own key, the app restarts, a new connection reads them back."""
    key, acknowledged = secrets.token_urlsafe(16), []
    process, url = start_app(args.port, data, args.model)
    client = LightClient(url, args.timeout)
    for n in range(args.writes):
        text = f"Apiclient went to the room{n}."
        client.call("tell", text, key, f"api-{n}")
        acknowledged.append(text)
    client.close()
    _stop(process)
    process, url = start_app(args.port, data, args.model)
    try:
        return _check(url, key, acknowledged, args.timeout)
    finally:
        _stop(process)


def two_processes(args, data: str) -> dict:
    """Two app.py processes on one data folder; clients of both write to one session key at once."""
    key, acknowledged, lock = secrets.token_urlsafe(16), [], threading.Lock()
    first, url1 = start_app(args.port, data, args.model)
    second, url2 = start_app(args.port + 1, data, args.model)

    def writer(url: str, me: int) -> None:
        client = LightClient(url, args.timeout)
        for n in range(args.writes):
            text = f"Process{me} went to the room{n}."
            client.call("tell", text, key, f"p{me}-{n}")
            with lock:
                acknowledged.append(text)
        client.close()

    try:
        threads = [threading.Thread(target=writer, args=(url, me)) for me, url in enumerate((url1, url2, url1, url2))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(args.timeout * args.writes)
        return {**_check(url1, key, acknowledged, args.timeout), "seen_by_the_other": _check(url2, key, acknowledged, args.timeout)["lost"] == 0}
    finally:
        _stop(first)
        _stop(second)


def browser(args, data: str) -> dict:
    """Two tabs of one browser (one session key) take turns; then the app restarts while tab one
    stays open and it writes again; a reload of tab two must show every acknowledged statement."""
    from playwright.sync_api import expect, sync_playwright

    texts, acknowledged = [f"Tabwriter{n} went to the room{n}." for n in range(args.tab_writes)], []
    process, url = start_app(args.port, data, args.model)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"])
        context = chromium.new_context()
        tabs = [context.new_page(), context.new_page()]
        try:
            for tab in tabs:
                tab.goto(url)
                expect(tab.locator("#memory")).to_contain_text("The memory is empty", timeout=30_000)
            for n, text in enumerate(texts):
                if n == len(texts) // 2:   # restart under the open tabs, not reloaded
                    _stop(process)
                    process, url = start_app(args.port, data, args.model)
                tab = tabs[n % 2]
                tab.locator("#message textarea").fill(text)
                tab.locator("#message textarea").press("Enter")
                expect(tab.locator("#chat [data-testid='bot']").last).to_contain_text(f"“{text}”", timeout=30_000)
                acknowledged.append(text)   # the reply names the statement: acknowledged
                expect(tab.locator("#memory tr.slot")).to_have_count(n + 1, timeout=30_000)   # the turn's last output
            tabs[1].reload()
            expect(tabs[1].locator("#memory tr.slot")).to_have_count(len(texts), timeout=30_000)
            shown = tabs[1].locator("#memory").inner_text()
            key = tabs[1].evaluate("() => Object.keys(localStorage)")
        finally:
            context.close()
            chromium.close()
            _stop(process)
    stored = Counter(line for line in shown.splitlines() for text in texts if text in line)
    return {"acknowledged": len(acknowledged), "stored": len(stored), "lost": sum(1 for t in acknowledged if t not in shown),
            "duplicates": sum(c - 1 for c in stored.values() if c > 1), "restart_under_open_tabs_after": len(texts) // 2,
            "localStorage": key}


class NotPermitted(Exception):
    """The scenario needs something this machine does not allow (it is reported as skipped, with why)."""


def _refused(client: LightClient, text: str, key: str) -> str:
    """The message a /tell that must be refused gets ('' if it was stored)."""
    try:
        client.call("tell", text, key, "")
    except RuntimeError as error:
        return str(error)
    return ""


def disk_full(args, data: str) -> dict:
    """A real full disk (a 2 MB tmpfs): N statements told, then the disk filled; a write must be
    refused with a message that says so, while /ask and /memory go on; the app restarted on the
    full disk must start and read; once space is freed, writing works again."""
    disk = Path(data) / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True, text=True)
    if mounted.returncode:
        raise NotPermitted(f"mounting a tmpfs is not permitted here ({mounted.stderr.strip()})")
    key, acknowledged, checks, process = secrets.token_urlsafe(16), [], {}, None
    try:
        process, url = start_app(args.port, str(disk / "data"), args.model)
        client = LightClient(url, args.timeout)
        for n in range(args.writes):
            text = f"Fuller went to the room{n}."
            client.call("tell", text, key, f"full-{n}")
            acknowledged.append(text)
        with open(disk / "filler", "wb") as filler:   # fill the disk to the last byte
            with contextlib.suppress(OSError):
                for _ in range(10_000):
                    filler.write(b"\0" * 65536)
                    filler.flush()
        last = f"room{args.writes - 1}"
        for moment in ("running", "restarted on the full disk"):
            if moment != "running":
                client.close()
                _stop(process)
                process, url = start_app(args.port, str(disk / "data"), args.model)
                client = LightClient(url, args.timeout)
            refusal = _refused(client, "Fuller went to the attic.", key)
            checks[moment] = {"write_refused_with_message": "disk is full" in refusal and "null" not in refusal,
                              "message": refusal[:160],
                              "ask_answers": client.call("ask", "Where is Fuller?", key, "")["answer"] == last,
                              "memory_reads": len(client.call("memory", key)) == args.writes}
        (disk / "filler").unlink()
        client.call("tell", "Fuller went to the attic.", key, "full-after")
        acknowledged.append("Fuller went to the attic.")
        checks["writes_again_once_space_is_freed"] = True
        client.close()
        result = _check(url, key, acknowledged, args.timeout)
    finally:
        if process is not None:
            _stop(process)
        subprocess.run(["umount", "-l", str(disk)], check=False)
    ok = all(v for moment in ("running", "restarted on the full disk") for name, v in checks[moment].items() if name != "message")
    return {**result, "checks": checks, "all_checks_pass": ok}


SCENARIOS = {"kill": ("kill -9 rounds (API clients, retry with the same message id)", kill_rounds),
             "browser": ("two tabs + a restart under the open tabs (Chromium)", browser),
             "api": ("API client across a restart", api_restart),
             "processes": ("two app processes on one data folder, one session", two_processes),
             "full": ("a real full disk (tmpfs): writes refused by name, reads and a restart go on", disk_full)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="checkpoint (default: the bundled model)")
    parser.add_argument("--port", type=int, default=7880)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--writes", type=int, default=30, help="writes per client (kill: at most; api, processes: exactly)")
    parser.add_argument("--tab-writes", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--scenarios", nargs="+", default=list(SCENARIOS), choices=list(SCENARIOS))
    args = parser.parse_args(argv)
    if "browser" in args.scenarios and not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing: apt-get install chromium, or leave out the browser scenario")

    results, skipped = {}, {}
    for name in args.scenarios:
        start = time.perf_counter()
        try:
            results[name] = {**SCENARIOS[name][1](args, tempfile.mkdtemp(prefix=f"memnet-durability-{name}-")),
                             "seconds": round(time.perf_counter() - start, 1)}
        except NotPermitted as why:
            skipped[name] = str(why)
            print(name, "skipped:", why, flush=True)
            continue
        print(name, results[name], flush=True)
    ok = all(r["lost"] == 0 and r["duplicates"] == 0 and r.get("all_checks_pass", True) for r in results.values())
    lines = ["# Durability of acknowledged writes", "", f"`.venv/bin/python bench/durability.py {' '.join(sys.argv[1:])}`".replace(" `", "`"),
             "", f"app.py on 127.0.0.1 ({args.model or 'bundled model'}); machine: {machine()}.", "",
             "| scenario | acknowledged | stored | lost | duplicates | s |", "|---|---|---|---|---|---|",
             *(f"| {SCENARIOS[name][0]} | {r['acknowledged']} | {r['stored']} | {r['lost']} | {r['duplicates']} | {r['seconds']} |"
               for name, r in results.items()), "",
             f"All scenarios: {'0 lost, 0 duplicates' if ok else 'FAILED'}."]
    lines += [f"Skipped: {SCENARIOS[name][0]}: {why}." for name, why in skipped.items()]
    if "full" in results:
        for moment, checks in results["full"]["checks"].items():
            lines.append(f"Full disk, {moment}: {checks}." if isinstance(checks, dict) else f"Full disk: {moment}: {checks}.")
    if "kill" in results:
        lines.append(f"kill -9: {args.rounds} rounds of {args.clients} writers; {results['kill']['unanswered_then_retried']} "
                     "calls got no reply because of the kill and were sent again with the same message id.")
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "durability.md").write_text("\n".join(lines) + "\n")
    (RESULTS / "durability.json").write_text(json.dumps({"command": sys.argv, "machine": machine(), "results": results,
                                                         "skipped": skipped}, indent=1))
    print("\n".join(lines))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
