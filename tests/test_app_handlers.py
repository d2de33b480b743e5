"""The app's handlers, called directly: chat turns, the memory panel, persistence, bad input."""
from __future__ import annotations

import importlib.util
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app import handlers, render
from app.sessions import Store
from memnet import Slot
from tests.app_fixtures import app_model_dir, context, make_context  # noqa: F401
from tests.helpers import REPO

STORY = "Mary moved to the bathroom. John went to the hallway. Mary travelled to the office."
XSS = "<img src=x onerror=alert(1)>"


def turn(context, session, text, hops=None) -> list[str]:
    return list(handlers.chat_turn(context, session, text, hops))


def test_statements_are_stored_and_acknowledged_after_commit(context):
    session = handlers.open_session(context, None)
    replies = handlers.chat_turn(context, session, STORY, None)
    first = next(replies)
    saved = context.store.open(session.key, context.catalogue)  # committed before the first acknowledgement
    assert [s.text for s in saved.net.memory] == STORY.replace(". ", ".|").split("|")
    assert first.startswith("Stored 3 memories, in slots 0–2")
    assert turn(context, session, "Daniel went to the garden.") == ["Stored in slot 3: “Daniel went to the garden.”"]


def test_resolved_text_is_shown_when_coreference_changed_it():
    slot = Slot(7, 7, "He picked up the milk.", "John picked up the milk.", ("john", "picked", "up", "the", "milk"))
    assert render.stored_reply([slot]) == "Stored in slot 7: “He picked up the milk.” → “John picked up the milk.”"
    assert 'class="changed">John picked up the milk.' in render.memory_table([slot], None)


def test_question_streams_answer_then_supporting_facts_in_hop_order(context):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    replies = turn(context, session, "Where is Mary?", hops=2)
    assert replies[0] == "<strong>office</strong>"
    assert all(later.startswith(earlier) for earlier, later in zip(replies, replies[1:]))
    answer = session.last_answer
    assert answer.answer == "office" and answer.supports[0] == 2
    facts = replies[-1].split("because:")[1].strip().splitlines()
    assert facts[0].startswith("1. Mary travelled to the office. <em>(slot 2, score")
    assert len(facts) == len(answer.supports)


def test_memory_panel_highlights_supports_with_hop_and_score(context):
    session = handlers.open_session(context, None)
    turn(context, session, STORY + " Where is Mary?")
    table, chart, runner_ups = handlers.panel(session)
    hop1 = session.last_answer.hops[0]
    assert f'<tr class="slot support" data-slot="2" data-hop="1">' in table
    assert f"hop 1 · {hop1.score:.2f}" in table
    assert table.count('class="slot"') + table.count('class="slot support"') == 3
    assert len(chart.axes) == len(session.last_answer.hops)
    assert "office" in runner_ups and "R score" in runner_ups


def test_filter_by_word_and_long_memories_stay_readable(context):
    session = handlers.open_session(context, None)
    turn(context, session, " ".join(f"Person{i} went to the kitchen." for i in range(render.SHOWN_IN_TABLE + 100)))
    table = handlers.on_filter(session, "person17")
    assert "11 of 600 slots match" in table  # Person17, Person170..179
    full = handlers.on_filter(session, "")
    assert full.count("<tr class=") == render.SHOWN_IN_TABLE and "filter by a word" in full


def test_user_text_is_escaped_everywhere(context):
    session = handlers.open_session(context, None)
    turn(context, session, XSS)
    assert "**bold** [a](javascript:x)" in turn(context, session, "**bold** [a](javascript:x)")[0]  # no Markdown either
    turn(context, session, "Where is x?")
    table, _, runner_ups = handlers.panel(session)
    shown = json.dumps(session.chat) + table + runner_ups
    assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in table
    assert session.net.memory[0].text == XSS  # stored as typed


def test_undo_takes_back_the_whole_last_turn_and_clear_forgets_everything(context):
    session = handlers.open_session(context, None)
    turn(context, session, "Mary moved to the bathroom.")
    turn(context, session, "John went to the hallway. Where is John? Sandra went to the garden.")
    turn(context, session, "Where is Mary?")  # writes nothing: undo skips it
    chat, *_ = handlers.on_undo(context, session, "")
    assert [s.index for s in session.net.memory] == [0]
    assert chat[-1]["content"] == "Undone: forgot 2 slots (1–2)."
    handlers.on_undo(context, session, "")
    assert session.net.memory == []
    assert handlers.on_undo(context, session, "")[0][-1]["content"] == "Nothing to undo."
    turn(context, session, STORY)
    handlers.on_clear(context, session, "")
    assert session.net.memory == [] and session.chat == []
    assert context.store.open(session.key, context.catalogue).net.memory == []


