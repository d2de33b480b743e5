"""The Gradio layout and its wiring. No logic here: every event calls a function in `handlers`."""
from __future__ import annotations

from functools import partial

import gradio as gr
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import demo as demo_handlers
from app import handlers, player, render
from app.handlers import Context

CONCURRENCY = 4  # events served at once; the model is small and the machine may have 2 cores
HEAVY = 1        # imports and model switches at once: one session's big file cannot take every worker
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
# The browser keeps only the session key, in localStorage; gradio serves BrowserState's secret to
# every page (GET /config), so it protects nothing and is not treated as a secret.
BROWSER_SECRET = "memnet-session-key-not-a-secret"

# a click on a slot's row (memory table) or its bar (O's chart) asks why O scored it so; a page button turns the page
SELECT_JS = """element.addEventListener('click', (event) => {
  const hit = event.target.closest('[data-slot], [data-page]');
  if (hit && hit.dataset.page !== undefined) trigger('select', {page: hit.dataset.page});
  else if (hit) trigger('select', {slot: hit.dataset.slot, hop: hit.dataset.hop || ''});
});"""

# the chat's own trash icon emptied only the page's copy of the conversation: the memory stayed, and the
# next turn brought the whole chat back. "Clear memory" is the one way to clear.
PAGE_CSS = "#chat button[aria-label='Clear'] { display: none; }"

FOCUS_MESSAGE = "() => { document.querySelector('#message textarea')?.focus(); }"

INTRO = """# memnet: a Memory Network you can talk to
Tell it facts (*John went to the kitchen. He picked up the milk.*) and ask questions (*Where is the milk?*).
Each statement goes into a memory slot (G); for a question, O picks supporting memories hop by hop
and R ranks the answers. The panel on the right shows all of it."""


