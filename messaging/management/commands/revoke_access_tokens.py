from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from messaging.services.access_tokens import access_tokens_revoke_for_user


class Command(BaseCommand):
    help = "Revoke every live access token (GET /api/v1/oauth/accesstoken) of a gateway user."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no gateway user {username!r}")
        revoked = access_tokens_revoke_for_user(user=user)
        self.stdout.write(f"{revoked} access token(s) of {username} revoked")
