"""The Vonage kind, stored as NEXMO (its old name, which the CONTRACT uses); VONAGE is accepted."""

from messaging.providers.descriptor import CallbackRoute, Property, ProviderDescriptor

VIEWS = "messaging.providers.nexmo.callbacks"

NEXMO = ProviderDescriptor(
    kind="NEXMO",
    label="Vonage (Nexmo)",
    aliases=("VONAGE",),
    backend="messaging.backends.vonage.VonageBackend",
    properties=(
        Property("API Key", "api_key", required=True),
        Property("API Secret", "api_secret", required=True, secret=True),
        # Checks the signed webhooks (callbacks.py); without it every callback is refused.
        Property("Signature Secret", "signature_secret", secret=True),
        Property("Host URL", "host_url", endpoint=True),
    ),
    callbacks=(
        CallbackRoute(
            path="api/v1/callbacks/nexmo/status", view=f"{VIEWS}.vonage_status_callback", name="nexmo-status"
        ),
        CallbackRoute(path="api/v1/callbacks/nexmo/inbound", view=f"{VIEWS}.vonage_inbound", name="nexmo-inbound"),
    ),
    status_callback="nexmo-status",
)
