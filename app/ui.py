"""The Gradio layout and its wiring. No logic here: every event calls a function in `handlers`."""
from __future__ import annotations

from functools import partial

import gradio as gr
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware

from app import handlers, render
from app.handlers import Context

CONCURRENCY = 4  # events served at once; the model is small and the machine may have 2 cores
HEAVY = 1        # imports and model switches at once: one session's big file cannot take every worker
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
# The browser keeps only the session key, in localStorage; gradio serves BrowserState's secret to
# every page (GET /config), so it protects nothing and is not treated as a secret.
BROWSER_SECRET = "memnet-session-key-not-a-secret"

INTRO = """# memnet: a Memory Network you can talk to
Tell it facts (*John went to the kitchen. He picked up the milk.*) and ask questions (*Where is the milk?*).
Each statement goes into a memory slot (G); for a question, O picks supporting memories hop by hop
and R ranks the answers. The panel on the right shows all of it."""


def build(ctx: Context) -> gr.Blocks:
    ui = dict(api_visibility="undocumented")  # the UI's own events; the API is /tell, /ask, /memory, /clear
    with gr.Blocks(title="memnet", analytics_enabled=False) as demo:
        key = gr.BrowserState(None, storage_key="memnet-session", secret=BROWSER_SECRET)
        api_key = gr.State()  # an API client that names no session gets one per connection
        gr.Markdown(INTRO)
        with gr.Row(equal_height=False):
            with gr.Column(scale=5):
                chatbot = gr.Chatbot(label="Conversation", height=460, elem_id="chat", feedback_options=None,
                                     render_markdown=False)  # replies are escaped HTML: user text is never Markdown
                message = gr.Textbox(placeholder="Tell me something, or ask a question…", show_label=False,
                                     lines=1, max_lines=8, elem_id="message", autofocus=True)
                with gr.Row():
                    send = gr.Button("Send", variant="primary", elem_id="send")
                    undo = gr.Button("Undo last", elem_id="undo")
                    clear = gr.Button("Clear memory", variant="stop", elem_id="clear")
                gr.Markdown("**Example stories** (one click tells the story and asks its questions)")
                with gr.Row():
                    example_buttons = [(gr.Button(path.stem.replace("-", " "), size="sm"), path) for path in handlers.examples(ctx)]
                with gr.Accordion("Settings and data", open=False):
                    hops = gr.Slider(1, handlers.max_hops(ctx), step=1, value=2, label="hops k (supporting memories per question)", elem_id="hops")
                    model = gr.Dropdown(ctx.catalogue.labels, value=ctx.catalogue.default, label="model")
                    with gr.Row():
                        export = gr.Button("Export memory (JSON)")
                        upload = gr.UploadButton("Import memory (JSON)", file_types=[".json"], file_count="single")
                    exported = gr.File(label="exported memory", interactive=False)
                    status = gr.Markdown(elem_id="status")
            with gr.Column(scale=6):
                word = gr.Textbox(placeholder="filter the memory by a word", show_label=False, elem_id="filter")
                table = gr.HTML(css_template=render.TABLE_CSS, max_height=440, elem_id="memory", js_on_load=None)
                with gr.Row():
                    chart = gr.Plot(show_label=False, scale=3, elem_id="chart")
                    runner_ups = gr.HTML(css_template=render.TABLE_CSS, elem_id="ranking", js_on_load=None, scale=2)
        with gr.Column(visible=False):  # the API endpoints' own inputs and outputs
            api_text = gr.Textbox()
            api_session = gr.Textbox("", label="session")        # a key the client keeps (optional)
            api_message = gr.Textbox("", label="message_id")     # makes a retry store nothing twice (optional)
            api_out = gr.JSON()

        panel = [table, chart, runner_ups]
        demo.load(partial(handlers.on_load, ctx), [key, word], [key, chatbot, hops, model, *panel], **ui)
        turn = dict(fn=partial(handlers.on_message, ctx), inputs=[message, key, hops, word],
                    outputs=[chatbot, message, *panel, key], **ui)
        gr.on([message.submit, send.click], **turn)
        for button, path in example_buttons:
            button.click(partial(handlers.example_text, path), None, message, **ui).then(**turn)
        undo.click(partial(handlers.on_undo, ctx), [key, word], [chatbot, *panel, key], **ui)
        clear.click(partial(handlers.on_clear, ctx), [key, word], [chatbot, *panel, key], **ui)
        word.change(partial(handlers.on_filter, ctx), [key, word], table, **ui)
        heavy = dict(concurrency_limit=HEAVY, concurrency_id="heavy", **ui)
        model.input(partial(handlers.on_model, ctx), [model, key], [status, hops, key], **heavy)
        export.click(partial(handlers.on_export, ctx), key, exported, **heavy)
        upload.upload(partial(handlers.on_import, ctx), [upload, key, word], [status, chatbot, *panel, key], **heavy)

        writes = [api_text, api_key, api_session, api_message]
        gr.on([], partial(handlers.tell, ctx), writes, [api_out, api_key], api_name="tell")
        gr.on([], partial(handlers.ask, ctx), writes, [api_out, api_key], api_name="ask")
        gr.on([], partial(handlers.memory, ctx), [api_key, api_session], [api_out, api_key], api_name="memory")
        gr.on([], partial(handlers.clear, ctx), [api_key, api_session], [api_out, api_key], api_name="clear")
    return demo.queue(default_concurrency_limit=CONCURRENCY)


def serve_options(host: str, allowed: tuple[str, ...] = ()) -> dict:
    """`launch` options beyond the address: uploads capped at the server, and only requests whose
    Host header names this app (`host`, this machine's names and `allowed`), so a web page cannot
    reach it by DNS rebinding."""
    hosts = sorted({*LOCAL_HOSTS, *allowed, *([host] if host not in ("0.0.0.0", "::") else [])})
    return dict(max_file_size=handlers.MAX_IMPORT_BYTES,
                app_kwargs={"middleware": [Middleware(TrustedHostMiddleware, allowed_hosts=hosts)]})
