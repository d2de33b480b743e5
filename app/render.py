"""What the user sees: chat replies, the memory table, R's runner-ups and O's per-hop scores.

Every piece of user text passes through `html.escape` here and nowhere else, so a statement
like `<img src=x onerror=alert(1)>` is shown as text and never becomes markup. Chat replies
are HTML, not Markdown (the chatbot renders no Markdown), so `**` or `[a](b)` typed by a
user stay text too.
"""
from __future__ import annotations

import html
import re
from collections.abc import Collection, Iterator, Sequence
from html import escape

import numpy as np

from memnet import Answer, Answered, Hop, Skipped, Slot, Stored

SHOWN_IN_REPLY = 10     # slots listed in a "Stored ..." reply; a long paste is summarised
PAGE = 100              # rows per page of the memory table
TOP_BARS = 12           # bars per hop in O's chart; the rest are summarised
CLIP = 38               # characters of a slot's text beside its bar
SHOWN_OF_MESSAGE = 2000  # characters of a user's message echoed in the chat
SHOWN_OF_SKIPPED = 80   # characters of each text named as not stored

TABLE_CSS = """
table.memory { width: 100%; border-collapse: collapse; font-size: 0.9em; }
table.memory th { position: sticky; top: 0; background: var(--background-fill-secondary); text-align: left; }
table.memory td, table.memory th { padding: 3px 6px; border-bottom: 1px solid var(--border-color-primary); }
table.memory tr.support { background: #fde68a; color: #1f2937; font-weight: 600; }
table.memory tr.new { outline: 2px solid #16a34a; }
table.memory tr.selected { background: #bfdbfe; color: #1f2937; }
table.memory tr.slot, .hopchart g.bar, .hopchart p[data-slot] { cursor: pointer; }
.pager button { margin: 2px 4px 4px 0; padding: 1px 8px; border: 1px solid var(--border-color-primary); border-radius: 4px; }
table.memory .hop { white-space: nowrap; }
table.memory .changed { color: #b45309; }
p.note { color: var(--body-text-color-subdued); margin: 4px 0; }
"""


def counted(n: int, one: str, many: str = "") -> str:
    """"1 slot", "2 slots", "1,000 memories" (`many`: the plural where it is not `one` + "s")."""
    return f"{n:,} {one if n == 1 else many or one + 's'}"


def user_message(text: str) -> str:
    """The user's own message in the chat, as text; a long paste is cut (the memory panel has it all),
    and an empty one says so (a blank bubble looks like a glitch)."""
    if not text.strip():
        return "<em>(empty message)</em>"
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


def answer_reply(answer: Answer, with_question: bool = False) -> Iterator[str]:
    """The reply to a question, growing: the answer first, then "because:" and each fact in hop order.
    `with_question`: the answer opens with its question (a message that asked several)."""
    asked = f"<em>{escape(answer.question)}</em> " if with_question else ""
    if not answer.answer:
        yield asked + escape(answer.message or "I have no answer.")
        return
    text = asked + ("<strong>I don’t know.</strong> (R ranked “unknown” first: the memory does not say)" if answer.abstained
                    else f"<strong>{escape(answer.display)}</strong>")
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
    several = sum(isinstance(event, Answered) for event in events) > 1   # say which answer is whose
    for event in events:
        if isinstance(event, Answered):
            for partial in answer_reply(event.answer, several):
                yield "\n\n".join(done + [partial])
            done.append(partial)
        elif event.slots:
            done.append(stored_reply(event.slots))
            yield "\n\n".join(done)
    if skipped:
        done.append(skipped_reply(skipped))
        yield "\n\n".join(done)


