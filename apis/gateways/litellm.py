"""LiteLLM proxy: the models it serves, as AI APIs, and the virtual keys it holds.

Each model name the proxy routes (``GET /model/info``, or ``GET /v1/models`` on a
proxy without it) becomes one API of kind ``ai`` with one stage, "default", whose
fingerprint digests the model's entries, so an unchanged model is not rebuilt.
The spec is an OpenAPI 3.0 document of the proxy's OpenAI-compatible endpoint for
the model's mode, with the model's provider, context size and prices under
``info.x-portico-model``.

The connection's secret is the proxy's admin (master) key, sent as a bearer token.
Keys are LiteLLM virtual keys: ``/key/generate`` with the portal's value, and
``/key/block``, ``/key/unblock``, ``/key/update``, ``/key/delete`` by the key's hash,
which LiteLLM calls its token (the SHA-256 of the value, as the portal's own digest is).
"""

import json
import re

from tenants import keys as secret_keys

from .base import (
    DiscoveredApi,
    DiscoveredKey,
    DiscoveredStage,
    FetchedSpec,
    GatewayAdapter,
    GatewayError,
    ProvisionedKey,
    fingerprint_of,
)
from .http import JsonClient

_HASH = re.compile(r"^[0-9a-f]{64}$")
KEY_PAGE_SIZE = 100
# A plan's period as LiteLLM's budget_duration, in the units every version takes (days);
# a month is 30 days, after which LiteLLM resets the key's spend.
BUDGET_DURATIONS = {"day": "1d", "week": "7d", "month": "30d"}


def _budget_duration(period: str | None) -> str | None:
    """LiteLLM's reset interval of a plan's quota period; None: the key's whole lifetime."""
    return BUDGET_DURATIONS[period] if period else None


# The metadata kept on each model's spec and, in part, on the API.
METADATA_FIELDS = (
    "max_input_tokens",
    "max_output_tokens",
    "max_tokens",
    "input_cost_per_token",
    "output_cost_per_token",
)

_USAGE = {
    "type": "object",
    "properties": {
        "prompt_tokens": {"type": "integer"},
        "completion_tokens": {"type": "integer"},
        "total_tokens": {"type": "integer"},
    },
}


