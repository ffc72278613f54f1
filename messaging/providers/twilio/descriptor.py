"""The Twilio kind: its REST API for texts and voice calls, and its signed webhooks back."""

from messaging.providers.descriptor import CallbackRoute, Property, ProviderDescriptor

VIEWS = "messaging.providers.twilio.callbacks"

TWILIO = ProviderDescriptor(
    kind="TWILIO",
    label="Twilio",
    backend="messaging.backends.twilio.TwilioBackend",
    properties=(
        Property("Account SID", "account_sid", required=True),
        Property("Auth Token", "auth_token", required=True, secret=True),
        Property("Host URL", "host_url", endpoint=True),
    ),
    voice=True,
    callbacks=(
        CallbackRoute(
            path="api/v1/callbacks/twilio/status", view=f"{VIEWS}.twilio_status_callback", name="twilio-status"
        ),
        CallbackRoute(path="api/v1/callbacks/twilio/inbound", view=f"{VIEWS}.twilio_inbound", name="twilio-inbound"),
    ),
    status_callback="twilio-status",
)
