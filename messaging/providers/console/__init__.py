"""The console: prints each message (messaging.backends.console), for development."""
