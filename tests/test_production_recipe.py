"""The README's production recipe, run as written on a loopback port: gunicorn serves the admin's
static files (WhiteNoise) and keeps answering while clients send their requests slowly."""

import os
import re
import shlex
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # gunicorn in a process of its own

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def readme_command(program: str) -> list[str]:
    """The README's production line that starts `program`."""
    line = next(line for line in README.splitlines() if re.match(rf"(python )?{re.escape(program)}\b", line))
    return shlex.split(line.split("#")[0])


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def recipe(tmp_path_factory):
    """gunicorn as the README starts it, after its collectstatic, on one worker and a loopback port."""
    static_root = tmp_path_factory.mktemp("static")
    env = {**os.environ, "DEBUG": "false", "STATIC_ROOT": str(static_root)}
    env.setdefault("DJANGO_SETTINGS_MODULE", "smsgateway.settings")
    collect = [sys.executable, *readme_command("manage.py collectstatic")[1:]]
    subprocess.run(collect, cwd=ROOT, env=env, check=True, capture_output=True, timeout=300)
    port = free_port()
    command = readme_command("gunicorn")
    command[0] = str(Path(sys.executable).parent / "gunicorn")
    # One worker, so that anything that blocks a worker blocks the whole server.
    command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
    command[command.index("--workers") + 1] = "1"
    log = open(tmp_path_factory.mktemp("log") / "gunicorn.log", "w+")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    log.seek(0)
                    pytest.fail("gunicorn did not start:\n" + log.read()[-3000:])
                time.sleep(0.3)
        yield base, port
    finally:
        os.killpg(server.pid, 15)
        server.wait(timeout=30)
        log.close()


def test_the_recipe_serves_the_admin_stylesheet(recipe):
    base, _ = recipe
    with urllib.request.urlopen(base + "/static/admin/css/base.css", timeout=5) as response:
        assert (response.status, response.headers["Content-Type"].split(";")[0]) == (200, "text/css")
        assert b"body" in response.read()


def _drip(port: int, stop: threading.Event) -> None:
    """A client that sends its request a byte every half second."""
    request = b"POST /api/v1/message/sms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 40\r\n\r\n" + b"x" * 40
    with socket.create_connection(("127.0.0.1", port)) as slow:
        for byte in request:
            if stop.wait(0.5):
                return
            try:
                slow.send(bytes([byte]))
            except OSError:
                return


def test_slow_clients_do_not_hold_the_recipe_s_worker(recipe):
    """As many slow clients as the worker has threads but one: each holds a thread while it drips,
    and the thread left answers (a sync worker would be held by the first)."""
    base, port = recipe
    command = readme_command("gunicorn")
    slow_clients = int(command[command.index("--threads") + 1]) - 1
    assert slow_clients >= 1
    stop = threading.Event()
    clients = [threading.Thread(target=_drip, args=(port, stop), daemon=True) for _ in range(slow_clients)]
    try:
        for client in clients:
            client.start()
        time.sleep(1.0)  # they are connected and part-way through their requests
        started = time.monotonic()
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            assert response.status == 200
        assert time.monotonic() - started < 3.0  # a held worker answers after the drip, about a minute
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=5)
