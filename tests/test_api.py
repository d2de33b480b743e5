import json

import numpy as np
import pytest

from memnet import Answer, Answered, MemoryNetwork, Skipped, Stored
from memnet.records import Hop
from memnet import checkpoint
from memnet.memory.slots import Memory, MemoryFormatError


@pytest.fixture()
def net(task1_model):
    return MemoryNetwork(task1_model)


def test_tell_and_ask_with_supports_and_runner_ups(net):
    written = net.tell("Mary moved to the bathroom. John went to the hallway. Mary travelled to the office.")
    assert [s.index for s in written] == [0, 1, 2]
    assert [s.time for s in net.memory] == [0, 1, 2]
    answer = net.ask("Where is Mary?")
    assert answer.answer == "office"
    assert answer.hops[0].text == "Mary travelled to the office."
    assert set(answer.hops[0].slots.tolist()) == {0, 1, 2}
    assert len(answer.ranking) > 1 and answer.ranking[0][0] == "office"
    json.dumps(answer.to_json())


def test_conversations_share_weights_but_not_memory(net):
    other = net.conversation()
    net.tell("Sandra went to the garden.")
    assert other.model is net.model and other.memory == []
    assert other.ask("Where is Sandra?").message


def test_respond_stores_statements_and_answers_questions_in_order(net):
    events = net.respond("Daniel went to the kitchen. Where is Daniel? Daniel moved to the garden.")
    assert [type(e) for e in events] == [Stored, Answered, Stored]
    assert events[1].answer.answer == "kitchen" and [s.index for s in events[2].slots] == [1]
    assert len(net.memory) == 2


def test_hops_are_bounded_by_the_model(net):
    net.tell("Daniel went to the kitchen.")
    assert net.ask("Where is Daniel?", hops=net.model.max_hops).answer == "kitchen"
    for bad in (0, net.model.max_hops + 1, 10, True, 2.5):
        with pytest.raises(ValueError, match="hops must be"):
            net.ask("Where is Daniel?", hops=bad)
        with pytest.raises(ValueError, match="hops must be"):
            net.respond("Where is Daniel?", hops=bad)


def test_answer_json_round_trip(net):
    net.tell("Daniel went to the kitchen. Sandra went to the garden.")
    answer = net.ask("Where is Daniel?")
    again = Answer.from_json(json.loads(json.dumps(answer.to_json())))
    assert again.to_json() == answer.to_json() and again.supports == answer.supports


def test_answers_are_displayed_as_the_supporting_facts_spell_them():
    def answer(word, *texts):
        return Answer("q", word, [Hop(h, h, 1.0, np.zeros(0, np.int64), np.zeros(0, np.float32), text=t)
                                  for h, t in enumerate(texts, 1)])

    assert answer("hardware_store", "Ottoline drove to the hardware store in Ystad.").display == "hardware store"
    assert answer("zofia", "Zofia handed the report to Mr Abernathy.").display == "Zofia"
    assert answer("tórshavn", "Imelda boarded the ferry to Tórshavn.").display == "Tórshavn"
    assert answer("new_york", "Mary moved to New York.").display == "New York"
    assert answer("apple,football", "John took the Apple.", "John took the football.").display == "Apple, football"
    assert answer("yes", "Ravi is in the garage.").display == "yes"            # no support spells it
    assert answer("art", "Sam went to the party.").display == "art"            # a whole word, not a part of one
    assert answer("apple,box", "John picked up the apples.", "John took the boxes.").display == "apples, boxes"   # R names lemmas
    assert answer("", "Sam went home.").display == ""


def test_bad_input_gets_a_clear_result(net):
    assert "empty" in net.ask("Where is Mary?").message      # no memory yet
    net.tell("Mary went to the zorblat.")                     # unknown word
    assert net.ask("").message == "The question is empty."
    assert net.ask("?!").message
    assert net.ask("Where is Mary?").answer == "zorblat"      # an unseen word found in memory
    assert net.tell("") == []


def test_undo_and_clear(net):
    net.tell("John went to the hallway.")
    net.tell("John went to the bathroom. Mary went home.")
    assert [s.text for s in net.undo()] == ["John went to the bathroom.", "Mary went home."]
    assert net.ask("Where is John?").answer == "hallway"
    net.clear()
    assert net.memory == []


def test_memory_export_round_trip_and_bad_import(net):
    net.tell("John went to the hallway. Mary went home.")
    restored = Memory.from_json(json.loads(json.dumps(net.memory_store.to_json())))
    assert restored.slots == net.memory
    with pytest.raises(MemoryFormatError):
        Memory.from_json({"format": "something else"})
    with pytest.raises(MemoryFormatError, match="must be a list"):
        Memory.from_json({"format": "memnet-memory/1", "slots": 5})
    with pytest.raises(MemoryFormatError, match="must be an integer from 0 to"):
        Memory.from_json({"format": "memnet-memory/1", "slots": [], "clock": "soon"})
    with pytest.raises(MemoryFormatError, match="slot 0"):
        Memory.from_json({"format": "memnet-memory/1", "slots": [{"index": 0}]})


