"""Settings: one pydantic-settings class read from TUTOR_* variables, built by
`load_settings()` and passed explicitly (no module-level instance, so tests build their own)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("llamacpp", "hf", "openai", "vllm", "fake")
EMBED_BACKENDS = ("onnx", "torch")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TUTOR_", extra="ignore")

    # Where things live
    corpus_dir: Path = Field(REPO_ROOT / "corpus", description="the shipped roadmap material")
    prompts_dir: Path = Field(REPO_ROOT / "prompts", description="Jinja2 prompt templates")
    index_dir: Path = Field(REPO_ROOT / "var" / "index", description="versioned index directory")
    database_url: str = Field(
        f"sqlite:///{REPO_ROOT / 'var' / 'tutor.db'}", description="any SQLAlchemy URL"
    )
    model_cache: Path = Field(
        Path.home() / ".cache" / "roadmap-tutor", description="where the default GGUF is assembled and the int8 ONNX embedder is built"
    )

    # LLM
    llm_backend: str = Field("llamacpp", description=f"one of {', '.join(BACKENDS)}")
    model_path: Path | None = Field(None, description="GGUF file (llamacpp/hf); default: packaged")
    openai_base_url: str = Field("http://127.0.0.1:8000/v1", description="for the openai backend")
    openai_api_key: str = Field("not-needed", description="for the openai backend")
    openai_model: str = Field("default", description="model name sent to the openai backend")
    openai_connect_timeout: float = Field(
        1.0, gt=0, description="seconds one attempt may take to connect to the openai server (within the budget)")
    openai_connect_budget: float = Field(
        1.2, gt=0, description="seconds all attempts of one request may spend connecting, backoff included; "
        "once spent, no attempt starts and the answer comes from retrieval only")
    openai_read_timeout: float = Field(
        60.0, gt=0, description="seconds the openai server may stay silent (between two pieces of a stream)")
    openai_retries: int = Field(
        2, ge=0, le=10, description="retries with backoff before the first token (never after it)")
    openai_check_schema: bool = Field(
        True, description="at start-up, check that the openai server enforces response_format json_schema")
    llm_breaker_failures: int = Field(
        3, ge=1, description="openai backend: consecutive failures that open the circuit breaker (tutor/llm/breaker.py)")
    llm_breaker_cooldown: float = Field(
        30.0, gt=0, description="seconds the open breaker fails fast (retrieval-only answers) before one trial call")
    llm_threads: int = Field(2, ge=1, description="llama.cpp / torch threads for the LLM")
    embed_threads: int = Field(1, ge=1, description="onnxruntime / torch threads for query embedding")
    embed_backend: str = Field(
        "onnx", description="embedder runtime: onnx (int8 onnxruntime, the fast default; falls back "
        "to torch with a warning when `python -m tutor.embedder_build` has not built it) or torch"
    )
    n_ctx: int = Field(8192, ge=1024, description="LLM context window, shared by the slots (llamacpp)")
    llm_parallel: int = Field(4, ge=1, le=16, description="llama.cpp slots: requests decoded together (llamacpp)")
    max_answer_tokens: int = Field(220, ge=16, description="cap on generated answer tokens")
    temperature: float = Field(0.0, ge=0.0, le=2.0)

    # Retrieval and answering
    top_k: int = Field(4, ge=1, le=50, description="chunks retrieved per question")
    refusal_threshold: float | None = Field(
        None, description="override the calibrated retrieval-support gate (cosine)"
    )
    context_tokens: int = Field(
        200, ge=30, description="budget of source text in the answer prompt, in tokens (headings included)")
    hold_back_unsupported: bool = Field(
        True, description="cut the answer sentences the support scorer finds unsupported by the "
        "sources (the streamed draft is replaced at the end)"
    )
    max_question_chars: int = Field(2000, ge=10, description="longer questions are rejected")
    index_poll_seconds: float = Field(
        10.0, ge=0, description="how often a running service looks for a newer index version (written by "
        "`tutor ingest` or another replica's re-index) and serves it; 0: only the version it started with")

    # Service
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    cors_origins: list[str] = Field(
        [], description="origins allowed to call the API from a browser (sites embedding the widget), as a JSON "
        "list of scheme://host[:port]; empty: only the service's own origin (the demo page); [\"*\"]: any site")
    cors_origin_regex: str | None = Field(
        None, description="also allow origins matching this regular expression (for example previews)")
    cors_allow_credentials: bool = Field(
        False, description="let browsers send cookies to the API; refused together with a wildcard origin")
    admin_key: str | None = Field(
        None, description="bearer key of the operator dashboard (/admin) and its JSON (/admin/api/...); "
        "unset: the admin surface is off (404)"
    )

    # Hardening (tutor/api/limits.py, tutor/api/security.py, tutor/ratelimit.py; see SECURITY.md)
    trusted_proxies: list[str] = Field(
        [], description="addresses or networks (CIDR) of reverse proxies whose X-Forwarded-For is believed; "
        "from any other peer the header is ignored")
    max_body_bytes: int = Field(
        131072, ge=1024, description="largest request body accepted (413 beyond), checked before any work")
    rate_limit_per_learner: int = Field(
        10, ge=0, description="questions one learner id may ask per window (0: no limit)")
    rate_limit_per_address: int = Field(
        30, ge=0, description="questions one client address may ask per window (0: no limit)")
    rate_limit_global: int = Field(
        1200, ge=0, description="questions the whole service (all replicas) takes per window (0: no limit)")
    rate_limit_window_seconds: int = Field(
        60, ge=1, le=86400, description="length of the rate-limit window (a sliding window over two counters)")
    generation_slots: int = Field(
        4, ge=1, description="answers generated at once in one process (match TUTOR_LLM_PARALLEL, llama.cpp's slots)")
    generation_queue: int = Field(
        8, ge=0, description="answers that may wait for a slot; beyond that 503 with Retry-After at once")
    generation_seconds: float = Field(
        120.0, gt=0, description="wall-clock limit of one generation; the stream then ends with an error event")
    fake_delay: float = Field(
        0.0, ge=0, le=10, description="seconds the fake backend waits per piece (load benchmarks of a model that takes time)")

    # Discord bridge (tutor/discord/ is the bot; tutor/api/bridge.py its side of the service)
    service_key: str | None = Field(
        None, description="bearer key the Discord bot sends; unset turns the /api/bridge routes off")
    link_code_seconds: int = Field(600, ge=60, le=86400, description="lifetime of a /link code")
    discord_token: str | None = Field(None, description="the bot's token (DISCORD_TOKEN also works)")
    discord_api_url: str = Field("http://127.0.0.1:8000", description="the tutor service the bot talks to")
    discord_guilds: list[int] = Field([], description="guild ids to sync slash commands to (empty: global)")
    discord_rate_per_minute: int = Field(6, ge=1, description="questions one Discord user may ask per minute")
    discord_timeout: float = Field(60.0, gt=0, description="seconds the bot waits for the service")
    discord_reminder_poll_seconds: float = Field(900.0, gt=0, description="how often the bot asks who is due")

    # Privacy (tutor/privacy.py, tutor/redact.py; see SECURITY.md)
    retention_days: int | None = Field(
        None, ge=1, description="delete conversations idle longer than this many days, with their messages, "
        "feedback and hints (at start-up, then every retention_check_seconds; `tutor db purge`); unset: keep")
    retention_check_seconds: float = Field(3600.0, gt=0, description="how often the service applies retention_days")
    redact: bool = Field(
        False, description="replace e-mail addresses, phone numbers and card numbers with [email], [phone], "
        "[card] in stored messages and feedback (the answer in flight still reads the original)")

    @field_validator("llm_backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        return _one_of(value, BACKENDS, "backend")

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        from tutor.cors import check_origins  # one rule for settings and start-up

        return check_origins(value)

    @model_validator(mode="after")
    def _no_wildcard_with_credentials(self):
        from tutor.cors import check_cors

        check_cors(self)
        return self

    @field_validator("embed_backend")
    @classmethod
    def _known_embed_backend(cls, value: str) -> str:
        return _one_of(value, EMBED_BACKENDS, "embed backend")


def _one_of(value: str, allowed: tuple[str, ...], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; choose one of {', '.join(allowed)}")
    return value


def load_settings(**overrides) -> Settings:
    """Settings from the environment, with explicit overrides (CLI options) on top."""
    from pydantic import ValidationError

    from tutor.errors import ConfigError

    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ConfigError(f"invalid settings: {problems}") from None

