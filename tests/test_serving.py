"""The site under gunicorn with its production settings (trace/gunicorn_conf.py): slow clients do not freeze it.

Gunicorn runs as a subprocess on a free loopback port, on the test's own database and keys.
"""
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "trace" / "gunicorn_conf.py"
pytestmark = pytest.mark.server
SLOW_CLIENTS = 8
ANSWER_WITHIN = 30  # seconds: generous, so a busy machine does not fail the test; the old setup never answered


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(port: int, path: str, timeout: float = ANSWER_WITHIN) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture
def gunicorn(app, tmp_path):
    """The test's database served by gunicorn as ./scripts/serve starts it; yields the port."""
    port = _free_port()
    config = app.config
    env = {key: value for key, value in os.environ.items() if key not in ("BIND", "WORKERS", "THREADS")}
    env.update({"DATABASE_URL": config["DATABASE_URL"], "TRACE_KEYS_DIR": config["TRACE_KEYS_DIR"],
                "TRACE_BASE_URL": f"http://127.0.0.1:{port}", "TRACE_QUEUE_FILE": config["TRACE_QUEUE_FILE"],
                "TRACE_FILES_DIR": config["TRACE_FILES_DIR"], "SECRET_KEY": "test-secret", "PYTHONPATH": str(ROOT)})
    subprocess.run([sys.executable, "-m", "flask", "--app", "trace", "keys", "ensure"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    log = (tmp_path / "gunicorn.log").open("w+")
    server = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "--config", str(GUNICORN_CONF),
                               "--bind", f"127.0.0.1:{port}"], cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if _get(port, "/.well-known/jwks.json", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                pytest.fail(f"gunicorn did not start:\n{log.read()[-3000:]}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _closed_by_server(s: socket.socket, deadline: float) -> bool:
    """Whether the server closes the connection by the deadline (a minute away; it is set to do so in seconds)."""
    s.settimeout(max(0.1, deadline - time.monotonic()))
    try:
        return s.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_clients_that_never_finish_their_request_do_not_block_a_normal_one_and_are_cut_off(gunicorn, tmp_path):
    port = gunicorn
    stalled = []
    try:
        for i in range(SLOW_CLIENTS):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            if i % 2:
                s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow")  # the head never ends
            stalled.append(s)  # the others connect and say nothing
        time.sleep(0.5)  # the server has taken them up before the normal client comes
        for _ in range(4):  # each on a new connection, so each may land on any worker
            status, body = _get(port, "/.well-known/jwks.json")
            assert status == 200
            assert [key["kid"] for key in json.loads(body)["keys"]] == ["1"]
        # Neither kind holds a thread for good: the server hangs up on both.
        deadline = time.monotonic() + 60
        assert [_closed_by_server(s, deadline) for s in stalled] == [True] * SLOW_CLIENTS
    finally:
        for s in stalled:
            s.close()
    log = (tmp_path / "gunicorn.log").read_text()
    assert log.count("Closed a connection whose client stalled mid-request") == SLOW_CLIENTS // 2
    assert "Traceback" not in log