_NULLABLE_STRING = {"type": "string", "nullable": True}
_TEXT_OR_TEXTS = {"oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
# What chat and text completions both accept besides the model and the prompt.
_SAMPLING = {
    "max_tokens": {"type": "integer", "minimum": 1},
    "temperature": {"type": "number", "minimum": 0, "maximum": 2},
    "stream": {"type": "boolean", "default": False},
}


def _object(properties: dict, *, required: list[str] | None = None) -> dict:
    if required:
        return {"type": "object", "required": required, "properties": properties}
    return {"type": "object", "properties": properties}


def _array_of(**properties) -> dict:
    return {"type": "array", "items": _object(properties)}


def _request(model: str, needs: str, **properties) -> dict:
    """A request body: the model (only this one) and ``needs`` are required."""
    return _object(
        {"model": {"type": "string", "enum": [model], "description": "The model to call."}}
        | properties,
        required=["model", needs],
    )


def _completion_response(**choice) -> dict:
    """The answer of chat and text completions: choices that differ in what they hold."""
    return _object(
        {
            "id": {"type": "string"},
            "object": {"type": "string"},
            "created": {"type": "integer"},
            "model": {"type": "string"},
            "choices": _array_of(
                index={"type": "integer"}, **choice, finish_reason=_NULLABLE_STRING
            ),
            "usage": _USAGE,
        }
    )


def _chat(model: str) -> dict:
    message = _object(
        {
            "role": {"type": "string", "enum": ["system", "user", "assistant", "tool"]},
            "content": {"type": "string"},
        },
        required=["role", "content"],
    )
    return {
        "path": "/v1/chat/completions",
        "operation_id": "createChatCompletion",
        "summary": "Chat completion",
        "request": _request(
            model,
            "messages",
            messages={"type": "array", "minItems": 1, "items": message},
            **_SAMPLING,
        ),
        "response": _completion_response(
            message=_object({"role": {"type": "string"}, "content": _NULLABLE_STRING})
        ),
    }


def _completion(model: str) -> dict:
    return {
        "path": "/v1/completions",
        "operation_id": "createCompletion",
        "summary": "Text completion",
        "request": _request(model, "prompt", prompt=_TEXT_OR_TEXTS, **_SAMPLING),
        "response": _completion_response(text={"type": "string"}),
    }


def _embedding(model: str) -> dict:
    return {
        "path": "/v1/embeddings",
        "operation_id": "createEmbedding",
        "summary": "Embeddings",
        "request": _request(
            model,
            "input",
            input=_TEXT_OR_TEXTS,
            encoding_format={"type": "string", "enum": ["float", "base64"]},
        ),
        "response": _object(
            {
                "object": {"type": "string"},
                "model": {"type": "string"},
                "data": _array_of(
                    object={"type": "string"},
                    index={"type": "integer"},
                    embedding={"type": "array", "items": {"type": "number"}},
                ),
                "usage": _USAGE,
            }
        ),
    }


def _image_generation(model: str) -> dict:
    return {
        "path": "/v1/images/generations",
        "operation_id": "createImage",
        "summary": "Image generation",
        "request": _request(
            model,
            "prompt",
            prompt={"type": "string"},
            n={"type": "integer", "minimum": 1},
            size={"type": "string", "example": "1024x1024"},
        ),
        "response": _object(
            {
                "created": {"type": "integer"},
                "data": _array_of(
                    url={"type": "string"},
                    b64_json={"type": "string"},
                    revised_prompt={"type": "string"},
                ),
                "usage": _USAGE,
            }
        ),
    }


def _audio_transcription(model: str) -> dict:
    return {
        "path": "/v1/audio/transcriptions",
        "operation_id": "createTranscription",
        "summary": "Audio transcription",
        "content_type": "multipart/form-data",
        "request": _request(
            model,
            "file",
            file={"type": "string", "format": "binary"},
            language={"type": "string"},
            response_format={"type": "string", "enum": ["json", "text", "srt", "vtt"]},
        ),
        "response": _object({"text": {"type": "string"}, "usage": _USAGE}),
    }


ENDPOINTS = {
    "chat": _chat,
    "completion": _completion,
    "embedding": _embedding,
    "image_generation": _image_generation,
    "audio_transcription": _audio_transcription,
}


def model_metadata(entries: list[dict]) -> dict:
    """What the portal keeps of a model: provider, underlying model, mode, context and
    prices, from the first of its deployments (the proxy balances between them)."""
    first = entries[0]
    info = first.get("model_info") or {}
    params = first.get("litellm_params") or {}
    underlying = params.get("model") or info.get("key") or first.get("model_name", "")
    provider = info.get("litellm_provider") or (
        underlying.split("/", 1)[0] if "/" in underlying else ""
    )
    metadata = {
        "provider": provider,
        "model": underlying,
        "mode": info.get("mode") or "chat",
        "deployments": len(entries),
    }
    for name in METADATA_FIELDS:
        if isinstance(info.get(name), int | float):
            metadata[name] = info[name]
    context = info.get("max_input_tokens") or info.get("max_tokens")
    if context:
        metadata["context_tokens"] = context
    return metadata


def model_spec(*, name: str, metadata: dict, base_url: str, version: str) -> dict:
    """The OpenAPI 3.0 document of the proxy's endpoint for one model."""
    mode = metadata.get("mode", "chat")
    endpoint = ENDPOINTS.get(mode, _chat)(name)
    schema_name = endpoint["operation_id"][0].upper() + endpoint["operation_id"][1:]
    operation = {
        "operationId": endpoint["operation_id"],
        "summary": f"{endpoint['summary']} with {name}",
        "tags": [mode],
        "requestBody": {
            "required": True,
            "content": {
                endpoint.get("content_type", "application/json"): {
                    "schema": {"$ref": f"#/components/schemas/{schema_name}Request"}
                }
            },
        },
        "responses": {
            "200": {
                "description": "The model's answer.",
                "content": {
                    "application/json": {
                        "schema": {"$ref": f"#/components/schemas/{schema_name}Response"}
                    }
                },
            },
            "401": {"description": "The key is missing or not valid."},
            "429": {"description": "A rate limit or budget of the key was reached."},
        },
    }
    provider = metadata.get("provider") or "an unnamed provider"
    return {
        "openapi": "3.0.3",
        "info": {
            "title": name,
            "version": version,
            "description": (
                f"{name} ({mode}): model {metadata.get('model', name)} from {provider}, "
                "served through a LiteLLM proxy's OpenAI-compatible API."
            ),
            "x-portico-model": metadata,
        },
        "servers": [{"url": base_url}],
        "security": [{"bearer": []}],
        "paths": {endpoint["path"]: {"post": operation}},
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A LiteLLM virtual key issued by the portal.",
                }
            },
            "schemas": {
                f"{schema_name}Request": endpoint["request"],
                f"{schema_name}Response": endpoint["response"],
            },
        },
    }


