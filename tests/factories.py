import factory

from audiences.models import Member, Segment


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

    name = factory.Sequence(lambda n: f"segment {n}")
