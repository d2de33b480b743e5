"""The app's handlers, called directly: chat turns, the memory panel, persistence, bad input."""
from __future__ import annotations

import importlib.util
import json

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app import handlers, render
from memnet import Slot
from tests.app_fixtures import ASSETS, app_model_dir, context, make_context  # noqa: F401
from tests.helpers import REPO

STORY = "Mary moved to the bathroom. John went to the hallway. Mary travelled to the office."
XSS = "<xss onmouseover=alert(1)>"   # no HTML element (I reads '<img ...>' as markup and drops it): kept as typed


def turn(context, session, text, hops=None, message_id=None) -> list[str]:
    return list(handlers.chat_turn(context, session.key, text, hops, message_id))


def test_statements_are_stored_and_acknowledged_after_commit(context):
    session = handlers.open_session(context, None)
    replies = handlers.chat_turn(context, session.key, STORY, None)
    first = next(replies)
    saved = context.store.load(session.key)  # committed before the first acknowledgement
    assert [s.text for s in saved.memory.slots] == STORY.replace(". ", ".|").split("|")
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
    assert chart.count("<svg") == len(session.last_answer.hops)
    assert f'<g class="bar" data-slot="2" data-hop="1">' in chart and "Mary travelled to the office." in chart
    assert "office" in runner_ups and "R score" in runner_ups


def test_filter_by_word_and_long_memories_stay_readable(context):
    session = handlers.open_session(context, None)
    turn(context, session, " ".join(f"Person{i} went to the kitchen." for i in range(6 * render.PAGE)))
    table = handlers.on_filter(context, session.key, "person17")
    assert "11 of 600 slots match" in table  # Person17, Person170..179
    full = handlers.on_filter(context, session.key, "")
    assert full.count("<tr class=") == render.PAGE and "Page 6 of 6" in full and "Person599 " in full


def test_user_text_is_escaped_everywhere(context):
    session = handlers.open_session(context, None)
    turn(context, session, XSS)
    assert "**bold** [a](javascript:x)" in turn(context, session, "**bold** [a](javascript:x)")[0]  # no Markdown either
    turn(context, session, '<img src=x onerror=alert(1)><b>Lily</b> went home.')   # a paste of HTML: read as its text
    turn(context, session, "Where is x?")
    table, _, runner_ups = handlers.panel(session)
    shown = json.dumps(session.chat) + table + runner_ups
    assert "<xss" not in shown and "&lt;xss onmouseover=alert(1)&gt;" in table and "<img" not in shown
    assert session.net.memory[0].text == XSS  # stored as typed
    assert session.net.memory[-1].text == "Lily went home."


def test_undo_takes_back_the_whole_last_turn_and_clear_forgets_everything(context, monkeypatch):
    session = handlers.open_session(context, None)
    turn(context, session, "Mary moved to the bathroom.")
    turn(context, session, "John went to the hallway. Where is John? Sandra went to the garden.")
    turn(context, session, "Where is Mary?")  # writes nothing: undo skips it
    chat, table, *_ = handlers.on_undo(context, session.key, "")
    assert [s.index for s in session.net.memory] == [0]
    assert chat[-1]["content"] == "Undone: forgot 2 slots (slots 1–2)."
    assert "John went to the hallway" not in str(chat) and "Where is Mary?" in str(chat)  # its chat lines went too
    turn(context, session, "Where is Mary?")   # the counts are in English
    assert "1 slot." in table and "1 memory scored" in render.hop_chart(session.last_answer)
    chat, table, chart, *_ = handlers.on_undo(context, session.key, "")
    assert chat[-1]["content"] == "Undone: forgot 1 slot (slot 0)."
    assert "0: (forgotten)" in chart   # the last answer's chart names the slot it scored, now gone
    assert session.net.memory == []
    assert handlers.on_undo(context, session.key, "")[0][-1]["content"] == "Nothing to undo."
    turn(context, session, STORY)
    said = []
    monkeypatch.setattr(handlers.gr, "Info", said.append)
    handlers.on_clear(context, session.key, "")
    assert session.net.memory == [] and session.chat == [] and said == ["Memory cleared: forgot 3 slots."]
    assert context.store.load(session.key).memory.slots == []
    turn(context, session, "Sandra went to the garden.")   # a cleared memory is a new one: write time 0
    assert [(s.index, s.time) for s in session.net.memory] == [(0, 0)]
    assert [(s.index, s.time) for s in context.store.load(session.key).memory.slots] == [(0, 0)]


