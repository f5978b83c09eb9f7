"""The container images and the compose file.

The CPU image (Dockerfile, built by `make image`) runs under podman and answers a question
with the packaged model inside the container; it is too slow to build in every test run,
so these tests skip, saying how to build it, where podman or the image is missing.
compose.yaml is checked by podman-compose (a dev dependency) without any engine."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
import yaml

from tutor.fallback import NOTICE

ROOT = Path(__file__).resolve().parents[1]
IMAGE = os.environ.get("TUTOR_TEST_IMAGE", "roadmap-tutor")
GPU_IMAGE = f"{IMAGE}-gpu"
READY_SECONDS = 600  # the model and the index load on a 2-core machine shared with others


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
    # The project's containers.conf (runc, cgroupfs, no ulimits) unless the caller has one.
    env = {"CONTAINERS_CONF": str(ROOT / "deploy" / "containers.conf"), **os.environ}
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check,
                          timeout=timeout, env=env)


def image_or_skip(image: str, target: str) -> None:
    """Skip unless podman has the image, built by this checkout's recipe (`make image-sources`:
    a digest of the Dockerfile, Makefile, ... is the image's label; the tutor's code may be older)."""
    if shutil.which("podman") is None:
        pytest.skip("podman is not installed (apt-get install podman runc; README, Containers)")
    if podman("image", "exists", image, check=False).returncode != 0:
        pytest.skip(f"the image {image} is not built: run `make {target}` (README, Containers)")
    label = podman("image", "inspect", "-f", '{{index .Labels "org.roadmap-tutor.sources"}}', image).stdout.strip()
    here = subprocess.run(["make", "-s", "image-sources"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    if label != here:
        pytest.skip(f"the image {image} was built by another recipe ({label}, this checkout's is {here}): "
                    f"run `make {target}`")


class Container:
    """One detached container with its port 8000 published on a free loopback port."""

    def __init__(self, image: str, *run_args: str):
        self.name = f"tutor-test-{uuid.uuid4().hex[:8]}"
        # --no-healthcheck: podman runs HEALTHCHECK through systemd timers, absent here
        podman("run", "-d", "--rm", "--no-healthcheck", "--name", self.name, "-p", "127.0.0.1::8000",
               *run_args, image)
        port = podman("port", self.name, "8000").stdout.strip().rsplit(":", 1)[1]
        self.url = f"http://127.0.0.1:{port}"

    def logs(self) -> str:
        done = podman("logs", self.name, check=False)
        return (done.stdout + done.stderr)[-4000:]

    def running(self) -> bool:
        done = podman("inspect", "-f", "{{.State.Running}}", self.name, check=False)
        return done.stdout.strip() == "true"

    def wait_ready(self) -> dict:
        deadline = time.monotonic() + READY_SECONDS
        while time.monotonic() < deadline:
            if not self.running():
                pytest.fail(f"the container stopped before it was ready:\n{self.logs()}")
            try:
                response = httpx.get(f"{self.url}/readyz", timeout=5)
                if response.status_code == 200:
                    return response.json()
            except httpx.TransportError:
                pass  # uvicorn is not listening yet
            time.sleep(2)
        pytest.fail(f"/readyz did not answer 200 within {READY_SECONDS} s:\n{self.logs()}")

    def stop(self) -> None:
        podman("rm", "-f", "-t", "5", self.name, check=False)


@pytest.fixture
def cpu_container():
    image_or_skip(IMAGE, "image")
    container = Container(IMAGE)
    yield container
    container.stop()


@pytest.mark.container
@pytest.mark.model
def test_the_cpu_image_answers_with_the_packaged_model(cpu_container):
    ready = cpu_container.wait_ready()
    assert ready["ready"] and ready["chunks"] > 100, ready  # the index built into the image

    response = httpx.post(f"{cpu_container.url}/api/chat", timeout=300,
                          json={"message": "What is the key idea of ResNet?", "stream": False})
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["backend"] == "llamacpp" and not answer["refused"], answer
    assert answer["citations"], answer
    assert any(f"[{c['n']}]" in answer["answer"] for c in answer["citations"]), answer["answer"]
    assert "residual" in answer["answer"].lower() or "skip" in answer["answer"].lower(), answer["answer"]

    # The same container turns bad input into a 4xx with a message, as outside one.
    bad = httpx.post(f"{cpu_container.url}/api/chat", json={"message": ""}, timeout=30)
    assert 400 <= bad.status_code < 500 and bad.json(), bad.text


@pytest.mark.container
def test_the_gpu_variant_is_the_cpu_image_pointed_at_vllm():
    """What can be checked without a GPU: the variant's tutor is configured for the vllm
    service, and without that server it answers from retrieval, naming the server it could
    not reach (no stack trace): a model server down at start-up leaves the tutor degraded, not dead."""
    image_or_skip(GPU_IMAGE, "image-gpu")
    env = podman("run", "--rm", "--no-healthcheck", GPU_IMAGE, "env").stdout
    assert "TUTOR_LLM_BACKEND=openai" in env and "TUTOR_OPENAI_BASE_URL=http://vllm:8000/v1" in env
    done = podman("run", "--rm", "--no-healthcheck", "--network", "none", GPU_IMAGE,
                  "tutor", "ask", "What is ResNet?", check=False, timeout=300)
    assert done.returncode == 0 and done.stdout.startswith(NOTICE), done.stdout[:500] + done.stderr[-2000:]
    assert "cannot reach http://vllm:8000" in done.stderr and "Traceback" not in done.stderr, done.stderr[-2000:]


def compose_config(**env: str) -> subprocess.CompletedProcess:
    tool = Path(sys.executable).parent / "podman-compose"
    if not tool.exists():
        pytest.skip("podman-compose is not installed: run `make setup` (a dev dependency)")
    # --dry-run: no podman is needed to read and resolve the file.
    base = {k: v for k, v in os.environ.items() if k not in {"POSTGRES_PASSWORD", "TUTOR_MODEL"}}
    return subprocess.run([str(tool), "--dry-run", "-f", str(ROOT / "compose.yaml"), "config"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT, env={**base, **env})


def test_compose_file_resolves_to_the_documented_stack():
    done = compose_config(POSTGRES_PASSWORD="secret")
    assert done.returncode == 0, done.stderr
    services = yaml.safe_load(done.stdout)["services"]
    assert set(services) == {"postgres", "migrate", "vllm", "api", "proxy", "discord"}

    api = services["api"]
    assert api["deploy"]["replicas"] == 2 and api["image"] == GPU_IMAGE
    assert api["environment"]["TUTOR_DATABASE_URL"].startswith("postgresql+psycopg://tutor:secret@postgres:")
    assert api["environment"]["TUTOR_OPENAI_BASE_URL"] == "http://vllm:8000/v1"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["migrate"]["command"] == ["tutor", "db", "upgrade"]
    # the tutor asks vLLM for the model vLLM serves
    assert services["vllm"]["command"][services["vllm"]["command"].index("--served-model-name") + 1] \
        == api["environment"]["TUTOR_OPENAI_MODEL"]
    assert services["discord"]["environment"]["TUTOR_DISCORD_API_URL"] == "http://proxy"

    # the proxy's configuration is the file in deploy/, and it sends traffic to the api service
    mount = next(v for v in services["proxy"]["volumes"] if "nginx" in v)
    source = (ROOT / mount.split(":")[0]).resolve()
    assert source == ROOT / "deploy" / "nginx.conf"
    assert "server api:8000;" in source.read_text()


def test_compose_without_a_database_password_names_the_variable():
    done = compose_config()
    assert done.returncode != 0
    assert "POSTGRES_PASSWORD" in done.stderr
