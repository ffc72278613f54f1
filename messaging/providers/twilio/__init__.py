"""Twilio: one HTTPS request per message (messaging.backends.twilio), receipts by webhook."""
