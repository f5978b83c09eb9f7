"""HTTP request and response bodies (pydantic lives at the edges)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ChatRequest(BaseModel):
    message: str = Field(description="the learner's message")
    conversation_id: str | None = Field(None, description="continue this conversation")
    learner_id: str | None = None
    stage: int | None = Field(None, ge=1, le=4, description="only use material of this stage")
    stream: bool = Field(True, description="Server-Sent Events when true, one JSON object when false")
    quiz_item_id: str | None = Field(None, description="quiz mode: hints for this open quiz item, never its answer")


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
    message_id: str
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
    content: str | list | None = None


class OpenAIChatRequest(BaseModel):
    model: str = "roadmap-tutor"
    messages: list[OpenAIMessage] = Field(min_length=1)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    model_config = {"extra": "allow"}  # OpenAI clients send many optional fields
