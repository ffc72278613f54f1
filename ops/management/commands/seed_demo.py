from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from audiences.models import Member
from messaging.models import ApiKey
from messaging.services.api_keys import api_key_create
from ops.groups import console_groups_setup

DEMO_MEMBERS = [
    ("Ada", "Lovelace", "ada@example.com", "+14155550101", "United States", "CA"),
    ("Alan", "Turing", "alan@example.com", "+447700900123", "United Kingdom", ""),
    ("Grace", "Hopper", "grace@example.com", "+12025550143", "United States", "DC"),
    ("Wanjiru", "Kamau", "wanjiru@example.com", "+254712345678", "Kenya", ""),
]


class Command(BaseCommand):
    help = "Create the demo data once: a superuser, an API key and a few audience members."

    def handle(self, *args, **options):
        console_groups_setup()  # the staff groups marketing, operator and auditor, every time
        if ApiKey.objects.filter(name="demo").exists():
            self.stdout.write("Demo data is already there (the key was printed when it was made).")
            return
        User = get_user_model()
        if not User.objects.filter(username="admin").exists():
            User.objects.create_superuser("admin", "admin@example.com", "admin")
        for first, last, email, mobile, country, state in DEMO_MEMBERS:
            Member.objects.get_or_create(
                mobile=mobile,
                defaults={"first_name": first, "last_name": last, "email": email, "country": country, "state": state},
            )
        _, raw_key = api_key_create(name="demo")
        first_member = Member.objects.order_by("id").first()
        self.stdout.write(
            "\nDemo data created.\n"
            "  Admin:   http://127.0.0.1:8000/admin/  user admin, password admin\n"
            f"  API key: {raw_key}\n"
            "  Try:     curl -s -X POST http://127.0.0.1:8000/api/v1/message/sms \\\n"
            f"             -H 'X-VoltMX-App-API-Key: {raw_key}' -H 'Content-Type: application/json' \\\n"
            '             -d \'{"smsServiceRequest":{"messages":{"message":{"priorityService":"true",'
            f'"recipients":{{"recipient":{{"id":"{first_member.id}"}}}},"content":"Hello [[firstName]]"}}}}}}}}\'\n'
        )