def test_sessions_are_isolated_and_survive_a_restart(context, app_model_dir, tmp_path):
    alice, bob = handlers.open_session(context, None), handlers.open_session(context, None)
    turn(context, alice, STORY + " Where is Mary?")
    turn(context, bob, "Daniel went to the garden.")
    assert len(alice.net.memory) == 3 and [s.text for s in bob.net.memory] == ["Daniel went to the garden."]
    restarted = make_context(app_model_dir, context.store.folder)  # a new process on the same data dir
    key, chat, hops, model, table, *_ = handlers.on_load(restarted, alice.key, "")
    session = restarted.sessions.get(key)
    assert key == alice.key and [s.text for s in session.net.memory] == [s.text for s in alice.net.memory]
    assert chat == alice.chat and "Mary travelled to the office." in table
    assert session.last_answer.to_json() == alice.last_answer.to_json() and '<tr class="slot support"' in table
    assert handlers.on_load(restarted, None, "")[0] not in (alice.key, bob.key)


def test_export_then_import_round_trips(context):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    path = handlers.on_export(context, session.key)
    other = handlers.open_session(context, None)
    status, chat, table, *_ = handlers.on_import(context, path, other.key, "")
    assert status == "Imported 3 slots from memnet-memory.json."
    assert [s.resolved for s in other.net.memory] == [s.resolved for s in session.net.memory]
    assert context.store.load(other.key).memory.slots == other.net.memory


def test_an_import_goes_on_with_the_exported_pronouns_and_replaces_the_old_ones(tmp_path):
    """The export holds I's coreference state: after an import (even after Clear) "he" means whom it
    meant in the exported conversation, and nobody from the memory the import replaced."""
    context = make_context(ASSETS / "model", tmp_path / "data")   # the bundled model: the spaCy I
    session = handlers.open_session(context, None)
    turn(context, session, "John went to the garage. He picked up the wrench.")
    path = handlers.on_export(context, session.key)
    other = handlers.open_session(context, None)
    turn(context, other, "Mary went to the office.")
    handlers.on_import(context, path, other.key, "")
    turn(context, other, "He went to the roof. She slept.")
    assert [s.resolved for s in other.net.memory][-2:] == ["John went to the roof.", "She slept."]
    restarted = context.store.load(other.key)   # the same after a restart: the log holds it
    assert restarted.coref == json.loads(json.dumps(other.net.discourse.to_json())) and "mary" not in restarted.coref["entities"]
    handlers.on_clear(context, session.key, "")
    handlers.on_import(context, path, session.key, "")
    turn(context, session, "He went home.")
    assert session.net.memory[-1].resolved == "John went home."


def test_the_facts_behind_i_dont_know_are_marked_as_looked_at(tmp_path):
    context = make_context(ASSETS / "model", tmp_path / "data")   # the bundled model answers "unknown"
    session = handlers.open_session(context, None)
    reply = turn(context, session, "John went to the kitchen. Where was John before the kitchen?")[-1]
    assert "<strong>I don’t know.</strong>" in reply
    table = handlers.panel(session)[0]
    assert "looked at, no answer: hop 1 · " in table and '<tr class="slot support"' in table
    turn(context, session, "Where is John?")
    assert "looked at" not in handlers.panel(session)[0]
    # a question no memory shares a word with: O's word hashing (from hop 1) leaves it nothing to look at
    assert "<strong>I don’t know.</strong>" in turn(context, session, "Where is the piano?")[-1]
    assert "looked at" not in handlers.panel(session)[0]


