"""The story player and the demo handlers, called directly: stories from files and the simulator,
stepping through the chat turn, the checks against the file's answers, side by side, why this
slot, the memory table's pages, the downloadable page."""
from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

import numpy as np

from app import demo, player, render
from app.player import Step
from memnet import Answer, Hop
from memnet.data.babi import BabiFormatError
from tests.app_fixtures import app_model_dir, context  # noqa: F401
from tests.helpers import REPO

STORIES = REPO / "assets" / "stories"
XSS = "<xss onmouseover=alert(1)>"   # no HTML element (I reads '<img ...>' as markup and drops it): kept as typed


def test_a_babi_story_keeps_file_order_answers_and_supports():
    play = player.read_file(STORIES / "milk-and-apple.txt")
    assert [s.is_question for s in play.steps[:4]] == [False, False, False, True]
    assert play.steps[3] == Step("Where is Mary?", True, "kitchen", (0,))
    assert play.steps[5] == Step("Where is the milk?", True, "office", (1, 3))
    assert sum(s.is_question for s in play.steps) == 6 and len(play.steps) == 14


def test_plain_text_plays_sentence_by_sentence_without_answers(tmp_path):
    path = tmp_path / "story.txt"
    path.write_text("Mary went to the kitchen. She took the milk.\nWhere is the milk?\n")
    play = player.read_file(path)
    assert [s.text for s in play.steps] == ["Mary went to the kitchen.", "She took the milk.", "Where is the milk?"]
    assert play.steps[2].is_question and play.steps[2].expected is None