class LiteLLMAdapter(GatewayAdapter):
    kind = "litellm"

    def __init__(self, connection):
        super().__init__(connection)
        self.base_url = (connection.config or {}).get("base_url", "").rstrip("/")
        self.client = JsonClient(
            self.base_url,
            headers={"Authorization": f"Bearer {connection.secret()}"},
            adapter=self,
        )

    # --- reading ------------------------------------------------------------------------

    def _model_entries(self) -> dict[str, list[dict]]:
        """Every deployment the proxy routes, grouped by the model name callers use."""
        try:
            data = (self.client.get("/model/info") or {}).get("data") or []
        except GatewayError as exc:
            if exc.status not in (404, 405):
                raise
            # A proxy without /model/info still lists its models, without prices.
            data = [
                {
                    "model_name": item.get("id", ""),
                    "litellm_params": {},
                    "model_info": {
                        "litellm_provider": item.get("owned_by", ""),
                        **{k: item[k] for k in ("mode", *METADATA_FIELDS) if k in item},
                    },
                }
                for item in (self.client.get("/v1/models") or {}).get("data") or []
            ]
        grouped: dict[str, list[dict]] = {}
        for entry in data:
            name = entry.get("model_name")
            if isinstance(name, str) and name:
                grouped.setdefault(name, []).append(entry)
        return grouped

    def list_apis(self) -> list[DiscoveredApi]:
        apis = []
        for name, entries in sorted(self._model_entries().items()):
            entries = sorted(entries, key=lambda e: json.dumps(e, sort_keys=True, default=str))
            metadata = model_metadata(entries)
            fingerprint = fingerprint_of(entries)
            apis.append(
                DiscoveredApi(
                    external_id=name,
                    name=name,
                    description=(
                        f"{metadata['mode'].replace('_', ' ').capitalize()} model "
                        f"{metadata['model']} from {metadata['provider'] or 'an unnamed provider'}"
                        ", served by LiteLLM."
                    ),
                    kind="ai",
                    version=fingerprint[:8],
                    tags=[t for t in ("ai", metadata["provider"], metadata["mode"]) if t],
                    stages=[
                        DiscoveredStage(
                            name="default", fingerprint=fingerprint, invoke_url=self.base_url
                        )
                    ],
                    extra={"metadata": metadata},
                )
            )
        return apis

    def fetch_spec(self, api: DiscoveredApi, stage: DiscoveredStage) -> FetchedSpec:
        metadata = api.extra["metadata"]
        document = model_spec(
            name=api.external_id, metadata=metadata, base_url=self.base_url, version=api.version
        )
        return FetchedSpec(
            raw=json.dumps(document).encode(),
            version_label=api.version,
            base_url=self.base_url,
            refs={"model": api.external_id, "stage": stage.name},
        )

    def list_keys(self) -> list[DiscoveredKey]:
        # A proxy without a database holds no virtual keys, and answers /key/list with a 500.
        readiness = self.client.get("/health/readiness") or {}
        if readiness.get("db") == "Not connected":
            return []
        found, page = [], 1
        while True:
            answer = (
                self.client.get(
                    "/key/list", return_full_object="true", size=KEY_PAGE_SIZE, page=page
                )
                or {}
            )
            for item in answer.get("keys") or []:
                if not isinstance(item, dict):
                    continue
                token = item.get("token") or ""
                if not token:
                    continue
                found.append(
                    DiscoveredKey(
                        external_id=token,
                        name=item.get("key_alias") or item.get("key_name") or "",
                        enabled=not item.get("blocked"),
                        value_digest=token if _HASH.match(token) else "",
                    )
                )
            if page >= (answer.get("total_pages") or 1):
                return found
            page += 1

    # --- writing keys ---------------------------------------------------------------------

    def provision_key(
        self,
        *,
        name: str,
        value: str,
        plan_ids: list[str],
        models: list[str] | None = None,
        budget: float | None = None,
        budget_period: str | None = None,
        key_id: str = "",
    ) -> ProvisionedKey:
        """Create the virtual key with the portal's value and ``budget`` (USD), reset each
        ``budget_period`` (day, week or month) or, without one, for the key's lifetime.
        Safe to repeat: a key the proxy already holds (a retry after a lost answer) is
        found by its hash."""
        if key_id:
            return ProvisionedKey(external_id=key_id)
        if not value.startswith("sk-"):
            raise GatewayError("LiteLLM only accepts key values that start with 'sk-'.")
        payload = {
            "key": value,
            "key_alias": name,
            "models": list(models or []),
            "max_budget": budget,
            "budget_duration": _budget_duration(budget_period),
            "metadata": {"portico": True},
        }
        try:
            answer = self.client.post("/key/generate", payload) or {}
        except GatewayError as exc:
            if exc.status in (401, 403):
                raise
            existing = self._key_info(secret_keys.digest(value))
            if existing is None:
                raise
            return ProvisionedKey(external_id=existing, enabled=True)
        token = answer.get("token_id") or answer.get("token") or secret_keys.digest(value)
        return ProvisionedKey(external_id=token, enabled=True)

    def _key_info(self, token: str) -> str | None:
        try:
            self.client.get("/key/info", key=token)
        except GatewayError as exc:
            if exc.status in (400, 404):
                return None
            raise
        return token

    def set_key_enabled(self, *, key_id: str, enabled: bool) -> None:
        self.client.post("/key/unblock" if enabled else "/key/block", {"key": key_id})

    def set_key_budget(
        self, *, key_id: str, budget: float | None, budget_period: str | None = None
    ) -> None:
        """Give the key ``budget`` (USD) per ``budget_period``; None removes its budget.
        Setting the same values again changes nothing, so a repeat is harmless. LiteLLM
        ignores a null ``budget_duration``: a key whose budget loses its period keeps
        resetting its spend on the old one."""
        self.client.post(
            "/key/update",
            {
                "key": key_id,
                "max_budget": budget,
                "budget_duration": _budget_duration(budget_period),
            },
        )

    def revoke_key(self, *, key_id: str) -> None:
        try:
            self.client.post("/key/delete", {"keys": [key_id]})
        except GatewayError as exc:
            # Deleting a key that is gone already is what was asked for.
            if exc.status not in (400, 404) or self._key_info(key_id) is not None:
                raise