@pytest.mark.parametrize("content, reason", [
    (b"{not json", "not valid JSON"),
    (b'{"format": "something-else"}', "not a memnet memory export"),
    (b'{"format": "memnet-memory/1", "slots": 5}', "Could not import"),
    (b'{"format": "memnet-memory/1", "slots": [{"index": "x"}]}', "slot 0 is malformed"),
    (b'{"format": "memnet-memory/1", "slots": [], "coref": {"entities": 3}}', "not a coreference state"),
    (b"\xff\xfe\x00binary", "not UTF-8 text"),
])
def test_a_malformed_import_says_why_and_keeps_the_memory(context, tmp_path, content, reason):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    bad = tmp_path / "bad.json"
    bad.write_bytes(content)
    status, *_ = handlers.on_import(context, str(bad), session.key, "")
    assert reason in status and status.endswith("Your memory is unchanged.")
    assert len(session.net.memory) == 3


def test_bad_input_gets_a_clear_reply_and_loses_no_memory(context):
    session = handlers.open_session(context, None)
    assert turn(context, session, "Where is the milk?") == ["The memory is empty: tell me something first."]
    turn(context, session, STORY)
    assert turn(context, session, "") == ["That message was empty: nothing was stored."]
    assert turn(context, session, "   \n\t ") == ["That message was empty: nothing was stored."]
    assert turn(context, session, "\x00\x01\x02\x1b") == ["That message was empty once 4 control characters were removed: nothing was stored."]
    assert render.user_message("   \n\t ") == "<em>(empty message)</em>"   # the chat's bubble is not blank
    chat = list(session.chat)   # Enter in the chat's blank box does nothing, as in any chat box
    assert [out[0] for out in handlers.on_message(context, "  \n ", session.key, 2, "")] == [handlers.gr.skip()]
    assert session.chat == chat and context.store.load(session.key).chat == chat
    assert turn(context, session, "\x00\xff\xfe\u0080\ud800") == ["(I removed 3 control characters.)\n\nNot stored: “ÿþ” (no words I can read)"]
    too_long = turn(context, session, "a" * (handlers.MAX_CHARS + 1))
    assert too_long[-1].startswith("That message is 1,000,001 characters long")
    assert len(session.net.memory) == 3
    stored = turn(context, session, "Bill went\x07 to the kitchen.")
    assert stored[-1] == "(I removed 1 control characters.)\n\nStored in slot 3: “Bill went to the kitchen.”"


def test_a_long_paste_abandoned_part_way_leaves_no_half_message(context):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    replies = handlers.chat_turn(context, session.key, " ".join(f"Person{i} went to the office." for i in range(1000)), None)
    assert next(replies).startswith("Reading") and next(replies).startswith("Reading")
    replies.close()  # the browser went away
    assert len(session.net.memory) == 3 and len(context.store.load(session.key).memory) == 3


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
    handlers.on_undo(context, session.key, "")
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
                           "- “Der Hund ist in der Küche.” (not English: memnet only reads English)")
    assert turn(context, session, "Der Hund ist in der Küche.") == ["Not stored: “Der Hund ist in der Küche.” (not English: memnet only reads English)"]
    assert turn(context, session, "Where is Mary?")[0] == "<strong>garden</strong>"
    assert len(session.net.memory) == 2


def test_the_tell_endpoint_names_what_it_did_not_store(context):
    told, key = handlers.tell(context, "Mary went to the garden. Where is Mary? 约翰去了厨房。", None)
    assert [s["text"] for s in told["slots"]] == ["Mary went to the garden."]
    assert [s["text"] for s in told["skipped"]] == ["约翰去了厨房。", "Where is Mary?"]
    chat = handlers.open_session(context, key).chat
    assert chat[-1]["content"].startswith("Stored in slot 0: “Mary went to the garden.”\n\nNot stored (2):")


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
@example(["garbled", "line"], 2, " ")   # a line glued to the next one after a refused over-long word
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
    status, hops, key = handlers.on_model(context, context.catalogue.default, session.key)
    assert status.startswith("Model:") and hops == session.net.model.config.hops
    assert len(session.net.memory) == 3


def test_hops_out_of_range_are_refused_and_not_kept(context):
    key = handlers.open_session(context, None).key
    list(handlers.on_message(context, "John went to the kitchen.", key, 2, ""))
    replies = list(handlers.on_message(context, "Mary went to the garden.", key, 10, ""))
    assert "hops must be" in replies[-1][0][-1]["content"] and "Nothing was stored" in replies[-1][0][-1]["content"]
    answer, _ = handlers.ask(context, "Where is John?", key)   # the refused 10 did not become the session's k
    assert answer["answer"] == "kitchen"
    assert len(context.sessions.get(key).net.memory) == 1


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


