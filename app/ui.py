"""The Gradio layout and its wiring. No logic here: every event calls a function in `handlers`."""
from __future__ import annotations

from functools import partial

import gradio as gr

from app import handlers, render
from app.handlers import Context

CONCURRENCY = 4  # events served at once; the model is small and the machine may have 2 cores

INTRO = """# memnet: a Memory Network you can talk to
Tell it facts (*John went to the kitchen. He picked up the milk.*) and ask questions (*Where is the milk?*).
Each statement goes into a memory slot (G); for a question, O picks supporting memories hop by hop
and R ranks the answers. The panel on the right shows all of it."""


def build(ctx: Context) -> gr.Blocks:
    ui = dict(api_visibility="undocumented")  # the UI's own events; the API is /tell, /ask, /memory, /clear
    with gr.Blocks(title="memnet", analytics_enabled=False) as demo:
        session = gr.State()
        key = gr.BrowserState(None, storage_key="memnet-session", secret=ctx.store.secret())
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
            api_out = gr.JSON()

        panel = [table, chart, runner_ups]
        demo.load(partial(handlers.on_load, ctx), [key, word], [session, key, chatbot, hops, model, *panel], **ui)
        turn = dict(fn=partial(handlers.on_message, ctx), inputs=[message, session, hops, word],
                    outputs=[chatbot, message, *panel, session], **ui)
        gr.on([message.submit, send.click], **turn)
        for button, path in example_buttons:
            button.click(partial(handlers.example_text, path), None, message, **ui).then(**turn)
        undo.click(partial(handlers.on_undo, ctx), [session, word], [chatbot, *panel, session], **ui)
        clear.click(partial(handlers.on_clear, ctx), [session, word], [chatbot, *panel, session], **ui)
        word.change(handlers.on_filter, [session, word], table, **ui)
        model.input(partial(handlers.on_model, ctx), [model, session], [status, hops, session], **ui)
        export.click(handlers.on_export, session, exported, **ui)
        upload.upload(partial(handlers.on_import, ctx), [upload, session, word], [status, chatbot, *panel, session], **ui)

        gr.on([], partial(handlers.tell, ctx), [api_text, session], [api_out, session], api_name="tell")
        gr.on([], partial(handlers.ask, ctx), [api_text, session], [api_out, session], api_name="ask")
        gr.on([], partial(handlers.memory, ctx), [session], [api_out, session], api_name="memory")
        gr.on([], partial(handlers.clear, ctx), [session], [api_out, session], api_name="clear")
    return demo.queue(default_concurrency_limit=CONCURRENCY)
