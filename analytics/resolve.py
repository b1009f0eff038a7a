"""Which API version and which application a log line is about.

A Resolver is built once per import run from the source organisation's own
catalogue and keys, so a line can only ever resolve to that organisation's
APIs and to applications subscribed to them:

* gateway API id + stage → the version that stage serves (GatewayDeployment);
* an AI model name → the model's API (kind ``ai``, external id = model);
* an API key id → the key's application (Credential.gateway_key_id);
* a key hash (LiteLLM logs the SHA-256 of the key) → the key's application.

Logs that name no API (nginx, Kong, custom) belong to the API set on the source.
"""

from dataclasses import dataclass

from apis.models import Api, Credential, GatewayDeployment


@dataclass(frozen=True, slots=True)
class Target:
    api_id: int = 0
    api_version_id: int = 0


NOWHERE = Target()


class Resolver:
    def __init__(self, source):
        organisation_id = source.organisation_id
        self.stages: dict[tuple[str, str], Target] = {}
        self.apis: dict[str, Target] = {}
        for external_id, stage, api_id, version_id, current in GatewayDeployment.objects.filter(
            organisation_id=organisation_id, missing_since__isnull=True
        ).values_list(
            "api__external_id", "stage", "api_id", "version_id", "api__current_version_id"
        ):
            self.stages[(external_id, stage)] = Target(api_id, version_id or current or 0)
            self.apis.setdefault(external_id, Target(api_id, current or 0))
        self.models: dict[str, Target] = {
            external_id: Target(api_id, current or 0)
            for external_id, api_id, current in Api.objects.filter(
                organisation_id=organisation_id, kind=Api.Kind.AI
            ).values_list("external_id", "pk", "current_version_id")
        }
        keys = Credential.objects.filter(subscription__provider_id=organisation_id)
        self.key_ids: dict[str, tuple[int, int]] = {}
        self.key_hashes: dict[str, tuple[int, int]] = {}
        for key_id, digest, pk, application_id in keys.values_list(
            "gateway_key_id", "digest", "pk", "subscription__application_id"
        ):
            if key_id:
                self.key_ids[key_id] = (application_id, pk)
            self.key_hashes[digest] = (application_id, pk)
        self.fixed = NOWHERE
        if source.api_id and source.api.organisation_id == organisation_id:
            self.fixed = Target(source.api_id, source.api.current_version_id or 0)

    def target(self, gateway_api_id: str, stage: str, model: str) -> Target:
        if gateway_api_id:
            found = self.stages.get((gateway_api_id, stage)) or self.apis.get(gateway_api_id)
            if found is not None:
                return found
        if model:
            found = self.models.get(model)
            if found is not None:
                return found
        return self.fixed

    def application(self, api_key_id: str, key_hash: str) -> tuple[int, int]:
        """(application id, credential id), zeros when the key is not one of ours."""
        if api_key_id:
            found = self.key_ids.get(api_key_id)
            if found is not None:
                return found
        if key_hash:
            return self.key_hashes.get(key_hash, (0, 0))
        return (0, 0)