# ---- issue 13: nothing lost across tabs, processes, restarts; bounded resources ----------------
KEY = "client-kept-key-0123456789"


@pytest.fixture
def spacy_context(app_model_dir, tmp_path):
    """The bundled model (spaCy I with coreference) by default, the small task 1 model (no coreference) beside it."""
    context = make_context(app_model_dir, tmp_path / "data")
    context.catalogue.default = next(label for label in context.catalogue.labels if label != str(app_model_dir))
    return context


def _texts(context, key) -> list[str]:
    return [s.text for s in context.store.load(key).memory.slots]


def test_load_enables_the_inputs_that_send_once_the_session_is_open(context):
    # the message box and the send buttons start disabled (app/ui.py): a message sent before the
    # load's session existed went to a session of its own, which the load then replaced on the page
    outputs = handlers.on_load(context, None, "", inputs=3)
    assert [update.get("interactive") for update in outputs[-3:]] == [True, True, True]
    assert len(outputs) == len(handlers.on_load(context, outputs[0], "")) + 3
    # the model dropdown too: a model chosen before the load was set on a session the page then dropped
    assert outputs[3] == {"__type__": "update", "value": context.sessions.get(outputs[0]).model, "interactive": True}


def test_two_tabs_on_one_session_keep_every_write(context):
    key = handlers.on_load(context, None, "")[0]
    for text in ["Tabone went to the hall.", "Tabtwo went to the yard.", "Tabthree went to the den."]:
        list(handlers.on_message(context, text, key, 2, ""))   # tab 1, tab 2, tab 1: one key, one session
    chat = handlers.on_load(context, key, "")[1]
    assert _texts(context, key) == ["Tabone went to the hall.", "Tabtwo went to the yard.", "Tabthree went to the den."]
    assert "Tabtwo" in str(chat)


def test_two_processes_on_one_data_dir_lose_nothing(context, app_model_dir):
    other = make_context(app_model_dir, context.store.folder)   # a second app process
    key = handlers.on_load(context, None, "")[0]
    for i in range(6):
        list(handlers.on_message((context, other)[i % 2], f"Person{i} went to the room{i}.", key, 2, ""))
    assert _texts(context, key) == [f"Person{i} went to the room{i}." for i in range(6)]
    assert [s.text for s in other.sessions.get(key).net.memory] == _texts(context, key)


def test_a_tab_left_open_across_a_restart_keeps_writing_into_its_session(context, app_model_dir):
    key = handlers.on_load(context, None, "")[0]
    list(handlers.on_message(context, "Mary went to the kitchen.", key, 2, ""))
    restarted = make_context(app_model_dir, context.store.folder)
    *_, table, chart, runner_ups, same = list(handlers.on_message(restarted, "John went to the garden.", key, 2, ""))[-1]
    assert same == key and _texts(restarted, key) == ["Mary went to the kitchen.", "John went to the garden."]
    assert "2 slots." in table


def test_an_api_client_names_its_session_and_finds_it_after_a_restart(context, app_model_dir):
    handlers.tell(context, STORY, None, KEY)
    restarted = make_context(app_model_dir, context.store.folder)
    assert [s["text"] for s in handlers.memory(restarted, None, KEY)[0]] == STORY.replace(". ", ".|").split("|")
    assert handlers.ask(restarted, "Where is Mary?", None, KEY)[0]["answer"] == "office"
    with pytest.raises(Exception, match="16 to 128 letters"):
        handlers.tell(context, STORY, None, "alice")   # a guessable key is refused


