"""The demo's AI models: the three models of the LiteLLM proxy the adapter's tests were
recorded from (tests/fixtures/litellm), offered by Acme's Identity team as APIs of kind
"ai", each with a metered plan that approves at once.

A synced LiteLLM connection makes these from the proxy's /model/info; the demo has no
proxy, so it makes them through the catalogue services from the same /model/info entries,
with the spec the adapter writes. The model's name is the API's external id, as a sync
sets it: it is what LiteLLM's logs name and what the log import resolves.
Idempotent: a model that exists is left alone.
"""

import json
from dataclasses import dataclass

from tenants.actors import Actor
from tenants.models import Organisation, Team, User

from .gateways.litellm import model_metadata, model_spec
from .models import Api, Plan
from .services.catalogue import api_create, version_create
from .services.lifecycle import version_transition
from .services.plans import plan_create

ORGANISATION = "acme"
TEAM = "identity"
ACTOR = "admin@acme.example"
PROXY_URL = "https://llm.acme.example"
VERSION = "1"
PLAN = {
    "name": "Metered",
    "description": "Tokens are billed to the calling team's AI budget; approved at once.",
    "rate_limit": 10.0,
    "burst_limit": 20,
    "quota_limit": 2_000,
    "quota_period": Plan.Period.DAY,
    "approval": Plan.Approval.AUTOMATIC,
}


@dataclass(frozen=True)
class DemoModel:
    name: str  # the model group callers name and LiteLLM logs
    model: str  # the provider's model behind it
    mode: str
    input_cost_per_token: float
    output_cost_per_token: float
    max_input_tokens: int
    visibility: str

    def entry(self) -> dict:
        """The model as LiteLLM's /model/info lists it."""
        provider = self.model.split("/", 1)[0]
        return {
            "model_name": self.name,
            "litellm_params": {"model": self.model},
            "model_info": {
                "litellm_provider": provider,
                "mode": self.mode,
                "input_cost_per_token": self.input_cost_per_token,
                "output_cost_per_token": self.output_cost_per_token,
                "max_input_tokens": self.max_input_tokens,
            },
        }


DEMO_MODELS = (
    DemoModel(
        "gpt-4o-mini",
        "openai/gpt-4o-mini",
        "chat",
        1.5e-07,
        6e-07,
        128_000,
        Api.Visibility.ORGANISATION,
    ),
    DemoModel(
        "llama-70b",
        "groq/llama-3.1-70b-versatile",
        "chat",
        8e-07,
        4e-06,
        200_000,
        Api.Visibility.PUBLIC,
    ),
    DemoModel(
        "embed-small",
        "openai/text-embedding-3-small",
        "embedding",
        2e-08,
        0.0,
        8_191,
        Api.Visibility.ORGANISATION,
    ),
)


def seed_models(*, out=None) -> list[Api]:
    """Acme's AI models, published, each with the metered plan; returns those made now."""
    organisation = Organisation.objects.filter(slug=ORGANISATION).first()
    team = Team.objects.filter(organisation=organisation, slug=TEAM).first()
    user = User.objects.filter(email=ACTOR).first()
    if organisation is None or team is None or user is None:
        return []
    actor = Actor.for_user(user)
    created = []
    for demo in DEMO_MODELS:
        if Api.objects.filter(organisation=organisation, slug=demo.name).exists():
            continue
        metadata = model_metadata([demo.entry()])
        api = api_create(
            organisation=organisation,
            team=team,
            name=demo.name,
            slug=demo.name,
            summary=(
                f"{demo.mode.capitalize()} model {demo.model} from {metadata['provider']}, "
                "served by Acme's LiteLLM proxy."
            ),
            tags=("ai", metadata["provider"], demo.mode),
            visibility=demo.visibility,
            kind=Api.Kind.AI,
            actor=actor,
        )
        Api.objects.filter(pk=api.pk).update(external_id=demo.name)
        spec = model_spec(name=demo.name, metadata=metadata, base_url=PROXY_URL, version=VERSION)
        version = version_create(api=api, raw=json.dumps(spec).encode(), actor=actor)
        version_transition(version=version, to_state="published", actor=actor, reason="")
        plan_create(api=api, actor=actor, **PLAN)
        created.append(api)
        if out is not None:
            out.write(f"  catalogue: {organisation.slug}/{api.slug} (AI model)\n")
    return created
