"""Fault: kill -9 the web (gunicorn's master and its workers: the whole process group, as in a
crash of the machine's web service) while partners post send requests, then start it again.

Every request answered 200 is stored whole under the id it was answered with: its request row, its
message and every one of its recipients. A request left unanswered (its connection reset) is
stored whole or not at all, and one the web refused to connect (it was down) not at all. Posted
again with its Idempotency-Key after the restart, an unanswered request is stored exactly once.
Every stored recipient then reaches a final state. The web is README's production gunicorn
command; the Celery worker and beat run throughout."""

import json
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from common import FINAL, PHONES, Smsc, Stack, exit_now, json_send, say, send_url, verdict

CLIENTS = int(os.environ.get("FAULT_CLIENTS", "32"))
KILL_AFTER_ANSWERS = int(os.environ.get("FAULT_KILL_AFTER_ANSWERS", "300"))
KILL_AFTER_SECONDS = float(os.environ.get("FAULT_KILL_AFTER_SECONDS", "3"))
BULK_EVERY = 3  # one request in three lists 100 recipients, the others one
KEYED_EVERY = 2  # one request in two carries an Idempotency-Key
BULK_SIZE = 100


@dataclass
class Posted:
    """One send request a partner posted, and what came of it: status 0 is no answer."""

    token: str
    recipients: int
    body: bytes
    idempotency_key: str | None
    status: int = -1
    request_id: int | None = None
    refused: bool = False  # the connection was refused: the request never reached the web
    error: str = ""

    @property
    def answered(self) -> bool:
        return self.status == 200 and self.request_id is not None

    @property
    def unanswered(self) -> bool:
        return self.status == 0 and not self.refused


def posted_new(client: int, n: int) -> Posted:
    token = f"c{client}-{n}"
    count = BULK_SIZE if n % BULK_EVERY == 0 else 1
    start = (client * 997 + n * BULK_SIZE) % (len(PHONES) - BULK_SIZE)
    body = json_send(PHONES[start : start + count], content=f"intake {token} {time.time_ns()}")
    key = f"intake-{token}" if n % KEYED_EVERY == 0 else None
    return Posted(token=token, recipients=count, body=body, idempotency_key=key)


def post_send(stack: Stack, api_key: str, posted: Posted) -> None:
    """Post `posted` and record its answer, or how it got none."""
    headers = {"Content-Type": "application/json", "X-VoltMX-App-API-Key": api_key}
    if posted.idempotency_key:
        headers["Idempotency-Key"] = posted.idempotency_key
    request = urllib.request.Request(send_url(stack), data=posted.body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            posted.status, text = response.status, response.read()
    except urllib.error.HTTPError as error:
        posted.status, posted.error = error.code, error.read()[:200].decode(errors="replace")
        return
    except OSError as error:
        reason = getattr(error, "reason", error)
        posted.status, posted.error = 0, f"{type(reason).__name__}: {reason}"
        posted.refused = isinstance(reason, ConnectionRefusedError)
        return
    try:
        posted.request_id = int(json.loads(text)["id"])
    except (ValueError, KeyError, TypeError):
        posted.error = f"200 without an id: {text[:200]!r}"


class Partners:
    """CLIENTS threads posting send requests back to back; every request and its answer kept."""

    def __init__(self, stack: Stack, api_key: str):
        self.stack, self.api_key = stack, api_key
        self.posted: list[Posted] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(c,), daemon=True) for c in range(CLIENTS)]

    def _run(self, client: int) -> None:
        n = 0
        while not self._stop.is_set():
            n += 1
            posted = posted_new(client, n)
            self.posted.append(posted)
            post_send(self.stack, self.api_key, posted)

    def start(self) -> "Partners":
        for thread in self._threads:
            thread.start()
        return self

    def answered(self) -> int:
        return sum(1 for posted in self.posted if posted.answered)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)


def stored_requests(stack: Stack) -> dict[int, tuple[str | None, str | None, int, int]]:
    """Every stored request: (idempotency key, its message's token, messages, recipients)."""
    rows = stack.sql(
        "SELECT r.id, r.idempotency_key, min(m.content), count(DISTINCT m.id), count(c.id) "
        "FROM messaging_smsrequest r LEFT JOIN messaging_smsmessage m ON m.request_id = r.id "
        "LEFT JOIN messaging_recipient c ON c.message_id = m.id GROUP BY r.id"
    )
    return {
        request_id: (key, content.split()[1] if content else None, messages, recipients)
        for request_id, key, content, messages, recipients in rows
    }


@dataclass
class Census:
    """What the database holds of the posted requests."""

    by_token: dict[str, list[int]]
    partial: list[int]
    answered_missing: list[str]
    answered_wrong: list[str]
    refused_stored: list[str]
    unanswered_stored: int
    recipients: int


def census(stack: Stack, posted: list[Posted]) -> Census:
    stored = stored_requests(stack)
    of_token = {p.token: p for p in posted}
    by_token: dict[str, list[int]] = {}
    partial = []
    for request_id, (_, token, messages, recipients) in stored.items():
        by_token.setdefault(token, []).append(request_id)
        expected = of_token[token].recipients if token in of_token else -1
        if messages != 1 or recipients != expected:
            partial.append(request_id)
    answered_missing, answered_wrong = [], []
    for p in posted:
        if not p.answered:
            continue
        if p.request_id not in stored:
            answered_missing.append(p.token)
        elif stored[p.request_id][1] != p.token:
            answered_wrong.append(p.token)
    return Census(
        by_token=by_token,
        partial=partial,
        answered_missing=answered_missing,
        answered_wrong=answered_wrong,
        refused_stored=[p.token for p in posted if p.refused and p.token in by_token],
        unanswered_stored=sum(1 for p in posted if p.unanswered and p.token in by_token),
        recipients=sum(row[3] for row in stored.values()),
    )


