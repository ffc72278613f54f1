"""SMPP 3.4: long-lived transceiver binds to an SMSC (messaging.backends.smpp)."""