def memory_page(slots: list[Slot], word: str = "", back: int = 0) -> tuple[list[Slot], int, int, int]:
    """The slots that match `word` (all when empty), cut into pages of PAGE newest last; page `back`
    counts from the newest (0). Returns (the page's slots, matching count, back as clamped, pages)."""
    needle = word.strip().lower()
    rows = [s for s in slots if needle in s.text.lower() or needle in s.resolved.lower()] if needle else slots
    pages = max(1, -(-len(rows) // PAGE))
    back = min(max(int(back or 0), 0), pages - 1)
    end = len(rows) - back * PAGE
    return rows[max(0, end - PAGE):end], len(rows), back, pages


def pages_back(slots: list[Slot], word: str, slot: int) -> int | None:
    """The page (counted back from the newest) that shows `slot` under the filter `word`, or None."""
    needle = word.strip().lower()
    rows = [s.index for s in slots if not needle or needle in s.text.lower() or needle in s.resolved.lower()]
    if slot not in rows:
        return None
    return (len(rows) - 1 - rows.index(slot)) // PAGE


def memory_table(slots: list[Slot], answer: Answer | None, word: str = "", back: int = 0,
                 new: Collection[int] = (), selected: int | None = None) -> str:
    """One page of the slots (newest last): the last answer's supporting facts highlighted with hop
    and score, the slots `new` (just written) and `selected` (the why view's) marked."""
    if not slots:
        return '<p class="note">The memory is empty. Tell me something, or load an example.</p>'
    picked = {hop.slot: hop for hop in (answer.hops if answer else []) if hop.slot is not None}
    rows, matching, back, pages = memory_page(slots, word, back)
    note = (f"{matching:,} of {counted(len(slots), 'slot')} match{'es' if matching == 1 else ''} “{escape(word.strip())}”."
            if word.strip() else f"{counted(len(slots), 'slot')}.")
    pager = ""
    if pages > 1:
        note += f" Page {pages - back} of {pages} (newest last)."
        # the page to show travels in the button itself, so the view never disagrees with a page state
        pager = "".join(f'<button class="page" data-page="{to}"{"" if ok else " disabled"}>{label}</button>'
                        for label, to, ok in (("newest", 0, back > 0), ("◀ newer", back - 1, back > 0),
                                              ("older ▶", back + 1, back < pages - 1), ("oldest", pages - 1, back < pages - 1)))
        pager = f'<div class="pager">{pager}</div>'
    looked = "looked at, no answer: " if answer is not None and answer.abstained else ""   # as the reply says
    body = []
    for s in rows:
        hop = picked.get(s.index)
        classes = " ".join(["slot"] + (["support"] if hop else []) + (["new"] if s.index in new else [])
                           + (["selected"] if s.index == selected else []))
        hop_attr = f' data-hop="{hop.hop}"' if hop else ""
        mark = f'<td class="hop">{looked}hop {hop.hop} · {hop.score:.2f}</td>' if hop else "<td></td>"
        changed = ' class="changed"' if s.resolved != s.text else ""
        body.append(f'<tr class="{classes}" data-slot="{s.index}"{hop_attr}><td>{s.index}</td><td>{s.time}</td>'
                    f"<td>{escape(s.text)}</td><td{changed}>{escape(s.resolved)}</td>{mark}</tr>")
    return (f'<p class="note">{note}</p>{pager}<table class="memory"><thead><tr><th>slot</th><th>time</th>'
            f"<th>as typed</th><th>as stored</th><th>support</th></tr></thead><tbody>{''.join(body)}</tbody></table>")


def ranking_table(answer: Answer | None) -> str:
    """R's ranking: the answer and its runner-ups with their s_R scores."""
    if answer is None or not answer.ranking:
        return '<p class="note">Ask a question to see R’s ranking of the answers.</p>'
    rows = "".join(f'<tr class="slot{" support" if i == 0 else ""}"><td>{i + 1}</td><td>{escape(word)}</td><td>{score:.3f}</td></tr>'
                   for i, (word, score) in enumerate(answer.ranking))
    return f'<table class="memory"><thead><tr><th>rank</th><th>answer</th><th>R score</th></tr></thead><tbody>{rows}</tbody></table>'


def _clip(text: str, width: int = CLIP) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def hop_chart(answer: Answer | None, texts: Sequence[str] = (), narrow: bool = False) -> str:
    """O's scores per hop as inline SVG: a summary of all the memories scored, then bars for the
    TOP_BARS best (the pick in orange, always shown), each labelled with its slot and `texts[slot]`.
    A bar carries data-slot and data-hop, so a click on it asks why. The SVG scales down to its
    container; `narrow` draws it for a ~250 px column (shorter labels and bars, same text size)."""
    hops = [hop for hop in (answer.hops if answer else []) if len(hop.scores)]
    if not hops:
        return '<p class="note">Ask a question to see O’s scores per hop.</p>'
    # a fact picked at an earlier hop is still scored, but cannot be picked again: its bar says so
    earlier = [{h.slot: h.hop for h in hops[:k] if h.slot is not None} for k in range(len(hops))]
    return "".join(_hop_svg(hop, texts, narrow, before) for hop, before in zip(hops, earlier))


def _hop_svg(hop: Hop, texts: Sequence[str], narrow: bool, earlier: dict[int, int]) -> str:
    order = np.argsort(-hop.scores, kind="stable")
    shown = [int(i) for i in order[:TOP_BARS]]
    if hop.slot is not None:
        at = int(np.flatnonzero(hop.slots == hop.slot)[0])
        if at not in shown:
            shown[-1] = at
    scores = hop.scores.astype(float)
    low, high = min(0.0, float(scores.min())), max(0.0, float(scores.max()))
    span = (high - low) or 1.0
    (label_w, bar_w, clip), row_h = ((120, 80, 18) if narrow else (250, 200, CLIP)), 18
    zero = label_w + bar_w * (0 - low) / span
    if hop.slot is None:
        head = f"hop {hop.hop}: stopped (the stop memory scored {hop.score:.2f})"
    else:
        rank = int((scores > hop.score).sum()) + 1
        head = f"hop {hop.hop}: picked slot {hop.slot} (s_O {hop.score:.2f}, rank {rank} by s_O)"
    summary = (f"{counted(len(scores), 'memory', 'memories')} scored · max {scores.max():.2f} · median {np.median(scores):.2f} · "
               f"min {scores.min():.2f}" + (f" · top {len(shown)} shown" if len(scores) > len(shown) else ""))
    bars = []
    for row, i in enumerate(shown):
        slot, score = int(hop.slots[i]), float(scores[i])
        x0, x1 = sorted((zero, label_w + bar_w * (score - low) / span))
        y = row * row_h
        text = texts[slot] if slot < len(texts) else "(forgotten)"   # undone or cleared since the answer
        colour = "#ea580c" if slot == hop.slot else "#e2e8f0" if slot in earlier else "#94a3b8"
        taken = f" (picked at hop {earlier[slot]})" if slot in earlier else ""
        bars.append(f'<g class="bar" data-slot="{slot}" data-hop="{hop.hop}"><title>slot {slot}: {escape(text)} '
                    f'(s_O {score:.3f}){taken}</title><text x="0" y="{y + 13}" font-size="11">{slot}: {escape(_clip(text, clip))}'
                    f'{" ✓" if taken else ""}</text>'
                    f'<rect x="{x0:.1f}" y="{y + 3}" width="{max(x1 - x0, 1):.1f}" height="{row_h - 6}" fill="{colour}"/>'
                    f'<text x="{label_w + bar_w + 4}" y="{y + 13}" font-size="11">{score:.2f}</text></g>')
    width, height = label_w + bar_w + 44, len(shown) * row_h
    jump = f' data-slot="{hop.slot}" data-hop="{hop.hop}"' if hop.slot is not None else ""   # a click jumps to the pick
    return (f'<div class="hopchart" data-hop="{hop.hop}"><p class="charthead"{jump}>{escape(head)}</p>'
            f'<p class="note">{summary}</p>'
            # scaled to its container (a narrow side-by-side column), never wider than drawn
            f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" viewBox="0 0 {width} {height}" '
            f'preserveAspectRatio="xMinYMin meet" style="max-width: {width}px; height: auto" role="img" '
            f'font-family="sans-serif">'
            f'<line x1="{zero:.1f}" y1="0" x2="{zero:.1f}" y2="{height}" stroke="#333" stroke-width="0.5"/>'
            f"{''.join(bars)}</svg></div>")


# ---- the demo: why this slot, the story player, side by side, the downloadable page ----------
def _num(value: float | None) -> str:
    """A signed score to 3 decimals; one that rounds to zero prints +0.000, never -0.000."""
    return "—" if value is None else f"{round(float(value), 3) + 0.0:+.3f}"


def _verdict(why) -> str:
    """What Algorithm 1 (or the argmax, without time features) made of a memory at one hop."""
    if why.hashed_out:
        return f"holds no word of the question or of the facts found so far (word hashing): it cannot compete at hop {why.hop}"
    if not why.pickable:
        return f"picked at an earlier hop: it cannot compete at hop {why.hop}"
    if why.met is not None:
        verdict = (f"beat slot {why.met} (s_Ot {_num(why.challenge)})" if why.took_over
                   else f"did not beat slot {why.met}, the winner so far (s_Ot {_num(why.challenge)})")
    else:
        verdict = "led" if why.took_over else f"lost to slot {why.beaten_by} (a higher s_O)"
    if why.took_over:
        verdict += f", then slot {why.beaten_by} beat it" if why.beaten_by is not None else ", never beaten"
    if why.stop is not None and why.stop > 0 and why.winner is not None:
        verdict += f"; the stop memory beat the winner, slot {why.winner} (s_Ot {_num(why.stop)}), and ended the hops"
    elif why.picked:
        verdict += ": picked by the look-ahead (its pair of facts scored best over two hops)" if why.look_ahead else ": picked"
    elif why.look_ahead:
        verdict += "; the look-ahead picked another slot (a pair of facts that scored better over two hops)"
    return verdict


def why_panel(slot: Slot | None, whys: list, answer_parts: list, focus: int | None = None) -> str:
    """Why O scored `slot` as it did at each hop of the last answer (`memnet.output.SlotWhy`), and
    the parts of R's top answers' scores (`memnet.response.AnswerWhy`); `focus` marks one hop."""
    if slot is None or not whys:
        return ('<p class="note">Click a slot’s row or its bar in the chart to see why O scored it as it did '
                '(after a question).</p>')
    rows = []
    for why in whys:
        verdict = _verdict(why)
        cls = ' class="support"' if why.hop == focus else ""
        rank = f"{why.rank}" if why.pickable else "—"
        time = (f"{_num(why.challenger_terms)} vs slot {why.met}: {_num(why.incumbent_side)}" if why.met is not None
                else _num(why.challenger_terms))
        rows.append(f'<tr{cls} data-hop="{why.hop}"><td>{why.hop}</td><td>{_num(why.embedding)}</td><td>{_num(why.match)}</td>'
                    f"<td>{_num(why.score)}</td><td>{rank}</td><td>{time}</td><td>{escape(verdict)}</td></tr>")
    parts = "".join(f"<tr><td>{escape(p.answer)}</td><td>{_num(p.word)}</td><td>{_num(p.match)}</td><td>{_num(p.supports)}</td>"
                    f"<td>{_num(p.score)}</td></tr>" for p in answer_parts)
    return (f'<div class="why"><p><strong>Why slot {slot.index}</strong>: “{escape(slot.resolved)}”</p>'
            '<table class="memory"><thead><tr><th>hop</th><th>embedding</th><th>§3.6 match</th><th>s_O</th><th>rank</th>'
            '<th>write-time terms (it vs the winner it met)</th><th>Algorithm 1</th></tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
            '<p class="note">s_O = embedding (x·U_OΦ(m)) + match; Algorithm 1 walks the memories newest first and a '
            'memory takes over when s_Ot = its s_O + its time terms − the winner’s side is above 0.</p>'
            + (f'<p><strong>R’s top answers in parts</strong></p><table class="memory"><thead><tr><th>answer</th><th>own row</th>'
               f'<th>§3.6 in question</th><th>from the supports</th><th>s_R</th></tr></thead><tbody>{parts}</tbody></table>'
               if parts else "") + "</div>")


def _mark(right: bool | None) -> str:
    return "" if right is None else ('<span class="right">✓</span>' if right else '<span class="wrong">✗</span>')


def _accuracy(right: int, checked: int) -> str:
    return f"{right}/{checked} right ({100 * right / checked:.0f}%)" if checked else "no checked answers yet"


def player_panel(play, error: str = "") -> str:
    """The story player: which story, how far, the next line, and each question so far with the
    expected answer and supports beside the model's (✓/✗: the answer; the picks ✓ when they hold
    every expected support), and the running accuracy."""
    if play is None:
        return f'<p class="note">{escape(error) or "Pick a story and press Load."}</p>'
    upcoming = play.next_step
    head = (f'<p><strong>{escape(play.title)}</strong> · step {play.position} of {len(play.steps)} · '
            f'<span class="accuracy">accuracy: {_accuracy(*play.accuracy())}</span>')
    compared = any(o.other is not None for o in play.outcomes)
    if compared:
        head += f' · <span class="accuracy-b">B: {_accuracy(*play.accuracy(other=True))}</span>'
    head += "</p>"
    nxt = (f'<p class="note">next: {"question" if upcoming.is_question else "statement"} “{escape(upcoming.text)}”</p>'
           if upcoming else '<p class="note">The story is over: Reset plays it again.</p>')
    rows = []
    for o in reversed(play.outcomes):
        expected = "—" if o.expected is None else escape(o.expected)
        supports = ", ".join(map(str, o.expected_slots)) or "—"
        picked = f'{", ".join(map(str, o.picked)) or "—"} {_mark(o.supports_right)}'
        other = (f"<td>{escape(o.other or '—')} {_mark(o.other_right)}</td><td>{', '.join(map(str, o.other_picked)) or '—'} "
                 f"{_mark(o.other_supports_right)}</td>" if compared else "")
        rows.append(f'<tr class="outcome"><td>{escape(o.question)}</td><td>{expected}</td><td>{escape(o.answer or "—")} '
                    f"{_mark(o.right)}</td><td>{supports}</td><td>{picked}</td>{other}</tr>")
    other_head = "<th>B’s answer</th><th>B’s picks</th>" if compared else ""
    table = ('<table class="memory"><thead><tr><th>question</th><th>expected</th><th>answer</th>'
             f"<th>expected supports</th><th>O’s picks</th>{other_head}</tr></thead><tbody>{''.join(rows)}</tbody></table>") if rows else ""
    return (f'<div class="player">{head}{nxt}{table}'
            + (f'<p class="note">{escape(error)}</p>' if error else "") + "</div>")


def _settings(config) -> str:
    on = lambda flag: "on" if flag else "off"  # noqa: E731
    return (f"k={config.hops}, write time {on(config.time)}, §3.5 unseen words {on(config.unseen_context)}, "
            f"§3.6 match {on(config.match)}, n={config.dim}")


def side_by_side(columns: list[tuple[str, object, int | None, Answer | None]], texts: Sequence[str] = (),
                 accuracy: list[tuple[int, int]] | None = None) -> str:
    """Two answers to the same question in two columns (label, model config, hops, answer), each
    with its hops and chart; what differs between them is marked."""
    if all(answer is None for *_, answer in columns):
        return '<p class="note">Ask a question (or step the story player) to compare the two models.</p>'
    picks = [[h.slot for h in answer.hops] if answer else [] for *_, answer in columns]
    answers = [answer.answer if answer else None for *_, answer in columns]
    cells = []
    for c, (label, config, hops, answer) in enumerate(columns):
        other = 1 - c
        differs = answers[c] != answers[other]
        head = (f'<p class="model"><strong>{"AB"[c]}: {escape(label)}</strong><br><span class="note">{escape(_settings(config))}'
                + (f", run with k={hops}" if hops else "") + "</span></p>")
        if accuracy:
            head += f'<p class="accuracy">{_accuracy(*accuracy[c])}</p>'
        if answer is None:
            cells.append(f'<div class="side">{head}<p class="note">no answer</p></div>')
            continue
        said = escape(answer.display or answer.message or "no answer")
        body = f'<p class="answer{" differs" if differs else ""}">answer: <strong>{said}</strong>{" ≠" if differs else ""}</p><ol class="hops">'
        for h, hop in enumerate(answer.hops):
            same = h < len(picks[other]) and picks[other][h] == hop.slot
            what = ("stop" if hop.slot is None else f"slot {hop.slot}: {escape(_clip(texts[hop.slot] if hop.slot < len(texts) else hop.text or '', 60))}")
            body += f'<li class="{"same" if same else "differs"}">{what} <em>(s_O {hop.score:.2f})</em></li>'
        cells.append(f'<div class="side" data-side="{"AB"[c]}">{head}{body}</ol>{hop_chart(answer, texts, narrow=True)}</div>')
    return f'<div class="sides">{"".join(cells)}</div>'


SIDES_CSS = """
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.side { border: 1px solid var(--border-color-primary, #ccc); border-radius: 6px; padding: 6px; overflow-x: auto; }
.differs { background: #fecaca; color: #1f2937; }
.right { color: #15803d; font-weight: 700; }
.wrong { color: #b91c1c; font-weight: 700; }
p.charthead { margin: 6px 0 0 0; font-weight: 600; }
.hopchart svg { display: block; }
"""


def conversation_page(title: str, slots: list[Slot], chat: list[dict], answers: list[Answer]) -> str:
    """The conversation as one self-contained HTML page: the chat, every answer with its hops and
    inline SVG charts, and the whole memory. No scripts and no external resources; user text is
    escaped here (chat lines were escaped when they were rendered)."""
    texts = _texts(slots)
    lines = "".join(f'<div class="line {escape(line.get("role", ""))}"><b>{"you" if line.get("role") == "user" else "memnet"}:</b> '
                    f'<span>{_chat_html(line.get("content"))}</span></div>' for line in chat)
    blocks = []
    for n, answer in enumerate(answers, 1):
        hops = "".join(f"<li>{'stop' if h.slot is None else f'slot {h.slot}: {escape(texts[h.slot] if h.slot < len(texts) else h.text or chr(8212))}'}"
                       f" <em>(s_O {h.score:.2f})</em></li>" for h in answer.hops)
        blocks.append(f'<section class="answer"><h3>{n}. {escape(answer.question)} → {escape(answer.display or answer.message)}</h3>'
                      f"<ol>{hops}</ol>{hop_chart(answer, texts)}{ranking_table(answer)}</section>")
    table = "".join(f"<tr><td>{s.index}</td><td>{s.time}</td><td>{escape(s.text)}</td><td>{escape(s.resolved)}</td></tr>"
                    for s in slots)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">"
            f"<title>{escape(title)}</title><style>body {{ font-family: sans-serif; max-width: 60em; margin: 1em auto; }}"
            f"{TABLE_CSS}{SIDES_CSS} .line {{ margin: 4px 0; white-space: pre-wrap; }} .line.user {{ color: #1d4ed8; }}"
            f"</style></head><body><h1>{escape(title)}</h1><h2>Conversation</h2>{lines or '<p>(empty)</p>'}"
            f"<h2>Answers, with O’s hops and scores</h2>{''.join(blocks) or '<p>(no questions)</p>'}"
            f'<h2>Memory ({counted(len(slots), "slot")})</h2><table class="memory"><thead><tr><th>slot</th><th>time</th><th>as typed</th>'
            f"<th>as stored</th></tr></thead><tbody>{table}</tbody></table></body></html>\n")


def _texts(slots: list[Slot]) -> list[str]:
    """Each slot's stored text by slot index ("" for a free index)."""
    texts = [""] * (max((s.index for s in slots), default=-1) + 1)
    for s in slots:
        texts[s.index] = s.resolved
    return texts


_SAFE_TAGS = re.compile(r"&lt;(/?)(strong|em)&gt;")


def _chat_html(content) -> str:
    """A stored chat line, escaped again, with only the <strong> and <em> this module writes restored.
    (Chat lines in the store were escaped when rendered; re-escaping keeps the page safe even so.)"""
    text = content if isinstance(content, str) else str(content)
    return _SAFE_TAGS.sub(r"<\1\2>", escape(html.unescape(text)))
