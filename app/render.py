"""What the user sees: chat replies, the memory table, R's runner-ups and O's per-hop scores.

Every piece of user text passes through `html.escape` here and nowhere else, so a statement
like `<img src=x onerror=alert(1)>` is shown as text and never becomes markup. Chat replies
are HTML, not Markdown (the chatbot renders no Markdown), so `**` or `[a](b)` typed by a
user stay text too.
"""
from __future__ import annotations

from collections.abc import Iterator
from html import escape

import matplotlib

matplotlib.use("Agg")  # a server without a display
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from memnet import Answer, Answered, Skipped, Slot, Stored  # noqa: E402

SHOWN_IN_REPLY = 10     # slots listed in a "Stored ..." reply; a long paste is summarised
SHOWN_IN_TABLE = 500    # rows in the memory table; the filter reaches the others
SHOWN_OF_MESSAGE = 2000  # characters of a user's message echoed in the chat
SHOWN_OF_SKIPPED = 80   # characters of each text named as not stored

TABLE_CSS = """
table.memory { width: 100%; border-collapse: collapse; font-size: 0.9em; }
table.memory th { position: sticky; top: 0; background: var(--background-fill-secondary); text-align: left; }
table.memory td, table.memory th { padding: 3px 6px; border-bottom: 1px solid var(--border-color-primary); }
table.memory tr.support { background: #fde68a; color: #1f2937; font-weight: 600; }
table.memory .hop { white-space: nowrap; }
table.memory .changed { color: #b45309; }
p.note { color: var(--body-text-color-subdued); margin: 4px 0; }
"""


def user_message(text: str) -> str:
    """The user's own message in the chat, as text; a long paste is cut (the memory panel has it all)."""
    if len(text) > SHOWN_OF_MESSAGE:
        return escape(text[:SHOWN_OF_MESSAGE]) + f" … ({len(text) - SHOWN_OF_MESSAGE:,} more characters)"
    return escape(text)


def _typed_and_stored(slot: Slot) -> str:
    if slot.resolved == slot.text:
        return f"“{escape(slot.text)}”"
    return f"“{escape(slot.text)}” → “{escape(slot.resolved)}”"


def stored_reply(slots: list[Slot]) -> str:
    """"Stored in slot 7", with the resolved text when coreference changed it."""
    if len(slots) == 1:
        return f"Stored in slot {slots[0].index}: {_typed_and_stored(slots[0])}"
    lines = [f"Stored {len(slots)} memories, in slots {slots[0].index}–{slots[-1].index}:"]
    lines += [f"- slot {s.index}: {_typed_and_stored(s)}" for s in slots[:SHOWN_IN_REPLY]]
    if len(slots) > SHOWN_IN_REPLY:
        lines.append(f"- … and {len(slots) - SHOWN_IN_REPLY} more (see the memory panel)")
    return "\n".join(lines)


def skipped_reply(skipped: list[Skipped]) -> str:
    """"Not stored: “…” (why)", one line per piece of text that was not stored."""
    def line(item: Skipped) -> str:
        text = item.text if len(item.text) <= SHOWN_OF_SKIPPED else item.text[:SHOWN_OF_SKIPPED] + "…"
        return f"“{escape(text)}” ({escape(item.reason)})"

    if len(skipped) == 1:
        return f"Not stored: {line(skipped[0])}"
    lines = [f"Not stored ({len(skipped)}):"] + [f"- {line(item)}" for item in skipped[:SHOWN_IN_REPLY]]
    if len(skipped) > SHOWN_IN_REPLY:
        lines.append(f"- … and {len(skipped) - SHOWN_IN_REPLY} more")
    return "\n".join(lines)


def told_reply(slots: list[Slot], skipped: list[Skipped]) -> str:
    """The reply to the API's tell: what was stored, and what was not."""
    parts = ([stored_reply(slots)] if slots else []) + ([skipped_reply(skipped)] if skipped else [])
    return "\n\n".join(parts) or "Nothing to store."


def answer_reply(answer: Answer) -> Iterator[str]:
    """The reply to a question, growing: the answer first, then "because:" and each fact in hop order."""
    if not answer.answer:
        yield escape(answer.message or "I have no answer.")
        return
    text = "<strong>I don’t know.</strong> (R ranked “unknown” first: the memory does not say)" if answer.abstained \
        else f"<strong>{escape(answer.answer)}</strong>"
    yield text
    facts = [hop for hop in answer.hops if hop.slot is not None]
    if facts:
        text += "\n\nlooked at, and found no answer in:" if answer.abstained else "\n\nbecause:"
        for hop in facts:
            text += f"\n{hop.hop}. {escape(hop.text or '')} <em>(slot {hop.slot}, score {hop.score:.2f})</em>"
            yield text