def test_a_retried_message_id_stores_nothing_twice_and_returns_the_first_reply(context, app_model_dir):
    first, _ = handlers.tell(context, "Daniel went to the office.", None, KEY, "msg-1")
    restarted = make_context(app_model_dir, context.store.folder)   # killed after the commit, before the reply
    assert handlers.tell(restarted, "Daniel went to the office.", None, KEY, "msg-1")[0] == first
    assert len(handlers.memory(restarted, None, KEY)[0]) == 1
    session = handlers.open_session(context, None)
    first = turn(context, session, STORY, message_id="chat-1")
    assert turn(context, session, STORY, message_id="chat-1") == first[-1:]
    assert len(session.net.memory) == 3


def test_coreference_state_survives_a_restart_undo_and_a_model_switch(spacy_context, app_model_dir):
    context = spacy_context
    session = handlers.open_session(context, None)
    turn(context, session, "Mary went to the kitchen.")
    restarted = handlers.Context(type(context.store)(context.store.folder), context.catalogue, context.examples)
    again = handlers.open_session(restarted, session.key)
    assert "→ “Mary picked up the milk.”" in turn(restarted, again, "She picked up the milk.")[-1]
    assert "<strong>kitchen</strong>" in turn(restarted, again, "Where is the milk?")[-1]

    turn(restarted, again, "John went to the garden.")
    handlers.on_undo(restarted, again.key, "")   # undo takes back what coreference learned from it
    assert "John" not in turn(restarted, again, "He picked up the apple.")[-1]

    turn(restarted, again, "Fred went to the office.")
    handlers.on_model(restarted, str(app_model_dir), again.key)          # a model without coreference...
    handlers.on_model(restarted, context.catalogue.default, again.key)   # ...and back
    assert "→ “Fred picked up the football.”" in turn(restarted, again, "He picked up the football.")[-1]


def test_a_statement_turn_appends_rows_and_does_not_rewrite_the_memory(context):
    import sqlite3

    session = handlers.open_session(context, None)
    turn(context, session, " ".join(f"Person{i} went to the kitchen." for i in range(300)))
    count = "SELECT (SELECT count(*) FROM turns), (SELECT count(*) FROM turn_slots), (SELECT sum(length(lines)) FROM turns)"
    with sqlite3.connect(context.store.path) as db:
        before = db.execute(count).fetchone()
        turn(context, session, "Daniel went to the garden.")
        after = db.execute(count).fetchone()
    assert (after[0] - before[0], after[1] - before[1]) == (1, 1) and after[2] - before[2] < 300


def test_a_statement_turn_does_not_re_render_the_score_chart(context):
    key = handlers.on_load(context, None, "")[0]
    list(handlers.on_message(context, STORY + " Where is Mary?", key, 2, ""))
    *_, chart, runner_ups, _ = list(handlers.on_message(context, "Daniel went to the garden.", key, 2, ""))[-1]
    assert chart == runner_ups == {"__type__": "update"}   # gr.skip(): the browser keeps what it shows


def test_a_session_holds_at_most_max_slots(app_model_dir, tmp_path):
    context = make_context(app_model_dir, tmp_path / "data", max_slots=5)
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    reply = turn(context, session, "Daniel went to the garden. Sandra went to the hallway. Bill went to the office.")[-1]
    assert reply.startswith("This conversation would hold 6 memories; the limit is 5 per conversation")
    assert len(session.net.memory) == 3 and len(context.store.load(session.key).memory) == 3
    with pytest.raises(Exception, match="the limit is 5"):
        handlers.tell(context, "A went to b. C went to d. E went to f.", session.key)


