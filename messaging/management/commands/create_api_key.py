from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from messaging.services.api_keys import api_key_create, api_key_limits_clean


def _listed(values: list[str] | None) -> list[str] | None:
    """Repeated options and comma lists alike: `--scope send --scope status` or `--scope send,status`."""
    if values is None:
        return None
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


class Command(BaseCommand):
    help = (
        "Issue an API key to a partner system. The key is printed once, alone on the last line. "
        "What is not given takes the gateway's defaults: the send and status scopes, "
        "SMS_DEFAULT_DAILY_QUOTA_PARTS and SMS_DEFAULT_ALLOWED_COUNTRIES."
    )

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who the key is for, e.g. the partner system's name.")
        parser.add_argument("--rate", type=int, default=0, help="Requests per minute (0: the gateway default).")
        parser.add_argument(
            "--scope",
            action="append",
            dest="scopes",
            metavar="SCOPE",
            help="What the key may do; repeat it or give a comma list (send, status, audience:read, "
            "audience:write, segments, templates, config, twoway). Default: send,status.",
        )
        parser.add_argument(
            "--daily-quota-parts",
            type=int,
            metavar="N",
            help="Message parts a UTC day (0: unlimited). Default: SMS_DEFAULT_DAILY_QUOTA_PARTS.",
        )
        parser.add_argument(
            "--countries",
            action="append",
            metavar="US,KE",
            help="ISO 3166 codes of the destination countries allowed ('' or 'any': any). "
            "Default: SMS_DEFAULT_ALLOWED_COUNTRIES.",
        )
        parser.add_argument(
            "--allow-number-type",
            action="append",
            dest="number_types",
            metavar="TYPE",
            help="A number type refused by default that this key may send to (PREMIUM_RATE, SHARED_COST, "
            "UAN, UNKNOWN, VOICEMAIL, PAGER, PERSONAL_NUMBER); repeat it or give a comma list.",
        )

    def handle(self, *args, name, rate, scopes, daily_quota_parts, countries, number_types, **options):
        limits = {}
        if scopes is not None:
            limits["scopes"] = _listed(scopes)
        if daily_quota_parts is not None:
            limits["daily_quota_parts"] = daily_quota_parts
        if countries is not None:
            listed = _listed(countries)
            limits["allowed_countries"] = [] if [code.lower() for code in listed] in ([], ["any"]) else listed
        if number_types is not None:
            limits["allowed_number_types"] = _listed(number_types)
        try:
            limits = api_key_limits_clean(**limits)
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        api_key, raw_key = api_key_create(name=name, rate_limit_per_minute=rate, **limits)
        self.stderr.write(
            f"API key {api_key.prefix}… issued to {name!r} (scopes {', '.join(api_key.scopes)}; "
            f"{api_key.daily_quota_parts or 'unlimited'} parts a day; "
            f"countries {', '.join(api_key.allowed_countries) or 'any'}"
            + (f"; also allowed: {', '.join(api_key.allowed_number_types)}" if api_key.allowed_number_types else "")
            + "); it is shown only now:"
        )
        self.stdout.write(raw_key)
