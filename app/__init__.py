"""The memnet chat app: talk to a Memory Network in the browser and watch its memory (`python app.py`)."""
