"""How gunicorn serves the site, in one place: ./scripts/serve, ./scripts/bench-serve, ./scripts/load and the
slow-client test (tests/test_serving.py) all start gunicorn with this file, so what is measured and tested is
what runs.

    gunicorn --config trace/gunicorn_conf.py [--bind HOST:PORT] [APP]

Gunicorn reads this file on its own (it is not imported as part of the package), so it imports nothing of ours.
"""
import logging
import os
import socket
import struct

wsgi_app = "trace:create_app()"
bind = os.environ.get("BIND", "127.0.0.1:5000")
workers = int(os.environ.get("WORKERS", "2"))

# Threads, not one request per process: with the sync worker each connection held a whole worker while it
# sent its request, so two clients that never finished their headers froze the site. With gthread a
# connection is read by one of a worker's threads, and a connection that sends nothing at all goes back to
# the worker's poller after a few seconds, taking no thread.
worker_class = "gthread"
threads = int(os.environ.get("THREADS", "12"))  # below the database pool's 15 connections per process
# Connections per worker, kept-alive ones included; beyond them the worker stops accepting until some close.
worker_connections = 1000

# A kept-alive (or silent) connection is closed after this many idle seconds.
keepalive = 5
# A client that stops sending in the middle of its request (head or body) for this long is cut off, and so is
# one that stops reading its answer: gthread reads and writes a request with blocking calls that gunicorn does
# not bound, so a slow client would otherwise hold a thread for good. These are the kernel's socket timeouts,
# set on the listening socket (post_worker_init below); every connection it accepts inherits them.
STALLED_READ_SECONDS = 10
STALLED_WRITE_SECONDS = 30
# A worker whose main loop stops for this long is restarted (gthread's loop does not wait on requests).
timeout = 30
graceful_timeout = 30

# No control socket (gunicornc): its default path is one per user, which every gunicorn on the machine would share.
control_socket_disable = True

# The request head's limits (gunicorn's defaults, stated): a request line, header count and header size.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190


class StalledClientLine(logging.Filter):
    """A connection cut off by those timeouts is one warning line in the log, not a traceback each time."""

    def filter(self, record: logging.LogRecord) -> bool:
        # On a blocking socket only SO_RCVTIMEO / SO_SNDTIMEO make a call fail with EAGAIN.
        if record.exc_info and isinstance(record.exc_info[1], BlockingIOError):
            record.msg = "Closed a connection whose client stalled mid-request (sent nothing for %s s or read nothing for %s s)"
            record.args = (STALLED_READ_SECONDS, STALLED_WRITE_SECONDS)
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def post_worker_init(worker):
    """Each accepted connection inherits its listener's send and receive timeouts (see STALLED_*_SECONDS)."""
    for listener in worker.sockets:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", STALLED_READ_SECONDS, 0))
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", STALLED_WRITE_SECONDS, 0))
    worker.log.error_log.addFilter(StalledClientLine())
