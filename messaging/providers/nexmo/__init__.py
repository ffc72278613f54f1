"""Vonage (formerly Nexmo): one HTTPS request per message (messaging.backends.vonage), receipts by
webhook."""
