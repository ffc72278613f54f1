"""The SMPP kind: an SMSC reached over long-lived binds. Its receipts and members' texts arrive on
the binds themselves (deliver_sm) and reach the database through the sinks
(messaging/services/providers/sinks.py), so it has no callback routes."""

import socket

from messaging.providers.descriptor import Property, ProviderDescriptor, Whole

DEFAULT_PORT = 2775
# The bases the SMSC writes message ids in: submit_sm_resp and receipts (10 or 16).
ID_BASE = Whole(10, 16, spellings=("10", "16"))


def smsc_reachable(properties: dict, *, timeout: float) -> str:
    """An SMPP provider must accept a TCP connection on its host and port."""
    host = properties.get("Host", "")
    port = int(properties.get("Port") or DEFAULT_PORT)
    if not host:
        raise ValueError("no Host set")
    with socket.create_connection((host, port), timeout=timeout):
        return f"tcp {host}:{port} reachable"


def smsc_link(properties: dict) -> str:
    host = properties.get("Host") or ""
    return f"SMPP bind to {host}" if host else "SMPP (no host set)"


SMPP = ProviderDescriptor(
    kind="SMPP",
    label="SMPP 3.4",
    backend="messaging.backends.smpp.SmppBackend",
    properties=(
        Property("Host", "host", required=True, endpoint=True),
        Property("Port", "port", Whole(1, 65535), required=True, endpoint=True),
        Property("System ID", "system_id", required=True),
        Property("Password", "password", secret=True),
        Property("System Type", "system_type"),
        Property("Binds", "binds", Whole(1, 64)),
        Property("Window", "window", Whole(1, 10000)),
        Property("Source TON", "source_ton", Whole(0, 255)),
        Property("Source NPI", "source_npi", Whole(0, 255)),
        Property("Submit ID Base", "submit_id_base", ID_BASE),
        Property("Receipt ID Base", "receipt_id_base", ID_BASE),
    ),
    # The SMSC's pace is the backend's own (it paces its submit_sm).
    common_options=frozenset({"throughput", "sender"}),
    readiness_check=smsc_reachable,
    link_label=smsc_link,
    reports_links=True,
)