def test_checkpoint_round_trip(tmp_path, task1_model):
    checkpoint.save(task1_model, tmp_path / "m")
    loaded = MemoryNetwork.load(tmp_path / "m")
    assert loaded.model.vocab.words == task1_model.vocab.words
    original = MemoryNetwork(task1_model)
    for n in (original, loaded):
        n.tell("Mary moved to the bathroom. John went to the hallway.")
    assert loaded.ask("Where is John?").to_json() == original.ask("Where is John?").to_json()


def test_wrong_or_corrupt_checkpoints_are_clear_errors(tmp_path, task1_model):
    with pytest.raises(checkpoint.CheckpointError, match="not a memnet checkpoint"):
        checkpoint.load(tmp_path)
    path = checkpoint.save(task1_model, tmp_path / "m")
    (path / "weights.safetensors").write_bytes(b"garbage")
    with pytest.raises(checkpoint.CheckpointError, match="damaged"):
        checkpoint.load(path)
    path = checkpoint.save(task1_model, tmp_path / "m2")
    config = json.loads((path / "config.json").read_text())
    config["model"]["dim"] = 7
    (path / "config.json").write_text(json.dumps(config))
    with pytest.raises(checkpoint.CheckpointError, match="wrong shape"):
        checkpoint.load(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(checkpoint.CheckpointError, match="not valid JSON"):
        checkpoint.load(path)


def test_a_long_paste_is_stored_whole(net):
    """The issue's paste: 5,000 statements (153,000 characters) used to stop at 339 slots."""
    told = net.tell(" ".join(f"Person{i} went to the room{i % 97}." for i in range(5_000)))
    assert len(told) == len(told.slots) == len(net.memory) == 5_000 and told.skipped == []
    assert net.memory[-1].text == "Person4999 went to the room52."


def test_one_statement_per_line_is_one_memory_each(net):
    assert len(net.tell("John went to the kitchen\nMary went to the garden\nJohn went to the office")) == 3
    answer = net.ask("Where is Mary?")
    assert answer.answer == "garden" and answer.hops[0].text == "Mary went to the garden"


def test_what_tell_does_not_store_is_named_with_the_reason(net):
    told = net.tell("Les went to La Paz. Mary went to the garden. " + "x" * 20_000 + ". Der Hund ist in der Küche. Where is Mary?")
    assert [s.text for s in told] == ["Les went to La Paz.", "Mary went to the garden."]
    assert [(s.text[:3], s.reason.split(" (")[0]) for s in told.skipped] == [
        ("xxx", "a word of 20,001 characters"), ("Der", "not English: memnet only reads English"), ("Whe", "a question: tell() stores statements; ask() answers questions")]
    assert told.to_json()["skipped"][1] == {"text": "Der Hund ist in der Küche.", "reason": "not English: memnet only reads English"}
    assert net.ask("Where is Mary?").answer == "garden"  # no 20,000-character answer


def test_respond_names_what_it_did_not_read(net):
    *replies, skipped = net.respond("Mary went to the garden. Der Hund ist in der Küche. Where is Mary?")
    assert [s.text for s in replies[0].slots] == ["Mary went to the garden."] and replies[1].answer.answer == "garden"
    assert skipped == Skipped("Der Hund ist in der Küche.", "not English: memnet only reads English")


def test_a_long_paste_through_the_spacy_input_map(task1_model, spacy_input):
    net = MemoryNetwork(task1_model, input_map=spacy_input)
    lines = "\n".join(f"Guest{i} moved to the hall{i % 13}" for i in range(300))  # no full stops
    text = " ".join(f"Person{i} went to the room{i % 97}." for i in range(1_200)) + "\n" + lines + "\nLes went to La Paz."
    told = net.tell(text + " " + "y" * 300 + ".")
    assert len(told) == 1_200 + 300 + 1
    assert [s.reason.split(" (")[0] for s in told.skipped] == ["a word of 301 characters"]


def test_explain_gives_the_parts_of_each_hop_that_scored_the_slot(net):
    net.tell("Mary went to the kitchen. John went to the garden.")
    answer = net.ask("Where is Mary?")
    whys, parts = net.explain(answer, answer.supports[0])
    assert whys and whys[0].picked and parts[0].answer == answer.answer
    assert [s.tokens for s in net.peek("Where is Mary?")] == [s.tokens for s in net.read("Where is Mary?")]


def test_recall_checks_hops_too(net):
    net.tell("Mary went to the kitchen.")
    with pytest.raises(ValueError, match="hops must be"):
        net.recall.ask(("where", "is", "mary"), hops=net.model.max_hops + 1)
