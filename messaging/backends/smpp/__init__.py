"""SMPP 3.4 over long-lived transceiver binds (see backend.py); pdu.py holds what needs no
connection."""

from .backend import SmppBackend
from .pdu import smpp_message_id_forms, smpp_message_id_normal

__all__ = ["SmppBackend", "smpp_message_id_forms", "smpp_message_id_normal"]
