"""SMPP 3.4 over long-lived transceiver binds, with smpplib's codec for binds and deliver_sm
and a direct submit_sm encoder (pdu.submit_sm_pdu, held byte-equal to smpplib's by a test).

One backend per process holds `binds` sessions. Each session has a reader thread that takes
submit_sm_resp, deliver_sm (receipts), enquire_link and unbind off the socket, sends
enquire_link when the line has been quiet, and declares the session lost when the SMSC stops
answering. `send_messages` writes submit_sm in chunks of up to `window` outstanding per session
(one write per chunk, TCP_NODELAY set) and waits for the answers. A session that drops with
submits outstanding leaves those messages without an outcome (it is not known whether the SMSC
took them); parts never written are sent over a new session, opened with backoff. A deliver_sm
that is no receipt is a text a member sent (mobile-originated): it goes to the inbound sink, in
any data_coding the SMSC uses, and is acknowledged once stored.

The modules, each owning one part:
- options.py: SmppOptions, the options (SMS_BACKEND_OPTIONS or a provider's properties),
  coerced once;
- pdu.py: what needs no connection: command ids, PDUs written by hand, text coding and
  splitting, statuses, receipts, members' texts, message ids;
- session.py: SmppSession, one bind: its socket, bind_transceiver, the reader thread,
  enquire_link, and the submits it has outstanding;
- sender.py: Sender, the way out: parts, the window, pacing, and one outcome per message;
- delivery.py: Deliveries, the way in: receipts and members' texts, the receipt-hold rule
  (delivery_due), and their hand-over to the sinks;
- backend.py: SmppBackend, which holds the binds and ties the others together.
"""

from .backend import SmppBackend
from .pdu import smpp_message_id_forms, smpp_message_id_normal

__all__ = ["SmppBackend", "smpp_message_id_forms", "smpp_message_id_normal"]