def test_sessions_are_isolated_and_survive_a_restart(context, app_model_dir, tmp_path):
    alice, bob = handlers.open_session(context, None), handlers.open_session(context, None)
    turn(context, alice, STORY + " Where is Mary?")
    turn(context, bob, "Daniel went to the garden.")
    assert len(alice.net.memory) == 3 and [s.text for s in bob.net.memory] == ["Daniel went to the garden."]
    restarted = make_context(app_model_dir, context.store.folder)  # a new process on the same data dir
    session, key, chat, hops, model, table, *_ = handlers.on_load(restarted, alice.key, "")
    assert key == alice.key and [s.text for s in session.net.memory] == [s.text for s in alice.net.memory]
    assert chat == alice.chat and "Mary travelled to the office." in table
    assert session.last_answer.to_json() == alice.last_answer.to_json() and '<tr class="slot support"' in table
    assert handlers.on_load(restarted, None, "")[1] not in (alice.key, bob.key)


def test_a_failed_commit_is_not_acknowledged_and_loses_nothing(context, monkeypatch):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    before = (list(session.net.memory), list(session.chat), list(session.turns))

    def broken(self, session):
        raise OSError("disk full")

    monkeypatch.setattr(Store, "save", broken)
    with pytest.raises(OSError):
        turn(context, session, "Daniel went to the garden.")
    assert (session.net.memory, session.chat, session.turns) == before


def test_export_then_import_round_trips(context):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    path = handlers.on_export(session)
    other = handlers.open_session(context, None)
    status, chat, table, *_ = handlers.on_import(context, path, other, "")
    assert status == "Imported 3 slots from memnet-memory.json."
    assert [s.resolved for s in other.net.memory] == [s.resolved for s in session.net.memory]
    assert context.store.open(other.key, context.catalogue).net.memory == other.net.memory


@pytest.mark.parametrize("content, reason", [
    (b"{not json", "not valid JSON"),
    (b'{"format": "something-else"}', "not a memnet memory export"),
    (b'{"format": "memnet-memory/1", "slots": 5}', "Could not import"),
    (b'{"format": "memnet-memory/1", "slots": [{"index": "x"}]}', "slot 0 is malformed"),
    (b"\xff\xfe\x00binary", "not UTF-8 text"),
])
def test_a_malformed_import_says_why_and_keeps_the_memory(context, tmp_path, content, reason):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    status, *_ = handlers.on_import(context, str(bad), session, "")
    assert reason in status and status.endswith("Your memory is unchanged.")
    assert len(session.net.memory) == 3


def test_bad_input_gets_a_clear_reply_and_loses_no_memory(context):
    session = handlers.open_session(context, None)
    assert turn(context, session, "Where is the milk?") == ["The memory is empty: tell me something first."]
    turn(context, session, STORY)
    assert turn(context, session, "") == ["That message was empty: nothing was stored."]
    assert turn(context, session, "   \n\t ") == ["That message was empty: nothing was stored."]
    assert turn(context, session, "\x00\x01\x02\x1b") == ["That message was empty once 4 control characters were removed: nothing was stored."]
    assert turn(context, session, "\x00\xff\xfe\u0080\ud800") == ["(I removed 3 control characters.)\n\nNot stored: “ÿþ” (no words I can read)"]
    too_long = turn(context, session, "a" * (handlers.MAX_CHARS + 1))
    assert too_long[-1].startswith("That message is 1,000,001 characters long")
    assert len(session.net.memory) == 3
    stored = turn(context, session, "Bill went\x07 to the kitchen.")
    assert stored[-1] == "(I removed 1 control characters.)\n\nStored in slot 3: “Bill went to the kitchen.”"


def test_a_long_paste_abandoned_part_way_leaves_no_half_message(context):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    replies = handlers.chat_turn(context, session, " ".join(f"Person{i} went to the office." for i in range(1000)), None)
    assert next(replies).startswith("Reading") and next(replies).startswith("Reading")
    replies.close()  # the browser went away
    assert len(session.net.memory) == 3 and session.turns == [1]


def test_a_100kb_paste_is_stored(context):
    session = handlers.open_session(context, None)
    paste = " ".join(["Sandra journeyed to the garden and then she went back to the kitchen again."] * 1400)
    assert len(paste) > 100_000
    assert turn(context, session, paste)[-1].startswith("Stored 1400 memories")
    assert len(session.net.memory) == 1400


def test_5000_statements_show_progress_and_undo_as_one(context):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    replies = turn(context, session, " ".join(f"Person{i} went to the office." for i in range(5000)) + " Where is Person42?")
    progress = [r for r in replies if r.startswith("Reading your message…")]
    assert len(progress) == 26 and progress[1] == "Reading your message… 200 of 5,001 sentences"
    assert replies[len(progress)].startswith("Stored 5000 memories, in slots 3–5002")
    assert "<strong>office</strong>" in replies[-1]
    assert len(session.net.memory) == 5003
    handlers.on_undo(context, session, "")
    assert len(session.net.memory) == 3


def test_a_statement_per_line_is_stored_and_answered(context):
    session = handlers.open_session(context, None)
    stored = turn(context, session, "John went to the kitchen\nMary went to the garden\nJohn went to the office")
    assert stored[-1].startswith("Stored 3 memories, in slots 0–2")
    assert turn(context, session, "Where is Mary?")[0] == "<strong>garden</strong>"


