from django.core.management.base import BaseCommand

from ops.groups import console_groups_setup


class Command(BaseCommand):
    help = (
        "Create the staff groups marketing (view and send), operator (also resend and cancel) and "
        "auditor (view only) with their permissions. Safe to run again."
    )

    def handle(self, *args, **options):
        counts = console_groups_setup()
        summary = ", ".join(f"{name} {count} permissions" for name, count in counts.items())
        self.stdout.write(f"Groups ready: {summary}.")
