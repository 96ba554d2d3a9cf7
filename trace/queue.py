"""The background job queue: Huey, on a SQLite file by default, on Redis when TRACE_REDIS_URL is set."""
from flask import Flask
from huey import RedisHuey, SqliteHuey


def make_queue(app: Flask):
    if app.config.get("TRACE_REDIS_URL"):
        queue = RedisHuey("trace", url=app.config["TRACE_REDIS_URL"])
    else:
        queue = SqliteHuey("trace", filename=app.config["TRACE_QUEUE_FILE"])

    @queue.task(name="render_label_file")
    def render_label_file(file_id: int) -> None:
        from . import key_store
        from .clock import today
        from .services.label_files import render_file
        with app.app_context():
            render_file(app.extensions["trace.engine"], key_store(app), app.config["TRACE_BASE_URL"],
                        app.config["TRACE_FILES_DIR"], file_id, today(), app.config["TRACE_RENDER_CPU_SHARE"])

    app.extensions["trace.queue"] = queue
    app.extensions["trace.render_label_file"] = render_label_file
    return queue


def run_pending(app: Flask) -> int:
    """Run every queued job here and now, as the worker would (for commands and tests); returns how many."""
    queue, count = app.extensions["trace.queue"], 0
    while (task := queue.dequeue()) is not None:
        queue.execute(task)
        count += 1
    return count