def test_bad_files_and_story_numbers_are_named(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("1 Mary went home.\n3 Where is Mary?\thome\t1\n")
    with pytest.raises(BabiFormatError, match="^bad.txt:2"):
        player.read_file(bad)
    with pytest.raises(ValueError, match="no story 2"):
        player.read_file(STORIES / "milk-and-apple.txt", 2)


def test_simulated_stories_are_seeded_and_their_supports_point_at_statements():
    one, same, other = player.simulate(3), player.simulate(3), player.simulate(4, "actor", 1)
    assert one.steps == same.steps != other.steps
    statements = [s for s in one.steps if not s.is_question]
    questions = [s for s in one.steps if s.is_question]
    assert len(statements) == player.SIMULATED_STATEMENTS and len(questions) == player.SIMULATED_QUESTIONS
    for q in questions:
        assert q.expected and all(0 <= line < len(statements) for line in q.supports)
        assert any(q.expected in statements[line].text for line in q.supports)   # the answer is stated in a support
    with pytest.raises(ValueError, match="unknown setting"):
        player.simulate(1, "everything")


def test_outcomes_map_supports_to_slots_and_count_accuracy():
    play = player.Play("t", [Step("A went to the hall."), Step("B went to the den."),
                             Step("Where is A?", True, "hall", (0,)), Step("Where is B?", True, "Den", (1,)),
                             Step("Where is C?", True)])
    player.stored(play, [0])
    player.stored(play, [1, 2])
    first = player.answered(play, "hall", [0], "den", [1])
    second = player.answered(play, "den", [2], "hall", [0])
    third = player.answered(play, "yard", [])
    assert (first.expected_slots, second.expected_slots) == ([0], [1, 2])
    assert (first.right, second.right, third.right) == (True, True, None)   # "Den" is the answer "den"
    assert (first.other_right, second.other_right) == (False, False)
    assert play.accuracy() == (2, 2) and play.accuracy(other=True) == (0, 2) and play.done
    # supports: a statement stored in two slots (1, 2) is found when either is picked
    assert (first.supports_right, second.supports_right, third.supports_right) == (True, True, None)
    assert (first.other_supports_right, second.other_supports_right, third.other_supports_right) == (False, False, None)
    panel = render.player_panel(play)
    rows = re.findall(r'<tr class="outcome">(.*?)</tr>', panel)
    cells = [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td>(.*?)</td>", row)] for row in rows]
    assert [row[3:] for row in reversed(cells)] == [["0", "0 ✓", "den ✗", "1 ✗"], ["1, 2", "2 ✓", "hall ✗", "0 ✗"],
                                                    ["—", "—", "—", "—"]]   # expected supports, O's, B's answer, B's
    with pytest.raises(ValueError):
        player.stored(player.Play("q", [Step("Where?", True)]), [0])


def _load(context, key=None):
    play, panel, chat, table, chart, ranking, key, *_ = demo.on_load_story(
        context, key, demo.SOURCES[0], "milk and apple", None, 1, 0, "actor+object", 5, "")
    return play, key


def test_stepping_a_bundled_story_through_the_chat(context):
    play, key = _load(context)
    assert play is not None and play.position == 0
    outputs = None
    while not play.done:
        outputs = demo.on_step(context, key, play, 2, "", False, None, 1)
    play, panel, chat, table, chart, ranking, key, timer, sides, playing, label = outputs
    session = context.sessions.get(key)
    assert len(session.net.memory) == 8                       # every statement stored, committed
    said = "".join(line["content"] for line in chat)   # the chat shows each line as if typed, with its reply
    assert "She picked up the milk.Stored in slot 1" in said and "Where is the apple?<strong>" in said
    right, checked = play.accuracy()
    assert checked == 6 and f"accuracy: {right}/6 right" in panel
    assert panel.count('class="outcome"') == 6 and ("✓" in panel or "✗" in panel)
    assert timer.active is False and (playing, label) == (False, "Play")   # the Play timer stops at the end
    assert sides == {"__type__": "update"}                    # not comparing: the side view is left alone
    # a statement step highlights the slots it wrote
    play, key = _load(context, key)
    _, _, _, table, *_ = demo.on_step(context, key, play, 2, "", False, None, 1)
    assert play.last_slots == [0] and '<tr class="slot new" data-slot="0">' in table
    assert len(context.sessions.get(key).net.memory) == 1    # Load started from an empty memory


def test_side_by_side_answers_the_same_question_with_the_second_model(context):
    play, key = _load(context)
    label = context.catalogue.labels[0]
    while not play.done:
        *_, sides, _, _ = demo.on_step(context, key, play, 2, "", True, label, 1)
    assert sides.count('class="side"') == 2
    assert all(o.other is not None for o in play.outcomes)
    view = demo.on_compare(context, key, True, label, 1, 2, play)
    assert view.count('class="side"') == 2 and "run with k=1" in view and "run with k=2" in view
    assert view.count('<p class="accuracy">') == 2
    session = context.sessions.get(key)
    other = demo.other_answer(context, session, label, 1, "Where is Mary?")
    assert len(other.hops) == 1 and other.hops[0].slot is not None
    differs = other.answer != session.last_answer.answer
    assert ("answer differs" in view) == differs
    assert "Tick" in demo.on_compare(context, key, False, label, 1, 2, play)


def test_picking_model_b_sets_its_hops_to_that_models_own_k(context):
    play, key = _load(context)
    for _ in range(4):   # three statements and a question
        demo.on_step(context, key, play, 2, "", True, context.catalogue.default, 2)
    for name in ("k1", "no-time"):
        label = f"assets/ablations/{name}"
        hops, view = demo.on_other(context, key, True, label, 2, play)
        assert hops == context.catalogue.open(label).model.config.hops == {"k1": 1, "no-time": 2}[name]
        assert f"B: {label}" in view and f"run with k={hops}" in view.split('data-side="B"')[1]


def test_why_this_slot_shows_s_o_parts_and_algorithm_1(context):
    session = context.sessions.get("w" * 20)
    list(demo.handlers.chat_turn(context, session.key, f"Mary moved to the bathroom. {XSS} John went to the hallway. "
                                 "Mary travelled to the office.", 2))
    list(demo.handlers.chat_turn(context, session.key, "Where is Mary?", 2))
    session = context.sessions.get(session.key)
    picked = session.last_answer.supports[0]
    table, why, word = demo.select_slot(context, session.key, "", picked, 1)
    assert f"Why slot {picked}" in why and "§3.6 match" in why and "picked" in why
    assert f'class="slot support selected" data-slot="{picked}"' in table
    loser = next(s.index for s in session.net.memory if s.index != picked)
    why_not = demo.why(session, loser)
    assert re.search(r"did not beat slot \d+, the winner so far|then slot \d+ beat it", why_not)
    assert "R’s top answers in parts" in why_not and session.last_answer.answer in why_not
    xss_slot = next(s.index for s in session.net.memory if "onmouseover" in s.text)
    assert XSS not in demo.why(session, xss_slot) and "&lt;xss" in demo.why(session, xss_slot)
    # a click event names the slot; a filter that hides it is cleared
    table, why, word = demo.on_select(context, session.key, "hallway", SimpleNamespace(_data={"slot": str(picked), "hop": "1"}))
    assert word == "" and f"Why slot {picked}" in why
    assert demo.on_select(context, session.key, "", SimpleNamespace(_data={})) [0] == {"__type__": "update"}


def test_pages_of_a_large_memory_and_jumping_to_a_slot(context):
    session = context.sessions.get("p" * 20)
    list(demo.handlers.chat_turn(context, session.key, " ".join(f"Walker{i} went to the yard." for i in range(350)), 2))
    table = demo.on_page(context, session.key, "", 1)
    assert "Page 3 of 4" in table and "Walker150 " in table and "Walker349 " not in table
    assert '<button class="page" data-page="2">older ▶</button>' in table and 'data-page="0">newest' in table
    table = demo.on_page(context, session.key, "", 9)
    assert "Page 1 of 4" in table and "Walker0 " in table and 'data-page="4" disabled>older' in table   # the oldest
    table, why, word = demo.select_slot(context, session.key, "", 5)
    assert "Page 1 of 4" in table and 'selected" data-slot="5"' in table
    table, why, word = demo.on_select(context, session.key, "", SimpleNamespace(_data={"page": "2"}))
    assert "Page 2 of 4" in table and why == word == {"__type__": "update"}
    table = demo.on_page(context, session.key, "walker12", 0)
    assert "11 of 350 slots match" in table and "data-page" not in table


def test_the_downloaded_page_is_self_contained_and_escaped(context):
    session = context.sessions.get("d" * 20)
    list(demo.handlers.chat_turn(context, session.key, f"{XSS} Mary went to the kitchen.", 2))
    list(demo.handlers.chat_turn(context, session.key, "Where is Mary?", 2))
    list(demo.handlers.chat_turn(context, session.key, "John went to the garden. Where is John?", 2))
    page = open(demo.conversation_file(context, session.key), encoding="utf-8").read()
    assert XSS not in page and page.count("&lt;xss onmouseover=alert(1)&gt;") >= 2   # chat and memory
    assert page.count('<section class="answer">') == 2 and page.count("<svg") >= 2
    assert not re.search(r"<script|src=\"http|href=\"http|<link|@import", page)
    assert "Content-Security-Policy" in page


def test_an_uploaded_babi_file_plays_and_a_bad_one_is_refused(context, tmp_path):
    good, bad = tmp_path / "mine.txt", tmp_path / "broken.txt"
    good.write_text("1 Tom went to the hall.\n2 Where is Tom?\thall\t1\n1 Ann went to the den.\n2 Where is Ann?\tden\t1\n")
    bad.write_text("1 Tom went to the hall.\n3 Where is Tom?\thall\t1\n")
    play, panel, *_ = demo.on_load_story(context, None, demo.SOURCES[1], None, str(good), 2, 0, "actor", 5, "")
    assert play.title == "mine.txt, story 2 of 2" and play.steps[1] == Step("Where is Ann?", True, "den", (0,))
    for path, number, message in ((None, 1, "upload a bAbI-format file first"), (str(bad), 1, "broken.txt:2"),
                                  (str(good), 3, "there is no story 3")):
        play, panel, *_ = demo.on_load_story(context, None, demo.SOURCES[1], None, path, number, 0, "actor", 5, "")
        assert play is None and message in panel and "Could not load that story" in panel
        assert str(tmp_path) not in panel   # the file's name only, not the server's folder
    play, panel, *_ = demo.on_load_story(context, None, demo.SOURCES[2], None, None, 1, 7, "actor", 3, "")
    assert play.steps == player.simulate(7, "actor", 3).steps and "seed 7" in panel


def test_the_ablation_checkpoints_are_what_their_names_say():
    from memnet import checkpoint

    settings = {name: checkpoint.load(REPO / "assets" / "ablations" / name).config
                for name in ("full", "k1", "no-time", "no-unseen-match")}
    full = settings["full"]
    assert (full.hops, full.time, full.unseen_context, full.match) == (2, True, True, True)
    assert settings["k1"].hops == 1 and not settings["no-time"].time
    assert not settings["no-unseen-match"].unseen_context and not settings["no-unseen-match"].match
    for name, config in settings.items():   # each differs from "full" only where its name says
        assert {k for k, v in vars(config).items() if vars(full)[k] != v} == {
            "full": set(), "k1": {"hops"}, "no-time": {"time"}, "no-unseen-match": {"unseen_context", "match"}}[name]
    assert all((REPO / "assets" / "ablations" / n / "weights.safetensors").stat().st_size < 2_000_000 for n in settings)


def test_the_chart_of_5000_scores_shows_the_top_slots_the_pick_and_a_summary():
    scores = np.linspace(3, -2, 5000).astype(np.float32)
    hop = Hop(1, 4321, float(scores[4321]), np.arange(5000, dtype=np.int64)[::-1].copy(), scores, text="<b>x</b>")
    chart = render.hop_chart(Answer("q", "a", [hop]), [f"slot text {i} <b>" for i in range(5000)])
    assert chart.count('<g class="bar"') == render.TOP_BARS
    assert '<g class="bar" data-slot="4999" data-hop="1">' in chart   # the best score (slots newest first)
    assert 'data-slot="4321" data-hop="1">' in chart and "#ea580c" in chart   # the pick, though not in the top
    assert "5,000 memories scored" in chart and "median" in chart and "<b>" not in chart


def test_the_chart_marks_a_fact_picked_at_an_earlier_hop():
    slots, scores = np.array([2, 1, 0], dtype=np.int64), np.array([2.0, 1.0, 0.5], dtype=np.float32)
    hops = [Hop(1, 2, 2.0, slots, scores), Hop(2, None, 0.7, slots, scores, stop_score=0.7)]   # hop 2 stopped
    second = render.hop_chart(Answer("q", "a", hops), ["a", "b", "c"]).split('<div class="hopchart" data-hop="2">')[1]
    assert "(picked at hop 1)" in second and "#e2e8f0" in second   # slot 2 leads hop 2's bars, but it cannot win again
    assert second.count("(picked at hop") == 1


def test_the_download_keeps_the_live_answers_only(context):
    key = "u" * 20
    turn = lambda text: list(demo.handlers.chat_turn(context, key, text, 2))  # noqa: E731
    turn("Mary went to the kitchen. Where is Mary?")
    turn("John went to the garden. Where is John?")
    assert [a["question"] for a in context.store.answers(key)] == ["Where is Mary?", "Where is John?"]
    demo.handlers.on_undo(context, key, "")             # takes back the second message, its answer too
    assert [a["question"] for a in context.store.answers(key)] == ["Where is Mary?"]
    demo.handlers.on_clear(context, key, "")
    turn("Sandra went to the hall. Where is Sandra?")
    assert [a["question"] for a in context.store.answers(key)] == ["Where is Sandra?"]


def test_a_turn_shows_the_side_by_side_view_in_its_last_output(context):
    key = "t" * 20
    label = context.catalogue.labels[0]
    outputs = list(demo.on_turn(context, "Mary went to the kitchen. Where is Mary?", key, 2, "", True, label, 1))
    assert all(o[-1] == {"__type__": "update"} for o in outputs[:-1])
    assert outputs[-1][-1].count('class="side"') == 2 and outputs[-1][:-1][-1] == key
    quiet = list(demo.on_turn(context, "Where is Mary?", key, 2, "", False, label, 1))
    assert quiet[-1][-1] == {"__type__": "update"}



def test_scores_that_round_to_zero_print_without_a_minus_sign():
    # the why view's s_O and s_R parts (e.g. a §3.6 match of -0.0001) go through this formatter
    assert [render._num(v) for v in (-0.0001, 0.0004, -0.0006, -1.2341, None)] == ["+0.000", "+0.000", "-0.001", "-1.234", "—"]
