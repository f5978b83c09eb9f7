"""HTTP request and response bodies (pydantic lives at the edges)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

# Hard caps in the schema (422 naming the field), whatever the settings say: no field may
# carry more than a question's worth of text into the service. The body as a whole is capped
# before parsing (TUTOR_MAX_BODY_BYTES, 413).
MAX_MESSAGE_CHARS = 20_000
MAX_ID_CHARS = 128
MAX_TURNS = 100


class ChatRequest(BaseModel):
    message: str = Field(max_length=MAX_MESSAGE_CHARS, description=(
        f"the learner's message (at most {MAX_MESSAGE_CHARS} characters here; the service's own limit, "
        "TUTOR_MAX_QUESTION_CHARS, answers 413 below that)"))
    conversation_id: str | None = Field(None, min_length=1, max_length=MAX_ID_CHARS, description="continue this conversation")
    learner_id: str | None = Field(None, min_length=1, max_length=MAX_ID_CHARS)
    stage: int | None = Field(None, ge=1, le=4, description="only use material of this stage")
    stream: bool = Field(True, description="Server-Sent Events when true, one JSON object when false")
    quiz_item_id: str | None = Field(None, min_length=1, max_length=MAX_ID_CHARS, description="quiz mode: hints for this open quiz item, never its answer")


class CitationOut(BaseModel):
    n: int
    chunk_id: str
    title: str
    source: str
    stage: int | None


class ChatResponse(BaseModel):
    answer: str
    citations: list[CitationOut]
    refused: bool
    withdrawn: bool = Field(False, description="less than half of the draft was supported: the answer says so instead")
    held_back: list[str] = Field([], description="draft sentences left out because the sources do not support them")
    support: float
    backend: str
    timings: dict
    conversation_id: str
    message_id: str


class FeedbackRequest(BaseModel):
    message_id: str = Field(max_length=MAX_ID_CHARS)
    rating: Literal["up", "down"]
    comment: str | None = Field(None, max_length=2000)


class MessageOut(BaseModel):
    id: str
    role: str
    content: str
    status: str
    citations: list[CitationOut]


class ConversationOut(BaseModel):
    id: str
    messages: list[MessageOut]


class OpenAIMessage(BaseModel):
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: Annotated[str, Field(max_length=MAX_MESSAGE_CHARS)] | Annotated[list, Field(max_length=MAX_TURNS)] | None = (
        Field(None, description="text, or a list of parts"))


class OpenAIChatRequest(BaseModel):
    model: str = Field("roadmap-tutor", max_length=MAX_ID_CHARS)
    messages: list[OpenAIMessage] = Field(min_length=1, max_length=MAX_TURNS)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    model_config = {"extra": "allow"}  # OpenAI clients send many optional fields
