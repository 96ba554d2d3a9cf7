"""The background worker's entry point: `huey_consumer trace.worker.queue` (./scripts/serve starts it)."""
from . import create_app

app = create_app()
queue = app.extensions["trace.queue"]
