"""End to end: a request posted to the API is taken to `submitted` by a real Celery worker
process, on the broker and database the suite runs on (Redis and PostgreSQL in CI).

The worker runs `celery -A smsgateway worker` with its embedded beat, and sends through the
file backend, whose outbox this test reads. On PostgreSQL the worker shares the test database
(committed rows, thanks to `transactional_db`). An in-memory SQLite test database cannot be
shared with another process, so there the worker gets a file copy of it, taken after the post.
"""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

from messaging.models import Recipient
from tests.factories import MemberFactory
from tests.helpers import one_message, post_json

pytestmark = pytest.mark.slow  # real Celery worker processes

ROOT = Path(__file__).resolve().parent.parent
WORKER_START_SECONDS = 60
SUBMIT_DEADLINE_SECONDS = 90


def postgres_url(database):
    credentials = quote(database["USER"] or "", safe="")
    if database["PASSWORD"]:
        credentials += ":" + quote(database["PASSWORD"], safe="")
    host = database["HOST"] or "127.0.0.1"
    port = database["PORT"] or "5432"
    return f"postgres://{credentials}@{host}:{port}/{database['NAME']}"


def worker_database_url(tmp_path):
    """A URL by which another process reaches the data this test has committed."""
    if connection.vendor == "postgresql":
        return postgres_url(connection.settings_dict)
    if connection.vendor == "sqlite":
        copy = tmp_path / "e2e.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(copy)
        connection.connection.backup(target)
        target.close()
        return f"sqlite:///{copy}"
    raise AssertionError(f"no end-to-end set-up for {connection.vendor}")


def recipient_state(database_url, recipient_id):
    if database_url.startswith("sqlite:///"):
        with sqlite3.connect(database_url.removeprefix("sqlite:///"), timeout=10) as reader:
            row = reader.execute("SELECT state FROM messaging_recipient WHERE id = ?", [recipient_id]).fetchone()
        return row[0] if row else None
    return Recipient.objects.get(id=recipient_id).state


def brokers():
    """The suite's own broker, and RabbitMQ too where CI names one (AMQP_TEST_URL)."""
    urls = [None]
    if os.environ.get("AMQP_TEST_URL"):
        urls.append(os.environ["AMQP_TEST_URL"])
    return urls


def start_worker(tmp_path, database_url, outbox, broker_url=None):
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smsgateway.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker_url or settings.CELERY_BROKER_URL,
        "SMS_BACKEND": "messaging.backends.filebox.FileboxBackend",
        "SMS_BACKEND_OPTIONS": json.dumps({"path": str(outbox)}),
        "DISPATCH_POLL_SECONDS": "0.5",
        "SMSGW_VAR_DIR": str(settings.VAR_DIR),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "PYTHONUNBUFFERED": "1",
    }
    log = open(tmp_path / "worker.log", "wb")  # closed with the worker
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "smsgateway",
        "worker",
        "--beat",
        "--schedule",
        str(tmp_path / "beat-schedule"),
        "--pool",
        "solo",
        "--loglevel",
        "INFO",
        "--hostname",
        f"e2e-{uuid.uuid4().hex[:8]}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    worker = subprocess.Popen(
        command, cwd=ROOT, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return worker, log


def stop_worker(worker, log):
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=15)
    log.close()


@pytest.fixture
def live_celery():
    """Publish for real in this test: the worker, not an eager call, must do the work."""
    from smsgateway.celery import app

    app.conf.task_always_eager = False
    yield
    app.conf.task_always_eager = True


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("broker_url", brokers(), ids=lambda url: "amqp" if url else "suite-broker")
def test_a_real_worker_takes_a_posted_request_to_submitted(client, live_celery, tmp_path, broker_url):
    member = MemberFactory(first_name="Grace")
    body = one_message(
        priorityService="true", recipients={"recipient": {"id": str(member.id)}}, content="Hello [[firstName]]"
    )
    response = post_json(client, body)
    assert response.status_code == 200, response.content
    recipient = Recipient.objects.get()
    assert recipient.state == "initial"

    outbox = tmp_path / "outbox.jsonl"
    database_url = worker_database_url(tmp_path)
    worker, log = start_worker(tmp_path, database_url, outbox, broker_url)
    try:
        deadline = time.monotonic() + WORKER_START_SECONDS + SUBMIT_DEADLINE_SECONDS
        state = "initial"
        while time.monotonic() < deadline and worker.poll() is None:
            state = recipient_state(database_url, recipient.id)
            if state != "initial":
                break
            time.sleep(0.25)
        worker_output = (tmp_path / "worker.log").read_text(errors="replace")[-4000:]
        assert worker.poll() is None, f"the worker died:\n{worker_output}"
        assert state == "submitted", f"recipient is {state!r}; worker log:\n{worker_output}"
    finally:
        stop_worker(worker, log)

    sent = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [(sms["phone"], sms["text"]) for sms in sent] == [(member.mobile, "Hello Grace")]


@pytest.fixture
def broker_down(live_celery):
    """The app's broker is a closed port for the web side, as when the broker is down."""
    from smsgateway.celery import app

    real_url = app.conf.broker_url
    app.pool.force_close_all()
    app._pool = None
    app.conf.broker_url = "redis://127.0.0.1:9/0"
    yield
    app.pool.force_close_all()
    app._pool = None
    app.conf.broker_url = real_url


@pytest.mark.django_db(transaction=True)
def test_a_request_posted_while_the_broker_is_down_is_stored_answered_200_and_sent_when_it_is_back(
    client, broker_down, tmp_path, caplog
):
    """CONTRACT section 3: the broker only carries wake-ups; the row is the queue."""
    member = MemberFactory(first_name="Ada")
    body = one_message(
        priorityService="true", recipients={"recipient": {"id": str(member.id)}}, content="Hi [[firstName]]"
    )
    response = post_json(client, body)
    assert response.status_code == 200, response.content
    assert "could not publish" in caplog.text
    recipient = Recipient.objects.get()
    assert recipient.state == "initial"

    outbox = tmp_path / "outbox.jsonl"
    database_url = worker_database_url(tmp_path)
    worker, log = start_worker(tmp_path, database_url, outbox)  # the broker is back: the suite's own
    try:
        deadline = time.monotonic() + WORKER_START_SECONDS + SUBMIT_DEADLINE_SECONDS
        state = "initial"
        while time.monotonic() < deadline and worker.poll() is None and state == "initial":
            time.sleep(0.25)
            state = recipient_state(database_url, recipient.id)
        assert state == "submitted", (tmp_path / "worker.log").read_text(errors="replace")[-4000:]
    finally:
        stop_worker(worker, log)
    sent = [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines()]
    assert [(sms["phone"], sms["text"]) for sms in sent] == [(member.mobile, "Hi Ada")]
