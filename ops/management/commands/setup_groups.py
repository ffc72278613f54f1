from django.core.management.base import BaseCommand

from ops.groups import console_groups_setup


class Command(BaseCommand):
    help = (
        "Create the staff groups marketing (view and send), operator (also resend, cancel and providers) and "
        "auditor (view only), or set their permissions to exactly these again. Safe to run again."
    )

    def handle(self, *args, **options):
        counts = console_groups_setup()
        summary = ", ".join(f"{name} {count} permissions" for name, count in counts.items())
        self.stdout.write(f"Groups ready: {summary}.")
