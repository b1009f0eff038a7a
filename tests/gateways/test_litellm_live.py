"""A sync against a real LiteLLM proxy, started here offline with mock models.

Needs the ``litellm`` command (``pip install 'litellm[proxy]'``) on PATH or named
by LITELLM_BIN; without it the tests skip and say why."""

import os
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from apis.models import Api, SyncRun
from apis.services.connections import connection_create
from apis.services.sync import sync_connection
from tenants.actors import Actor

from ..emulators import free_port

pytestmark = pytest.mark.litellm

MASTER_KEY = "sk-portico-live-master-0123456789"
START_TIMEOUT = 120

MODEL = """
  - model_name: {name}
    litellm_params:
      model: {model}
      api_key: sk-fake
      mock_response: "hi"
    model_info:
      mode: {mode}
      input_cost_per_token: {input_cost}
      output_cost_per_token: {output_cost}
      max_input_tokens: {context}
      max_tokens: {context}
"""
CHAT = {
    "name": "gpt-4o-mini",
    "model": "openai/gpt-4o-mini",
    "mode": "chat",
    "input_cost": "0.00000015",
    "output_cost": "0.0000006",
    "context": 128000,
}
EMBEDDING = {
    "name": "embed-small",
    "model": "openai/text-embedding-3-small",
    "mode": "embedding",
    "input_cost": "0.00000002",
    "output_cost": "0",
    "context": 8191,
}


def litellm_command() -> str:
    command = os.environ.get("LITELLM_BIN") or shutil.which("litellm")
    if not command or not Path(command).exists():
        pytest.skip("LiteLLM is not installed: set LITELLM_BIN or put `litellm` on PATH")
    return command


def proxy_environment() -> dict[str, str]:
    """Offline (the bundled model cost map, no telemetry) and without a database: LiteLLM
    reads DATABASE_URL, which here names the portal's test database."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "DIRECT_URL")}
    return {**env, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False"}


class Proxy:
    def __init__(self, command: str, directory: Path):
        self.command = command
        self.directory = directory
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None
        self.log_path = directory / "proxy.log"
        self.log = None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    def start(self, *models: dict) -> None:
        config = self.directory / "config.yaml"
        self.log = self.log_path.open("ab")
        config.write_text(
            "model_list:"
            + "".join(MODEL.format(**m) for m in models)
            + f"general_settings:\n  master_key: {MASTER_KEY}\n"
        )
        self.process = subprocess.Popen(
            [
                self.command,
                "--config",
                str(config),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=self.directory,
            env=proxy_environment(),
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the LiteLLM proxy exited on start:\n{self.output()}")
            try:
                urllib.request.urlopen(f"{self.url}/health/readiness", timeout=1)
                return
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"the LiteLLM proxy did not answer within {START_TIMEOUT} s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None


@pytest.fixture
def proxy(tmp_path):
    server = Proxy(litellm_command(), tmp_path)
    yield server
    server.stop()


def test_sync_brings_the_models_of_a_real_proxy(proxy, cast):
    proxy.start(CHAT, EMBEDDING)
    connection = connection_create(
        organisation=cast.org,
        team=cast.team,
        name="live proxy",
        kind="litellm",
        config={"base_url": proxy.url},
        secret=MASTER_KEY,
        actor=Actor.for_user(cast.owner),
    )

    run = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)

    assert run.status == SyncRun.Status.SUCCEEDED, run.errors
    assert run.new == 2
    chat = Api.objects.get(connection=connection, external_id="gpt-4o-mini")
    assert chat.kind == Api.Kind.AI
    assert [(o.method, o.path) for o in chat.current_version.operations.all()] == [
        ("post", "/v1/chat/completions")
    ]
    metadata = chat.current_version.spec.document["info"]["x-portico-model"]
    assert metadata["provider"] == "openai"
    assert metadata["input_cost_per_token"] == pytest.approx(1.5e-07)
    assert metadata["context_tokens"] == 128000
    embed = Api.objects.get(connection=connection, external_id="embed-small")
    assert [(o.method, o.path) for o in embed.current_version.operations.all()] == [
        ("post", "/v1/embeddings")
    ]

    again = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)
    assert (again.new, again.changed, again.unchanged) == (0, 0, 2)
    assert again.calls == run.calls

    proxy.stop()
    proxy.start({**CHAT, "input_cost": "0.0000002"})
    changed = sync_connection(connection=connection, trigger=SyncRun.Trigger.COMMAND)

    assert (changed.changed, changed.missing) == (1, 1), changed.errors
    assert chat.versions.count() == 2
    embed.refresh_from_db()
    assert embed.missing_since is not None