def build(ctx: Context) -> gr.Blocks:
    ui = dict(api_visibility="undocumented")  # the UI's own events; the API is /tell, /ask, /memory, /clear
    with gr.Blocks(title="memnet", analytics_enabled=False) as demo:
        key = gr.BrowserState(None, storage_key="memnet-session", secret=BROWSER_SECRET)
        api_key = gr.State()  # an API client that names no session gets one per connection
        play, playing = gr.State(None), gr.State(False)
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                chatbot = gr.Chatbot(label="Conversation", height=460, elem_id="chat", feedback_options=None,
                                     render_markdown=False,  # replies are escaped HTML: user text is never Markdown
                                     group_consecutive_messages=False,  # "Undone: …" is a reply of its own, not part of the last
                                     buttons=["copy", "copy_all"])      # no "share" (to Hugging Face): the app may run offline
                with gr.Tabs():
                    with gr.Tab("Chat", elem_id="chat-tab"):
                        message = gr.Textbox(placeholder="Tell me something, or ask a question…", show_label=False,
                                             lines=1, max_lines=8, elem_id="message", autofocus=True, interactive=False)
                        with gr.Row():
                            send = gr.Button("Send", variant="primary", elem_id="send", interactive=False)
                            undo = gr.Button("Undo last", elem_id="undo", interactive=False)
                            clear = gr.Button("Clear memory", variant="stop", elem_id="clear", interactive=False)
                        gr.Markdown("**Example stories** (one click tells the story and asks its questions)")
                        with gr.Row():
                            example_buttons = [(gr.Button(path.stem.replace("-", " "), size="sm", interactive=False), path)
                                               for path in handlers.examples(ctx)]
                    with gr.Tab("Story player", elem_id="player-tab"):
                        source = gr.Radio(list(demo_handlers.SOURCES), value=demo_handlers.SOURCES[0], show_label=False, elem_id="source")
                        with gr.Row():
                            story = gr.Dropdown(list(demo_handlers.stories(ctx)), value=next(iter(demo_handlers.stories(ctx)), None),
                                                label="bundled story", elem_id="story")
                            story_file = gr.File(label="bAbI-format file (with answers)", file_types=[".txt"], type="filepath",
                                                 elem_id="story-file")
                            number = gr.Number(1, precision=0, minimum=1, label="story number in the file", elem_id="story-number")
                        with gr.Row():
                            seed = gr.Number(0, precision=0, label="simulator seed", elem_id="seed")
                            setting = gr.Dropdown(list(player.SETTINGS), value="actor+object", label="setting")
                            difficulty = gr.Slider(1, 10, value=5, step=1, label="difficulty")
                        with gr.Row():
                            load_story = gr.Button("Load", variant="primary", elem_id="load-story", interactive=False)
                            step = gr.Button("Step", elem_id="step", interactive=False)
                            play_button = gr.Button("Play", elem_id="play", interactive=False)
                            reset = gr.Button("Reset", elem_id="reset", interactive=False)
                            speed = gr.Slider(0.3, 5, value=1.5, step=0.1, label="seconds per step", elem_id="speed")
                        player_view = gr.HTML(render.player_panel(None), css_template=render.TABLE_CSS + render.SIDES_CSS,
                                              elem_id="player", js_on_load=None)
                        timer = gr.Timer(1.5, active=False)
                with gr.Accordion("Side by side: a second model answers the same conversation", open=False, elem_id="compare-box"):
                    # model B on a line of its own: its name and description need the column's width
                    other = gr.Dropdown(ctx.catalogue.choices, value=ctx.catalogue.default, label="model B", elem_id="other")
                    with gr.Row():
                        comparing = gr.Checkbox(False, label="compare", elem_id="compare", scale=0, min_width=110)
                        other_hops = gr.Slider(1, handlers.max_hops(ctx), step=1, value=ctx.catalogue.open(None).model.config.hops,
                                               label="hops k for B", elem_id="other-hops")
                    sides = gr.HTML(css_template=render.TABLE_CSS + render.SIDES_CSS, elem_id="sides", js_on_load=None)
                with gr.Accordion("Settings and data", open=False):
                    hops = gr.Slider(1, handlers.max_hops(ctx), step=1, value=2, label="hops k (supporting memories per question)", elem_id="hops")
                    model = gr.Dropdown(ctx.catalogue.choices, value=ctx.catalogue.default, label="model", interactive=False)
                    with gr.Row():
                        export = gr.Button("Export memory (JSON)", elem_id="export", interactive=False, size="sm")
                        upload = gr.UploadButton("Import memory (JSON; replaces this one)", file_types=[".json"], file_count="single", elem_id="import", size="sm",
                                                 interactive=False)
                        download = gr.Button("Download this conversation (HTML)", elem_id="download", interactive=False, size="sm")
                    exported = gr.File(label="exported memory", interactive=False)
                    downloaded = gr.File(label="this conversation, one HTML file", interactive=False, elem_id="downloaded")
                    status = gr.Markdown(elem_id="status")
            with gr.Column(scale=6):
                word = gr.Textbox(placeholder="filter the memory by a word", show_label=False, elem_id="filter")
                table = gr.HTML(css_template=render.TABLE_CSS, max_height=440, elem_id="memory", js_on_load=SELECT_JS)
                why = gr.HTML(render.why_panel(None, [], []), css_template=render.TABLE_CSS, elem_id="why", js_on_load=None)
                chart = gr.HTML(css_template=render.TABLE_CSS + render.SIDES_CSS, elem_id="chart", js_on_load=SELECT_JS)
                runner_ups = gr.HTML(css_template=render.TABLE_CSS, elem_id="ranking", js_on_load=None)
        with gr.Column(visible=False):  # the API endpoints' own inputs and outputs
            api_text = gr.Textbox()
            api_session = gr.Textbox("", label="session")        # a key the client keeps (optional)
            api_message = gr.Textbox("", label="message_id")     # makes a retry store nothing twice (optional)
            api_out = gr.JSON()

        panel = [table, chart, runner_ups]
        compare = dict(fn=partial(demo_handlers.on_compare, ctx), inputs=[key, comparing, other, other_hops, hops, play],
                       outputs=sides, **ui)
        # what reads or writes the session is enabled once the page has it (before, a write would open another
        # one, an import or a model choice lost when the load replaces it); the model dropdown by its own output
        senders = [message, send, *(button for button, _ in example_buttons), undo, clear, load_story, step, play_button, reset,
                   export, upload, download]
        demo.load(partial(handlers.on_load, ctx, inputs=len(senders)), [key, word], [key, chatbot, hops, model, *panel, *senders],
                  **ui).then(None, js=FOCUS_MESSAGE, **ui)   # autofocus, now it is enabled
        # one event per action, no chained ones: nothing is left in flight once a turn shows (a restart
        # right after it loses nothing, and the tab keeps working)
        turn = dict(fn=partial(demo_handlers.on_turn, ctx), inputs=[message, key, hops, word, comparing, other, other_hops],
                    outputs=[chatbot, message, *panel, key, sides], **ui)
        gr.on([message.submit, send.click], **turn)
        for button, path in example_buttons:
            button.click(partial(handlers.example_text, path), None, message, **ui).then(**turn)
        # after Undo or Clear the next thing to do is type: the cursor goes back to the message box
        undo.click(partial(handlers.on_undo, ctx), [key, word], [chatbot, *panel, key], **ui).then(None, js=FOCUS_MESSAGE, **ui)
        clear.click(partial(handlers.on_clear, ctx), [key, word], [chatbot, *panel, key], **ui).then(None, js=FOCUS_MESSAGE, **ui)
        word.change(partial(handlers.on_filter, ctx), [key, word], table, **ui)

        def on_select(key: str | None, word: str, evt: gr.EventData):   # gradio finds EventData by this annotation
            return demo_handlers.on_select(ctx, key, word, evt)

        for view in (table, chart):
            view.select(on_select, [key, word], [table, why, word], **ui)
        gr.on([comparing.change, other_hops.input], **compare)
        other.change(partial(demo_handlers.on_other, ctx), [key, comparing, other, hops, play], [other_hops, sides], **ui)

        started = [play, player_view, chatbot, *panel, key, timer, sides, playing, play_button]
        story_inputs = [key, source, story, story_file, number, seed, setting, difficulty, word]
        load_story.click(partial(demo_handlers.on_load_story, ctx), story_inputs, started, **ui)
        reset.click(partial(demo_handlers.on_reset, ctx), [key, play, word], started, **ui)
        gr.on([step.click, timer.tick], partial(demo_handlers.on_step, ctx), [key, play, hops, word, comparing, other, other_hops],
              started, trigger_mode="once", **ui)   # a slow step skips a tick, never runs twice
        play_button.click(demo_handlers.on_play, [playing, play, speed], [playing, play_button, timer], **ui)
        speed.change(demo_handlers.on_speed, [playing, speed], timer, **ui)

        heavy = dict(concurrency_limit=HEAVY, concurrency_id="heavy", **ui)
        model.input(partial(handlers.on_model, ctx), [model, key], [status, hops, key], **heavy)
        export.click(partial(handlers.on_export, ctx), key, exported, **heavy)
        download.click(partial(demo_handlers.conversation_file, ctx), key, downloaded, **heavy)
        upload.upload(partial(handlers.on_import, ctx), [upload, key, word], [status, chatbot, *panel, key], **heavy)

        writes = [api_text, api_key, api_session, api_message]
        gr.on([], partial(handlers.tell, ctx), writes, [api_out, api_key], api_name="tell")
        gr.on([], partial(handlers.ask, ctx), writes, [api_out, api_key], api_name="ask")
        gr.on([], partial(handlers.memory, ctx), [api_key, api_session], [api_out, api_key], api_name="memory")
        gr.on([], partial(handlers.clear, ctx), [api_key, api_session], [api_out, api_key], api_name="clear")
    return demo.queue(default_concurrency_limit=CONCURRENCY)


def serve_options(host: str, allowed: tuple[str, ...] = ()) -> dict:
    """`launch` options beyond the address: uploads capped at the server, only requests whose Host
    header names this app (`host`, this machine's names and `allowed`), so a web page cannot reach
    it by DNS rebinding, and the page's CSS (`PAGE_CSS`)."""
    hosts = sorted({*LOCAL_HOSTS, *allowed, *([host] if host not in ("0.0.0.0", "::") else [])})
    return dict(max_file_size=handlers.MAX_IMPORT_BYTES, css=PAGE_CSS,
                app_kwargs={"middleware": [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)]})
