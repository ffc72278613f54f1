import factory
from django.utils import timezone

from audiences.models import Member, Segment
from messaging.services.receipts import provider_ref_of


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"member{n}@example.com")
    mobile = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    country = "United States"
    state = "CA"


class SegmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Segment
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"segment {n}")
    published = True
    definition = "1"

    @factory.post_generation
    def conditions(segment, create, given, **kwargs):
        """One condition unless given: (attribute, operator, value) triples, numbered from 1."""
        if not create:
            return
        for number, (attribute, operator, value) in enumerate(given or [("state", "Equal", "CA")], start=1):
            segment.conditions.create(number=number, attribute=attribute, operator=operator, value=value)


class SmsRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "messaging.SmsRequest"

    id = factory.Sequence(lambda n: 7_000_000_000_000 + n)
    format = "json"
    body_hash = "0" * 64
    client = "key:0"


class SmsMessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "messaging.SmsMessage"

    request = factory.SubFactory(SmsRequestFactory)
    position = 1
    content = "Hello from the gateway"
    channel = "text"
    priority = False
    start_at = factory.LazyFunction(timezone.now)
    encoding = "gsm7"
    parts = 1


class RecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "messaging.Recipient"

    message = factory.SubFactory(SmsMessageFactory)
    phone = factory.Sequence(lambda n: f"+1415666{n % 10000:04d}")
    channel = factory.SelfAttribute("message.channel")
    priority = factory.SelfAttribute("message.priority")
    due_at = factory.SelfAttribute("message.start_at")
    expires_at = factory.SelfAttribute("message.expires_at")
    # Dispatch stores the provider's id with its canonical form; the console finds it by that form.
    provider_message_id = ""
    provider_ref = factory.LazyAttribute(lambda row: provider_ref_of(row.provider_message_id))