@pytest.mark.parametrize("content, reason", [
    ({"format": "memnet-memory/1", "slots": [{"index": 10_000_000, "time": 0, "text": "a", "resolved": "a", "tokens": ["a"]}]},
     "index 10,000,000 is beyond the limit of 100,000 slots"),
    ({"format": "memnet-memory/1", "slots": [{"index": 0, "time": 0, "text": "a b", "resolved": "a b", "tokens": "a b"}]},
     "'tokens' must be a list of words"),
    ({"format": "memnet-memory/1", "slots": [{"index": 0, "time": 0, "text": "a", "resolved": "a", "tokens": [1]}]},
     "'tokens' must be a list of words"),
    ({"format": "memnet-memory/1", "slots": [{"index": 0, "time": 0, "text": "a", "resolved": "a"}]}, "missing tokens"),
    ({"format": "memnet-memory/1", "slots": [{"index": -1, "time": 0, "text": "a", "resolved": "a", "tokens": ["a"]}]},
     "'index' must be an integer from 0 to 2,147,483,647"),
    ({"format": "memnet-memory/1", "slots": [{"index": 1.5, "time": 0, "text": "a", "resolved": "a", "tokens": ["a"]}]},
     "'index' must be an integer from 0 to"),
    ({"format": "memnet-memory/1", "slots": [{"index": 0, "time": 0, "text": 5, "resolved": "a", "tokens": ["a"]}]},
     "'text' and 'resolved' must be strings"),
    ({"format": "memnet-memory/1", "slots": ["x"]}, "expected an object"),
    ({"format": "memnet-memory/1", "slots": [], "clock": "soon"}, "'clock' must be an integer from 0 to"),
    ({"format": "memnet-memory/1", "slots": [], "clock": 10**12}, "'clock' must be an integer from 0 to 2,147,483,647"),
    ({"format": "memnet-memory/1", "slots": [], "messages": 10**18}, "'messages' must be an integer from 0 to"),
    ({"format": "memnet-memory/1", "slots": [{"index": 0, "time": 0, "text": "a", "resolved": "a", "tokens": ["a"],
                                              "message": 10**30}]}, "'message' must be an integer from 0 to"),
    ({"format": "memnet-memory/1", "slots": [{"index": 0, "time": 2**40, "text": "a", "resolved": "a", "tokens": ["a"]}]},
     "'time' must be an integer from 0 to"),
    ({"format": "memnet-memory/1", "slots": [{"index": 0, "time": 0, "text": "a", "resolved": "a", "tokens": ["y" * 1_000_000]}]},
     "a token of 1,000,000 characters; the longest word I reads is 200"),
    ({"format": "memnet-memory/1", "slots": [{"index": 0, "time": 0, "text": "a " * 6000, "resolved": "a", "tokens": ["a"]}]},
     "a text of 12,000 characters; I stores at most 10,000 in a slot"),
    ({"format": "memnet-memory/1", "slots": [], "capacity": True}, "capacity must be an integer"),
    ([1, 2], "not a memnet memory export"),
    ({"format": "memnet-memory/1", "slots": [{"index": i, "time": i, "text": "a", "resolved": "a", "tokens": ["a"] * (1 if i else 9_999)}
                                             for i in range(5000)]}, "word-key table would need"),
])
def test_an_import_is_validated_before_anything_is_allocated(context, tmp_path, content, reason):
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(content))
    status, *_ = handlers.on_import(context, str(bad), session.key, "")
    assert reason in status and status.endswith("Your memory is unchanged.")
    assert len(session.net.memory) == 3


def test_deeply_nested_json_is_refused_with_a_reason(context, tmp_path):
    bad = tmp_path / "deep.json"
    bad.write_text("[" * 100_000 + "]" * 100_000)
    status, *_ = handlers.on_import(context, str(bad), handlers.open_session(context).key, "")
    assert status.startswith("Could not import deep.json: ") and "Error" not in status.split(":")[1][:8]


def test_a_full_disk_gives_clear_messages_and_questions_still_work(context, monkeypatch):
    from memnet.memory.store import SQLiteStore, StoreFull

    session = handlers.open_session(context, None)
    turn(context, session, STORY)

    def full(self, *args, **kwargs):
        raise StoreFull("database or disk is full")
    monkeypatch.setattr(SQLiteStore, "append", full)
    assert turn(context, session, "Daniel went to the garden.") == [
        "The disk is full (or the data folder is read-only): nothing of this message was stored. "
        "Your memory is unchanged; questions still work."]
    assert len(session.net.memory) == 3
    reply = turn(context, session, "Where is Mary?")[-1]
    assert reply.startswith("<strong>office</strong>") and "not saved in the conversation" in reply
    assert handlers.ask(context, "Where is Mary?", session.key)[0]["answer"] == "office"
    with pytest.raises(Exception, match="The disk is full"):
        handlers.tell(context, "Daniel went to the garden.", session.key)