def turn_reply(events: list[Stored | Answered], removed: int = 0, skipped: list[Skipped] = ()) -> Iterator[str]:
    """The reply to one chat message, growing: what was stored, then each answer as it streams,
    then what was not stored and why."""
    done = [f"(I removed {removed} control characters.)"] if removed else []
    if not events and not skipped:
        yield "\n\n".join(done + ["I found no words in that message: nothing was stored."])
        return
    for event in events:
        if isinstance(event, Answered):
            for partial in answer_reply(event.answer):
                yield "\n\n".join(done + [partial])
            done.append(partial)
        elif event.slots:
            done.append(stored_reply(event.slots))
            yield "\n\n".join(done)
    if skipped:
        done.append(skipped_reply(skipped))
        yield "\n\n".join(done)


def memory_table(slots: list[Slot], answer: Answer | None, word: str = "") -> str:
    """Every slot (newest last), the supporting facts of the last answer highlighted with hop and score."""
    if not slots:
        return '<p class="note">The memory is empty. Tell me something, or load an example.</p>'
    picked = {hop.slot: hop for hop in (answer.hops if answer else []) if hop.slot is not None}
    needle = word.strip().lower()
    rows = [s for s in slots if needle in s.text.lower() or needle in s.resolved.lower()] if needle else slots
    note = f"{len(rows)} of {len(slots)} slots match “{escape(word.strip())}”." if needle else f"{len(slots)} slots."
    if len(rows) > SHOWN_IN_TABLE:
        note += f" Showing the newest {SHOWN_IN_TABLE}: filter by a word to find the others."
        rows = rows[-SHOWN_IN_TABLE:]
    body = []
    for s in rows:
        hop = picked.get(s.index)
        row = f'<tr class="slot support" data-slot="{s.index}" data-hop="{hop.hop}">' if hop else f'<tr class="slot" data-slot="{s.index}">'
        mark = f'<td class="hop">hop {hop.hop} · {hop.score:.2f}</td>' if hop else "<td></td>"
        changed = ' class="changed"' if s.resolved != s.text else ""
        body.append(f"{row}<td>{s.index}</td><td>{s.time}</td><td>{escape(s.text)}</td>"
                    f"<td{changed}>{escape(s.resolved)}</td>{mark}</tr>")
    return (f'<p class="note">{note}</p><table class="memory"><thead><tr><th>slot</th><th>time</th>'
            f"<th>as typed</th><th>as stored</th><th>support</th></tr></thead><tbody>{''.join(body)}</tbody></table>")


def ranking_table(answer: Answer | None) -> str:
    """R's ranking: the answer and its runner-ups with their s_R scores."""
    if answer is None or not answer.ranking:
        return '<p class="note">Ask a question to see R’s ranking of the answers.</p>'
    rows = "".join(f'<tr class="slot{" support" if i == 0 else ""}"><td>{i + 1}</td><td>{escape(word)}</td><td>{score:.3f}</td></tr>'
                   for i, (word, score) in enumerate(answer.ranking))
    return f'<table class="memory"><thead><tr><th>rank</th><th>answer</th><th>R score</th></tr></thead><tbody>{rows}</tbody></table>'


def hop_chart(answer: Answer | None) -> Figure | None:
    """One panel per hop: the score O gave every memory, its pick in orange."""
    hops = [hop for hop in (answer.hops if answer else []) if len(hop.scores)]
    if not hops:
        return None
    figure = Figure(figsize=(7, 1.2 + 1.6 * len(hops)), layout="constrained")
    figure.suptitle("O's score s_O for every memory, per hop", fontsize=10)
    axes = figure.subplots(len(hops), 1, sharex=True, squeeze=False)[:, 0]
    for ax, hop in zip(axes, hops):
        width = max(0.5, min(8.0, 400 / len(hop.slots)))  # thin lines stay visible with thousands of slots
        ax.vlines(hop.slots, 0, hop.scores, color="#94a3b8", linewidth=width)
        if hop.slot is not None:
            ax.vlines([hop.slot], 0, [hop.score], color="#ea580c", linewidth=width + 1)
            ax.set_title(f"hop {hop.hop}: picked slot {hop.slot} (score {hop.score:.2f})", fontsize=9, loc="left")
        else:
            ax.set_title(f"hop {hop.hop}: stopped (stop memory scored {hop.score:.2f})", fontsize=9, loc="left")
        ax.axhline(0, color="black", linewidth=0.5)
        ax.set_ylabel("s_O", fontsize=8)
        ax.tick_params(labelsize=8)
    axes[-1].set_xlabel("memory slot", fontsize=8)
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    return figure
