"""python app.py: the memnet chat app on http://127.0.0.1:7860, on the bundled model, offline."""
from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

from memnet.runtime import configure

ASSETS = Path(__file__).resolve().parent / "assets"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from app.sessions import default_data_dir

    parser = argparse.ArgumentParser(description="Chat with a Memory Network in the browser and inspect its memory.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--model", type=Path, help="a checkpoint folder to serve by default (default: the bundled assets/model)")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir(), help="where sessions are kept (SQLite; default %(default)s)")
    parser.add_argument("--max-slots", type=int, default=100_000, help="memories one conversation may hold (default %(default)s)")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="another name this app is reached by (Host header), e.g. a LAN name; repeatable. "
                             "Requests naming any other host are refused (DNS rebinding)")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link (off by default; needs the network)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    configure()  # before gradio is imported: no telemetry, one torch thread
    args = parse_args(argv)
    from app import ui
    from app.handlers import Context
    from app.sessions import Catalogue
    from memnet.checkpoint import CheckpointError
    from memnet.memory.store import SQLiteStore

    try:
        catalogue = Catalogue(ASSETS, args.model)
        catalogue.open(None)  # load the default model now: a bad checkpoint fails here, not in a user's session
    except (FileNotFoundError, CheckpointError) as error:
        raise SystemExit(f"app.py: {error}") from None
    try:
        store = SQLiteStore(args.data_dir)
    except (OSError, sqlite3.Error) as error:
        raise SystemExit(f"app.py: cannot open the data folder {args.data_dir}: {error} "
                         "(is the disk full or the folder not writable? --data-dir chooses another)") from None
    context = Context(store, catalogue, ASSETS / "examples", max_slots=args.max_slots)
    ui.build(context).launch(server_name=args.host, server_port=args.port, share=args.share,
                             **ui.serve_options(args.host, tuple(args.allowed_host)))


if __name__ == "__main__":
    main()
