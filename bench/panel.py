"""The memory panel with 5,000 slots in Chromium: how long the browser takes, from the action to
the panel showing its result (issue 14: under 1 s), on the bundled model.

5,000 statements (people walking between places, some carrying things) are read by the bundled
model's I into a memory, exported as JSON and imported in the browser ("Import memory"), and one
question is asked, so O's chart has 5,000 scores per hop. Then Playwright drives Debian's
Chromium against the app and times, each `--repeats` times:
- question: a question sent until the panel shows its answer (O over all slots, then the table,
  O's chart and R's ranking re-rendered);
- page reload: the whole app starting in the page (gradio's own start included) until the table,
  O's chart and R's ranking are shown; "empty memory" is the same before the import, for comparison;
- filter: typing a word until the table shows the matching slots;
- clear filter: back to the newest page;
- older page: one page back;
- why: a click on a slot's row until the why view shows its parts.
Times are wall-clock from the action to the first animation frame that shows the result.

    python bench/panel.py [--slots 5000] [--repeats 5]   # writes bench/results/panel.{json,md}
With MEMNET_SCREENSHOT set (as for the browser tests) it also saves the README's picture of the
panel after the first question, app-memory-5000.png, in that file's folder.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from memnet.runtime import configure  # noqa: E402

RESULTS = REPO / "bench" / "results"
CHROMIUM = "/usr/bin/chromium"
NAMES = ["Mary", "John", "Sandra", "Daniel", "Fred", "Bill", "Julie", "Emily"]
PLACES = ["kitchen", "garden", "office", "hallway", "bathroom", "bedroom", "park", "cinema"]


def statements(n: int, rng: random.Random) -> list[str]:
    said = []
    for i in range(n):
        who, where = rng.choice(NAMES), rng.choice(PLACES)
        # one name per statement: the memory keeps one slot per fact, and no newer one replaces it
        said.append(f"{who}{i} went to the {where}." if i % 3 else f"{who}{i} took the apple to the {where}.")
    return said


def timed(page, action, condition: str, arg=None) -> float:
    start = time.perf_counter()
    action()
    page.wait_for_function(condition, arg=arg, polling="raf", timeout=60_000)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--slots", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    configure()
    from playwright.sync_api import sync_playwright

    from app import ui
    from app.handlers import Context
    from app.sessions import Catalogue
    from memnet.memory.store import SQLiteStore

    assets = REPO / "assets"
    ctx = Context(SQLiteStore(tempfile.mkdtemp(prefix="memnet-panel-")), Catalogue(assets), assets / "examples")
    demo = ui.build(ctx)
    _, url, _ = demo.launch(server_name="127.0.0.1", prevent_thread_lock=True, quiet=True, **ui.serve_options("127.0.0.1"))
    from memnet import MemoryNetwork

    start = time.perf_counter()
    net = MemoryNetwork.load(ctx.catalogue.paths[ctx.catalogue.default]).conversation()
    said = statements(args.slots, random.Random(0))
    for first in range(0, len(said), 100):   # as the chat does: I reads a long paste in pieces
        net.tell(" ".join(said[first:first + 100]))
    exported = Path(tempfile.mkdtemp(prefix="memnet-panel-")) / "memory.json"
    exported.write_text(json.dumps(net.memory_store.to_json()))
    read_s = time.perf_counter() - start
    slots = len(net.memory_store)   # I may cut a statement in two or join two: count what it stored
    times: dict[str, list[float]] = {k: [] for k in ("question", "page reload", "page reload, empty memory", "filter",
                                                     "clear filter", "older page", "why")}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1500, "height": 1100})
        page.goto(url)
        page.wait_for_selector("#memory .note")
        for _ in range(args.repeats):   # gradio's own start, for comparison with the reload at 5,000 slots
            times["page reload, empty memory"].append(
                timed(page, page.reload, "() => (document.querySelector('#memory')?.innerText || '').includes('The memory is empty')"))
        start = time.perf_counter()
        page.get_by_text("Settings and data").click()
        page.locator("#import input[type=file], input[type=file][accept='.json']").first.set_input_files(str(exported))
        page.wait_for_function("n => (document.querySelector('#memory')?.innerText || '').includes(n + ' slots.')",
                               arg=f"{slots:,}", timeout=300_000)
        import_s = time.perf_counter() - start
        page.locator("#message textarea").fill("Where is the apple?")
        page.locator("#message textarea").press("Enter")
        page.wait_for_selector("#chart svg", timeout=60_000)
        if os.environ.get("MEMNET_SCREENSHOT"):
            page.wait_for_selector("#ranking table", timeout=60_000)
            page.screenshot(path=str(Path(os.environ["MEMNET_SCREENSHOT"]).parent / f"app-memory-{args.slots}.png"), full_page=True)
        shown = f"{slots:,} slots."
        pages = -(-slots // 100)
        loaded = ("n => (document.querySelector('#memory')?.innerText || '').includes(n) && document.querySelector('#chart svg')"
                  " && document.querySelector('#ranking table')")
        for r in range(args.repeats):
            before = page.locator("#chart").inner_html()
            question = f"Where is {NAMES[r % len(NAMES)]}{10 * r + 1}?"

            def ask():
                page.locator("#message textarea").fill(question)
                page.locator("#message textarea").press("Enter")
            times["question"].append(timed(page, ask, "b => { const c = document.querySelector('#chart'); "
                                           "return c && c.querySelector('svg') && c.innerHTML !== b; }", before))
            times["page reload"].append(timed(page, page.reload, loaded, shown))
            word = f"{NAMES[r % len(NAMES)]}{3 * r + 3}"   # NameN, NameN0.., NameN00..: a handful of slots
            times["filter"].append(timed(page, lambda: page.locator("#filter textarea, #filter input").first.fill(word),
                                         "w => (document.querySelector('#memory')?.innerText || '').includes('slots match “' + w)", word))
            times["clear filter"].append(timed(page, lambda: page.locator("#filter textarea, #filter input").first.fill(""),
                                               "n => (document.querySelector('#memory')?.innerText || '').includes(n)", shown))
            times["older page"].append(timed(page, lambda: page.locator("#memory button.page", has_text="older").click(),
                                             "p => (document.querySelector('#memory')?.innerText || '').includes(p)", f"Page {pages - 1} of {pages}"))
            row = page.locator("#memory tr.slot").nth(r)
            slot = row.get_attribute("data-slot")
            times["why"].append(timed(page, row.click, "s => (document.querySelector('#why')?.innerText || '').includes('Why slot ' + s)", slot))
            page.locator("#memory button.page", has_text="newest").click()
            page.wait_for_function("p => (document.querySelector('#memory')?.innerText || '').includes(p)", arg=f"Page {pages} of {pages}")
        browser.close()
    demo.close()
    summary = {k: {"median_s": round(statistics.median(v), 3), "max_s": round(max(v), 3), "runs": [round(x, 3) for x in v]}
               for k, v in times.items()}
    facts = {"command": "python bench/panel.py " + " ".join(sys.argv[1:]), "statements": args.slots, "slots": slots, "repeats": args.repeats,
             "read_by_I_s": round(read_s, 1), "import_s": round(import_s, 1), "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
             f"Python {platform.python_version()}, Chromium headless", "model": "assets/model (bundled)"}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "panel.json").write_text(json.dumps({**facts, "times": summary}, indent=1) + "\n")
    rows = "\n".join(f"| {k} | {v['median_s']:.3f} | {v['max_s']:.3f} | {'yes' if v['max_s'] < 1 else 'no'} |" for k, v in summary.items())
    (RESULTS / "panel.md").write_text(
        f"# The memory panel with {slots:,} slots in Chromium\n\n`{facts['command']}` on {facts['machine']}; "
        f"{facts['model']}; {args.slots:,} statements read by I into {slots:,} slots in {facts['read_by_I_s']} s, imported in the browser in "
        f"{facts['import_s']} s. Seconds from the action to the "
        f"frame that shows the result, {args.repeats} runs each.\n\n| action | median s | max s | under 1 s |\n|---|---|---|---|\n"
        f"{rows}\n\nThe panel's own work is the question, filter, page and why rows. A page reload includes gradio's own "
        "start in the browser (the empty-memory row), which the panel does not control.\n")
    print((RESULTS / "panel.md").read_text())


if __name__ == "__main__":
    main()