def test_starting_where_the_data_folder_cannot_be_made_is_a_message_not_a_traceback(tmp_path):
    spec = importlib.util.spec_from_file_location("app_main", REPO / "app.py")
    main = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(main)
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(SystemExit, match="cannot open the data folder"):
        main.main(["--data-dir", str(blocker / "data")])


def test_on_a_real_full_disk_reading_goes_on_and_writes_are_refused_by_name(app_model_dir, small_disk):
    import gradio as gr
    from tests.conftest import fill

    context = make_context(app_model_dir, small_disk / "data")
    key = handlers.tell(context, STORY, session="full-disk-session-key")[1]
    fill(small_disk)
    for ctx in (context, make_context(app_model_dir, small_disk / "data")):   # running, and started on the full disk
        with pytest.raises(gr.Error, match="The disk is full .* nothing was stored"):
            handlers.tell(ctx, "Daniel went to the garden.", session=key)
        assert handlers.ask(ctx, "Where is Mary?", session=key)[0]["answer"] == "office"
        assert [slot["text"] for slot in handlers.memory(ctx, session=key)[0]][-1] == "Mary travelled to the office."
        assert len(handlers.on_load(ctx, key, "")[1]) == 2   # a reload shows the conversation
        assert turn(ctx, handlers.open_session(ctx, key), "Fred went to the den.")[-1].startswith("The disk is full")
        assert len(ctx.store.load(key).memory) == 3


def test_a_damaged_store_is_named_not_a_bare_error(context):
    import gradio as gr

    key = handlers.tell(context, STORY, session="damaged-store-key-0")[1]
    context.store.path.write_bytes(b"not a database" * 100)
    context.sessions._sessions.clear()
    with pytest.raises(gr.Error, match="The conversation store cannot be read: .*not a database"):
        handlers.memory(context, session=key)


def test_an_uploaded_import_file_is_deleted_once_read(context, tmp_path, monkeypatch):
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(tmp_path / "uploads"))
    session = handlers.open_session(context, None)
    turn(context, session, STORY)
    upload = tmp_path / "uploads" / "0123abcd" / "memory.json"
    upload.parent.mkdir(parents=True)
    upload.write_text(json.dumps(session.net.memory_store.to_json()))
    bad = tmp_path / "uploads" / "4567" / "bad.json"
    bad.parent.mkdir()
    bad.write_text("{")
    other = handlers.open_session(context, None)
    assert handlers.on_import(context, str(upload), other.key, "")[0] == "Imported 3 slots from memory.json."
    assert handlers.on_import(context, str(bad), other.key, "")[0].startswith("Could not import bad.json")
    assert not upload.exists() and not bad.exists() and list((tmp_path / "uploads").iterdir()) == []
    assert [s.text for s in handlers.open_session(context, other.key).net.memory] == [s.text for s in session.net.memory]


def test_a_question_after_an_over_long_word_is_answered(context):
    session = handlers.open_session(context, None)
    reply = turn(context, session, "John went to the hallway. " + "y" * 20_000 + " Where is John?")[-1]
    assert "<strong>hallway</strong>" in reply and "a word of 20,000 characters" in reply
    assert [s.text for s in session.net.memory] == ["John went to the hallway."]


def test_the_model_dropdown_says_what_each_checkpoint_is(context, app_model_dir):
    shown = {label: text for text, label in context.catalogue.choices}
    assert shown["assets/ablations/no-time"] == "assets/ablations/no-time (the simulated world; k=2; no write-time features)"
    assert shown["assets/ablations/k1"] == "assets/ablations/k1 (the simulated world; k=1)"
    assert shown["assets/model"].startswith("assets/model (bAbI, the simulated world and conversations; k=")
    assert shown[str(app_model_dir)].startswith(f"{app_model_dir} (k=")   # --model, saved without its task list


def test_a_message_with_several_questions_says_which_answer_is_whose(context):
    session = handlers.open_session(context, None)
    reply = turn(context, session, STORY + " Where is Mary? Where is John?")[-1]
    assert "<em>Where is Mary?</em> <strong>office</strong>" in reply and "<em>Where is John?</em> <strong>hallway</strong>" in reply
    assert turn(context, session, "Where is Mary?")[-1].startswith("<strong>office</strong>")   # one question: the answer alone
