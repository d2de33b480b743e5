"""The app's API through gradio_client, against the app launched in this process."""
from __future__ import annotations

import pytest
from gradio_client import Client

from tests.app_fixtures import app_model_dir, app_url  # noqa: F401

STORY = "Mary moved to the bathroom. John went to the hallway. Mary travelled to the office."


@pytest.fixture
def client(app_url) -> Client:
    return Client(app_url, verbose=False)


def test_named_endpoints(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(endpoints) == {"/tell", "/ask", "/memory", "/clear"}


def test_tell_ask_memory_clear(client):
    told = client.predict(STORY, api_name="/tell")
    assert told["skipped"] == []
    assert [(s["index"], s["text"]) for s in told["slots"]] == [(0, "Mary moved to the bathroom."), (1, "John went to the hallway."),
                                                       (2, "Mary travelled to the office.")]
    answer = client.predict("Where is Mary?", api_name="/ask")
    assert answer["answer"] == "office"
    assert answer["supports"][0] == 2 and answer["hops"][0]["hop"] == 1
    assert set(answer["hops"][0]["scores"]) == {"0", "1", "2"}
    assert answer["ranking"][0] == {"answer": "office", "score": pytest.approx(answer["ranking"][0]["score"])}
    assert [s["index"] for s in client.predict(api_name="/memory")] == [0, 1, 2]
    assert client.predict(api_name="/clear") == {"cleared": 3}
    assert client.predict(api_name="/memory") == []
    assert client.predict("Where is Mary?", api_name="/ask")["message"] == "The memory is empty: tell me something first."


def test_each_client_has_its_own_memory(app_url):
    alice, bob = Client(app_url, verbose=False), Client(app_url, verbose=False)
    alice.predict(STORY, api_name="/tell")
    bob.predict("Daniel went to the garden.", api_name="/tell")
    assert len(alice.predict(api_name="/memory")) == 3
    assert [s["text"] for s in bob.predict(api_name="/memory")] == ["Daniel went to the garden."]
    hops = bob.predict("Where is Mary?", api_name="/ask")["hops"]
    assert {h["slot"] for h in hops} <= {0, None} and all(set(h["scores"]) == {"0"} for h in hops)


def test_empty_tell_is_a_clear_error(client):
    with pytest.raises(Exception, match="That message was empty"):
        client.predict("  ", api_name="/tell")


def test_a_client_keeps_its_own_session_key_and_message_ids(app_url):
    key = "api-client-key-0123456789"
    first = Client(app_url, verbose=False).predict("Bill went to the kitchen.", key, "m-1", api_name="/tell")
    other = Client(app_url, verbose=False)   # a new connection (another run of the program) with the same key
    assert other.predict("Bill went to the kitchen.", key, "m-1", api_name="/tell") == first   # a retry: stored once
    assert [s["text"] for s in other.predict(key, api_name="/memory")] == ["Bill went to the kitchen."]
    assert other.predict("Where is Bill?", key, api_name="/ask")["answer"] == "kitchen"


def test_only_the_hosts_the_app_was_started_for_are_served(app_url):
    import httpx

    assert httpx.get(app_url).status_code == 200
    assert httpx.get(app_url, headers={"Host": "localhost"}).status_code == 200
    rebinding = httpx.get(app_url, headers={"Host": "attacker.example:7860"})
    assert rebinding.status_code == 400


def test_uploads_are_capped_at_the_server(app_url):
    import httpx

    from app.handlers import MAX_IMPORT_BYTES

    big = httpx.post(app_url + "gradio_api/upload", files={"files": ("big.json", b"0" * (MAX_IMPORT_BYTES + 1))})
    assert big.status_code == 413