def main() -> int:
    smsc = Smsc(receipts=True)
    stack = Stack(
        "kill_web_intake",
        smsc=smsc,
        redis_db=4,
        production_web=True,
        extra_env={"DISPATCH_LEASE_SECONDS": "15"},
    )
    try:
        stack.fresh_database()
        key = stack.api_key()
        stack.start()
        partners = Partners(stack, key).start()
        started = time.monotonic()
        while partners.answered() < KILL_AFTER_ANSWERS or time.monotonic() - started < KILL_AFTER_SECONDS:
            if time.monotonic() - started > 120:
                say(f"kill_web_intake: only {partners.answered()} answers in 120 s")
                return 1
            time.sleep(0.05)
        intake_seconds = time.monotonic() - started
        answered_at_kill = partners.answered()
        stack.kill("web")
        partners.stop()
        posted = list(partners.posted)
        answered = [p for p in posted if p.answered]
        unanswered = [p for p in posted if p.unanswered]
        refused = [p for p in posted if p.refused]
        other = [p for p in posted if not (p.answered or p.unanswered or p.refused)]
        say(
            f"kill_web_intake: web killed (SIGKILL to its process group) after {intake_seconds:.1f} s of intake "
            f"by {CLIENTS} clients with {answered_at_kill} answered 200 "
            f"({answered_at_kill / intake_seconds:.0f} a second)"
        )
        say(
            f"  posted {len(posted)}: answered 200 {len(answered)} "
            f"({sum(p.recipients for p in answered)} recipients), unanswered {len(unanswered)} "
            f"({sum(1 for p in unanswered if p.idempotency_key)} with a key, "
            f"{sum(1 for p in unanswered if p.recipients == BULK_SIZE)} of {BULK_SIZE} recipients), "
            f"refused while down {len(refused)}, "
            f"other answers {len(other)}"
        )
        for p in other[:5]:
            say(f"    other: {p.token} status {p.status} {p.error[:120]}")
        errors = sorted({p.error.split(":")[0] for p in unanswered})
        say(f"  unanswered because: {', '.join(errors) or 'none'}")

        at_kill = census(stack, posted)
        say(
            f"  stored after the kill: {sum(len(ids) for ids in at_kill.by_token.values())} requests, "
            f"{at_kill.recipients} recipients; partial {len(at_kill.partial)}; "
            f"unanswered stored {at_kill.unanswered_stored} of {len(unanswered)}"
        )

        time.sleep(2)
        stack.start_web()
        retried = [p for p in unanswered + refused if p.idempotency_key]
        first_ids = {p.token: list(at_kill.by_token.get(p.token, [])) for p in retried}
        for p in retried:
            p.status, p.request_id, p.refused, p.error = -1, None, False, ""
            post_send(stack, key, p)
        retried_answered = [p for p in retried if p.answered]
        replayed = [p for p in retried_answered if first_ids[p.token] == [p.request_id]]
        say(
            f"  web started again; {len(retried)} unanswered requests with a key posted again: "
            f"{len(retried_answered)} answered 200, {len(replayed)} of them with the id stored before the kill"
        )

        states = stack.wait_final(timeout=240, stall_seconds=60)
        final = census(stack, posted)
        stored_requests_count = sum(len(ids) for ids in final.by_token.values())
        twice = {token: ids for token, ids in final.by_token.items() if len(ids) > 1}
        retried_once = [p for p in retried_answered if final.by_token.get(p.token) == [p.request_id]]
        replay_changed = [p.token for p in retried_answered if first_ids[p.token] not in ([], [p.request_id])]
        say(
            f"  after {time.monotonic() - started:.0f} s: {stored_requests_count} requests, "
            f"{final.recipients} recipients stored; states {states}; SMSC {smsc.stats()}"
        )
        for what, tokens in (
            ("answered, not stored", final.answered_missing),
            ("answered, stored under another request's id", final.answered_wrong),
            ("refused, stored", final.refused_stored),
            ("stored twice", list(twice)),
            ("a key's replay changed id", replay_changed),
        ):
            if tokens:
                say(f"    {what}: {len(tokens)}, e.g. {tokens[:5]}")
        if at_kill.partial or final.partial:
            say(f"    partial requests, e.g. {(at_kill.partial + final.partial)[:5]}")
        return verdict(
            "kill_web_intake",
            {
                f"{KILL_AFTER_ANSWERS} or more answered 200 before the kill ({len(answered)})": len(answered)
                >= KILL_AFTER_ANSWERS,
                f"some requests were in flight at the kill (unanswered {len(unanswered)})": len(unanswered) > 0,
                f"every answered request stored whole under its id ({len(final.answered_missing)} missing, "
                f"{len(final.answered_wrong)} under another id)": not final.answered_missing
                and not final.answered_wrong,
                f"nothing stored by half, at the kill ({len(at_kill.partial)}) or after ({len(final.partial)})": not (
                    at_kill.partial or final.partial
                ),
                f"no refused request stored ({len(final.refused_stored)})": not final.refused_stored,
                f"every unanswered request with a key, posted again, answered 200 "
                f"({len(retried_answered)} of {len(retried)})": len(retried_answered) == len(retried),
                f"... and stored exactly once ({len(retried_once)} of {len(retried)}; "
                f"{len(replay_changed)} replays changed id)": len(retried_once) == len(retried) and not replay_changed,
                f"no request stored twice ({len(twice)})": not twice,
                f"every one of {final.recipients} stored recipients in a final state": sum(states.values())
                == final.recipients
                and all(state in FINAL for state in states),
            },
        )
    finally:
        stack.stop()
        smsc.stop()


if __name__ == "__main__":
    exit_now(main())
