from django.core.management.base import BaseCommand

from messaging.services.api_keys import api_key_create


class Command(BaseCommand):
    help = "Issue an API key to a partner system. The key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Who the key is for, e.g. the partner system's name.")
        parser.add_argument("--rate", type=int, default=0, help="Requests per minute (0: the gateway default).")

    def handle(self, *args, name, rate, **options):
        api_key, raw_key = api_key_create(name=name, rate_limit_per_minute=rate)
        self.stderr.write(f"API key {api_key.prefix}… issued to {name!r}; it is shown only now:")
        self.stdout.write(raw_key)
