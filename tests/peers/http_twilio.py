"""A loopback Twilio for tests: the REST API's Messages and Calls resources as Twilio answers them.

It checks HTTP Basic with the account SID and auth token, answers 201 with a message or call
resource (sid `SM…` or `CA…`), and Twilio's error body (`code`, `message`, `more_info`,
`status`) for what is scripted:

- `errors`: destination -> (HTTP status, Twilio code, message), e.g. (400, 21211, "...");
- `down`: every request answers 503;
- a `To` that is not E.164 answers 400 with code 21211, as Twilio does.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
RESOURCE = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/(?P<kind>Messages|Calls)\.json$")


@dataclass
class TakenRequest:
    kind: str  # "Messages" or "Calls"
    fields: dict[str, str]
    sid: str = ""


@dataclass
class LoopbackTwilio:
    account_sid: str = "AC" + "0" * 32
    auth_token: str = "twilio-token"
    errors: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    down: bool = False
    taken: list[TakenRequest] = field(default_factory=list)

    def start(self) -> LoopbackTwilio:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, code: int, message: str):
                self._answer(
                    status,
                    {
                        "code": code,
                        "message": message,
                        "more_info": f"https://www.twilio.com/docs/errors/{code}",
                        "status": status,
                    },
                )

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                found = RESOURCE.match(self.path)
                if found is None:
                    return self._error(404, 20404, "The requested resource was not found")
                expected = base64.b64encode(f"{peer.account_sid}:{peer.auth_token}".encode()).decode()
                if self.headers.get("Authorization") != f"Basic {expected}" or found["sid"] != peer.account_sid:
                    return self._error(401, 20003, "Authentication Error - invalid username")
                if peer.down:
                    return self._error(503, 20503, "Service unavailable")
                to = form.get("To", "")
                if to in peer.errors:
                    status, code, message = peer.errors[to]
                    return self._error(status, code, message)
                if not E164.match(to):
                    return self._error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
                kind = found["kind"]
                sid = ("SM" if kind == "Messages" else "CA") + uuid.uuid4().hex
                peer.taken.append(TakenRequest(kind=kind, fields=form, sid=sid))
                resource = {
                    "sid": sid,
                    "account_sid": peer.account_sid,
                    "to": to,
                    "from": form.get("From"),
                    "status": "queued",
                    "uri": f"/2010-04-01/Accounts/{peer.account_sid}/{kind}/{sid}.json",
                }
                if kind == "Messages":
                    resource.update(body=form.get("Body"), num_segments="1", direction="outbound-api")
                self._answer(201, resource)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()
        return self

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