def test_what_a_chat_message_does_not_store_is_named(context):
    session = handlers.open_session(context, None)
    replies = turn(context, session, "Les went to La Paz. Mary went to the garden. " + "x" * 20_000 + ". Der Hund ist in der Küche.")
    assert replies[-1] == ("Stored 2 memories, in slots 0–1:\n- slot 0: “Les went to La Paz.”\n- slot 1: “Mary went to the garden.”\n\n"
                           "Not stored (2):\n- “" + "x" * render.SHOWN_OF_SKIPPED + "…” (a word of 20,001 characters (the longest I read is 200))\n"
                           "- “Der Hund ist in der Küche.” (not English (memnet only reads English))")
    assert turn(context, session, "Der Hund ist in der Küche.") == ["Not stored: “Der Hund ist in der Küche.” (not English (memnet only reads English))"]
    assert turn(context, session, "Where is Mary?")[0] == "<strong>garden</strong>"
    assert len(session.net.memory) == 2


def test_the_tell_endpoint_names_what_it_did_not_store(context):
    told, session = handlers.tell(context, "Mary went to the garden. Where is Mary? 约翰去了厨房。", None)
    assert [s["text"] for s in told["slots"]] == ["Mary went to the garden."]
    assert [s["text"] for s in told["skipped"]] == ["约翰去了厨房。", "Where is Mary?"]
    assert session.chat[-1]["content"].startswith("Stored in slot 0: “Mary went to the garden.”\n\nNot stored (2):")


PASTE_ITEMS = {  # kind -> (text, is a statement)
    "statement": ("Person{i} went to the room{r}.", True),
    "line": ("Guest{i} moved to the hall{r}\n", True),   # no full stop: the line break ends it
    "foreign": ("Der Hund ist in der Küche.", False),
    "garbled": ("x" * 300 + ".", False),
}


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(sorted(PASTE_ITEMS)), min_size=1, max_size=30), st.integers(1, 40),
       st.sampled_from([" ", "\n", " \n\n"]))
@example(["statement"] * 12 + ["line", "foreign", "garbled"], 1_340, " ")  # 0.99 of the app's limit, 17,420 statements
def test_every_statement_of_a_paste_is_stored_or_named(context, kinds, repeat, separator):
    """Pastes up to the app's limit: each statement is in a slot or in a text named as not stored
    (with its reason), each refused item is named, and the chat stores what /tell stores."""
    items = [(text.format(i=i, r=i % 97).strip(), statement) for i, (text, statement) in
             enumerate(PASTE_ITEMS[kind] for kind in kinds * repeat)]
    paste = separator.join(text + ("\n" if kinds[i % len(kinds)] == "line" else "") for i, (text, _) in enumerate(items))
    assert len(paste) <= handlers.MAX_CHARS
    told, _ = handlers.tell(context, paste, None)
    stored = {slot["text"].removesuffix(".") for slot in told["slots"]}
    named = " ".join(skipped["text"] for skipped in told["skipped"])
    assert all(skipped["reason"] for skipped in told["skipped"])
    for text, statement in items:
        assert (statement and text.removesuffix(".") in stored) or text in named, text
    assert len(told["slots"]) == len(stored) and stored <= {text.removesuffix(".") for text, statement in items if statement}
    session = handlers.open_session(context, None)
    reply = turn(context, session, paste)[-1]
    assert [s.text for s in session.net.memory] == [s["text"] for s in told["slots"]]
    assert ("Not stored" in reply) == bool(told["skipped"])


def test_api_handlers_give_each_client_its_own_memory(context):
    told, alice = handlers.tell(context, STORY, None)
    slots = told["slots"]
    assert [s["index"] for s in slots] == [0, 1, 2] and slots[2]["text"] == "Mary travelled to the office."
    assert told["skipped"] == []
    answer, alice = handlers.ask(context, "Where is Mary?", alice)
    assert answer["answer"] == "office" and answer["supports"][0] == 2
    assert answer["hops"][0]["scores"]["2"] == answer["hops"][0]["score"]
    assert json.loads(json.dumps(answer)) == answer
    assert handlers.memory(context, None)[0] == []
    assert len(handlers.memory(context, alice)[0]) == 3
    assert handlers.clear(context, alice)[0] == {"cleared": 3}
    assert handlers.memory(context, alice)[0] == []


def test_hops_setting_and_model_switch_keep_the_memory(context):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    turn(context, session, "Where is Mary?", hops=1)
    assert len(session.last_answer.hops) == 1
    status, hops, session = handlers.on_model(context, context.catalogue.default, session)
    assert status.startswith("Model:") and hops == session.net.model.config.hops
    assert len(session.net.memory) == 3


def test_examples_load_and_are_answered(context):
    paths = handlers.examples(context)
    assert len(paths) >= 5
    session = handlers.open_session(context, None)
    replies = turn(context, session, handlers.example_text(next(p for p in paths if "milk" in p.name)))
    assert replies[-1].startswith("Stored 6 memories") and "because:" in replies[-1]


def test_launch_flags_default_to_this_machine_without_share():
    spec = importlib.util.spec_from_file_location("app_main", REPO / "app.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    args = main.parse_args([])
    assert (args.host, args.port, args.share, args.model) == ("127.0.0.1", 7860, False, None)
    assert args.data_dir.name == "memnet"
