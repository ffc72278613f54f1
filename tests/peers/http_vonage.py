"""A loopback Vonage SMS API for tests: `POST /sms/json` as Vonage answers it.

Credentials are checked the three ways Vonage takes them (api_key/api_secret in the body,
HTTP Basic, or a signed request with `sig` and `timestamp`). Vonage answers 200 with a status
per message; a failure is a non-zero `status` with its `error-text`:

- `statuses`: destination -> (status, error text), e.g. ("1", "Throughput Rate Exceeded");
- `http_status`: answer every request with this HTTP status (a 500 or a 429), no body;
- bad credentials answer status "4" "Bad Credentials", as Vonage does.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs


def vonage_signature(params: dict, secret: str) -> str:
    """Vonage's HMAC-MD5 signature of request parameters (also what signed webhooks carry)."""
    hasher = hmac.new(secret.encode(), digestmod=hashlib.md5)
    for key in sorted(params):
        if key == "sig":
            continue
        value = str(params[key]).replace("&", "_").replace("=", "_")
        hasher.update(f"&{key}={value}".encode())
    return hasher.hexdigest()


@dataclass
class LoopbackVonage:
    api_key: str = "vonage-key"
    api_secret: str = "vonage-secret"
    signature_secret: str = ""
    statuses: dict[str, tuple[str, str]] = field(default_factory=dict)
    http_status: int | None = None
    taken: list[dict] = field(default_factory=list)

    def _authorised(self, form: dict, authorization: str | None) -> bool:
        if authorization:
            expected = base64.b64encode(f"{self.api_key}:{self.api_secret}".encode()).decode()
            return authorization == f"Basic {expected}"
        if form.get("api_key") != self.api_key:
            return False
        if "sig" in form:
            return bool(self.signature_secret) and hmac.compare_digest(
                form["sig"], vonage_signature(form, self.signature_secret)
            )
        return form.get("api_secret") == self.api_secret

    def start(self) -> LoopbackVonage:
        peer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _answer(self, status: int, body: dict | None):
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path != "/sms/json":
                    return self._answer(404, {"error": "not found"})
                if peer.http_status is not None:
                    return self._answer(peer.http_status, None)
                to = form.get("to", "")
                if not peer._authorised(form, self.headers.get("Authorization")):
                    result = {"status": "4", "error-text": "Bad Credentials"}
                elif to in peer.statuses:
                    status, text = peer.statuses[to]
                    result = {"status": status, "error-text": text}
                elif not to.isdigit():
                    result = {"status": "3", "error-text": "Invalid Message: invalid to"}
                else:
                    message_id = uuid.uuid4().hex[:16].upper()
                    peer.taken.append({**form, "message-id": message_id})
                    result = {
                        "to": to,
                        "message-id": message_id,
                        "status": "0",
                        "remaining-balance": "10.00",
                        "message-price": "0.0333",
                        "network": "310260",
                    }
                    if "client-ref" in form:
                        result["client-ref"] = form["client-ref"]
                self._answer(200, {"message-count": "1", "messages": [result]})

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
