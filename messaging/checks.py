"""System checks of the gateway's safe defaults (registered in MessagingConfig.ready)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from messaging.services.api_keys import NUMBER_TYPES


@register(Tags.security)
def pumping_defaults_check(app_configs=None, **kwargs):
    """A production gateway (DEBUG off) whose new keys may text any country invites SMS pumping;
    and a refused number type that phonenumbers does not know refuses nothing."""
    problems = []
    if not settings.DEBUG and not settings.SMS_DEFAULT_ALLOWED_COUNTRIES:
        problems.append(
            Warning(
                "SMS_DEFAULT_ALLOWED_COUNTRIES is empty: new API keys may send to every country.",
                hint="Set it to the ISO 3166 codes your partners send to, e.g. SMS_DEFAULT_ALLOWED_COUNTRIES=US,CA "
                "(a key's own list is set in the admin or by create_api_key --countries).",
                id="messaging.W001",
            )
        )
    unknown = sorted({str(name).strip().upper() for name in settings.SMS_REFUSED_NUMBER_TYPES} - set(NUMBER_TYPES))
    if unknown:
        problems.append(
            Error(
                f"SMS_REFUSED_NUMBER_TYPES names unknown number types: {', '.join(unknown)}.",
                hint="Use phonenumbers' PhoneNumberType names: " + ", ".join(NUMBER_TYPES) + ".",
                id="messaging.E001",
            )
        )
    return problems
