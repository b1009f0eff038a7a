import factory
from allauth.account.models import EmailAddress

from tenants.models import Membership, Organisation, Team, TeamMembership, User
from tenants.roles import OrgRole, TeamRole

PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    name = factory.Sequence(lambda n: f"Organisation {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)
    role = OrgRole.MEMBER


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    organisation = factory.SubFactory(OrganisationFactory)
    name = factory.Sequence(lambda n: f"Team {n}")
    slug = factory.Sequence(lambda n: f"team-{n}")


class TeamMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TeamMembership

    team = factory.SubFactory(TeamFactory)
    organisation = factory.SelfAttribute("team.organisation")
    user = factory.SubFactory(UserFactory)
    role = TeamRole.DEVELOPER


def member_of(organisation, *, role=OrgRole.MEMBER, team=None, team_role=None, **user_fields):
    """A new user in ``organisation`` (and in ``team`` with ``team_role``)."""
    user = UserFactory(**user_fields)
    MembershipFactory(organisation=organisation, user=user, role=role)
    if team is not None:
        TeamMembershipFactory(team=team, user=user, role=team_role or TeamRole.DEVELOPER)
    return user
