"""A provider's parts-per-second limit holds across two dispatching worker processes.

The two workers run the real dispatch loop in their own processes against one database file and
send through the Twilio backend to a loopback Twilio in this process, which notes when each
message came. At 20 parts a second and batches of two seconds' worth, 100 messages cannot all
arrive in less than four seconds, whatever the number of workers; without the shared limit two
workers send them in well under one.
"""

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from tests.peers.http_twilio import LoopbackTwilio

ROOT = Path(__file__).resolve().parent.parent
RATE = 20
COUNT = 100

SEED = """
import sys
import django
django.setup()
from datetime import timedelta
from django.utils import timezone
from messaging.models import Provider, Recipient, SmsMessage, SmsRequest
url, sid, token, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
Provider.objects.create(
    name="twilio-limited", kind="TWILIO",
    properties={"Account SID": sid, "Auth Token": token, "Host URL": url, "Throughput": sys.argv[5], "Binds": "8"},
)
request = SmsRequest.objects.create(id=1, format="json", body_hash="0" * 64, client="key:1")
start = timezone.now() - timedelta(seconds=1)
message = SmsMessage.objects.create(
    request=request, position=1, content="Rate limited", start_at=start, encoding="gsm7", parts=1
)
Recipient.objects.bulk_create(
    Recipient(message=message, phone=f"+1415{5550000 + n}", due_at=start) for n in range(count)
)
"""

WORKER = """
import sys, time
import django
django.setup()
from messaging.models import Recipient
from messaging.services.dispatch import dispatch_due_run
print("ready", flush=True)
sys.stdin.readline()
deadline = time.monotonic() + 60
while time.monotonic() < deadline and Recipient.objects.filter(state="initial").exists():
    dispatch_due_run(seconds=5)
    time.sleep(0.05)
print("done", flush=True)
"""


@pytest.fixture
def twilio():
    peer = LoopbackTwilio().start()
    yield peer
    peer.stop()


@pytest.mark.slow  # two worker processes
def test_two_workers_together_keep_to_the_providers_rate(tmp_path, twilio):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "smsgateway.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'gateway.sqlite3'}",
        "SMSGW_VAR_DIR": str(tmp_path),
        "CELERY_BROKER_URL": "filesystem://",
        "CACHE_URL": "locmemcache://",
        "THROTTLE_REDIS_URL": "",
        "SMS_CALLBACK_BASE_URL": "",
    }
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120
    )
    subprocess.run(
        [sys.executable, "-c", SEED, twilio.url, twilio.account_sid, twilio.auth_token, str(COUNT), str(RATE)],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        assert [worker.stdout.readline().strip() for worker in workers] == ["ready", "ready"]
        started = time.monotonic()
        for worker in workers:
            worker.stdin.write("go\n")
            worker.stdin.flush()
        assert [worker.stdout.readline().strip() for worker in workers] == ["done", "done"]
        elapsed = time.monotonic() - started
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
    phones = [taken.fields["To"] for taken in twilio.taken]
    assert (len(phones), len(set(phones))) == (COUNT, COUNT)
    # Batches of 2 s worth (40 parts): the last of 100 parts cannot go before 4 s have passed.
    assert elapsed >= (COUNT - 2 * RATE) / RATE - 0.5


@pytest.fixture
def slow_console(db):
    from messaging.models import Provider
    from messaging.services.providers import routing

    routing.providers_forget()
    provider = Provider.objects.create(
        name=f"slow-{uuid.uuid4().hex[:10]}", kind="CONSOLE", properties={"Throughput": "1"}
    )
    yield provider
    routing.providers_forget()


def test_rows_are_given_back_unsent_while_other_workers_hold_the_rate(slow_console, monkeypatch):
    from messaging.models import Recipient
    from messaging.services import dispatch
    from tests.factories import RecipientFactory

    monkeypatch.setattr(dispatch, "THROTTLE_MAX_WAIT_SECONDS", 0.1)
    RecipientFactory.create_batch(4)
    dispatch.dispatch_batch()  # two seconds' worth goes; the clock now stands two seconds ahead
    dispatch.dispatch_batch()  # the rest would wait longer than allowed: given back
    waiting = list(Recipient.objects.filter(state="initial").values_list("attempts", "lease_token"))
    assert waiting == [(0, None), (0, None)]


def test_a_priority_row_given_back_is_still_first_in_line(slow_console, monkeypatch):
    from messaging.services import dispatch
    from tests.factories import RecipientFactory

    monkeypatch.setattr(dispatch, "THROTTLE_MAX_WAIT_SECONDS", 0.1)
    RecipientFactory.create_batch(2)
    dispatch.dispatch_batch()
    urgent = RecipientFactory(message__priority=True)
    RecipientFactory()
    dispatch.dispatch_batch()
    later = timezone.now() + timedelta(seconds=10)
    claimed = dispatch.recipients_claim(batch_size=1, now=later)
    assert [r.pk for r in claimed] == [urgent.pk]
