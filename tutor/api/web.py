"""The embeddable chat widget (GET /widget.js) and a demo course site (GET /) that embeds it
with the same one script tag a site owner writes.

The widget is a static file served with `Access-Control-Allow-Origin: *` so any site can
load it, and a short cache lifetime so a new version reaches every site within minutes.
The demo page introduces the roadmap (stages, weeks, milestones, concepts from
corpus/roadmap.yaml) and how to embed the widget. It is served with a strict
Content-Security-Policy: scripts only from this origin, and its one <style> block allowed
by hash, so the widget is shown working on a page that allows no inline script or style.
All files live in web/ at the repository root (no build step).
"""

from __future__ import annotations

import base64
import hashlib
import re
from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tutor.api.deps import State
from tutor.config import REPO_ROOT
from tutor.roadmap import Roadmap

WEB_DIR = REPO_ROOT / "web"
WIDGET_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
    "Cross-Origin-Resource-Policy": "cross-origin",  # a script other sites load, on purpose
}
# The demo page itself is never framed (frame-ancestors 'none' in its CSP; X-Frame-Options
# for older browsers), opens no window that could reach back into it, and asks for no
# device features. The widget stays embeddable: it is a script tag, not a frame.
DEMO_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}

router = APIRouter(tags=["widget"])


@lru_cache(maxsize=1)
def _templates() -> Environment:
    return Environment(loader=FileSystemLoader(WEB_DIR), autoescape=True, undefined=StrictUndefined)


@router.get("/widget.js", summary="The embeddable chat widget (one script tag, any site)",
            response_class=FileResponse)
def widget_js() -> FileResponse:
    return FileResponse(WEB_DIR / "widget.js", media_type="application/javascript; charset=utf-8",
                        headers=WIDGET_HEADERS)


def _first_sentences(text: str, limit: int = 260) -> str:
    """The opening sentences of a stage's goal that fit in `limit` characters."""
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    out = sentences[0]
    for sentence in sentences[1:]:
        if len(out) + 1 + len(sentence) > limit:
            break
        out += " " + sentence
    return out


def _stages(roadmap: Roadmap) -> list[dict]:
    return [{"id": s.id, "title": s.title, "weeks": s.weeks, "intro": _first_sentences(s.goal),
             "milestone": s.milestone, "concepts": [c.name for c in roadmap.concepts if c.stage == s.id]}
            for s in roadmap.stages]


def _csp(style: str) -> str:
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return ("default-src 'none'; script-src 'self'; connect-src 'self'; img-src 'self' data:; "
            f"style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


@router.get("/", summary="Demo course site: introduces the roadmap and embeds the widget", response_class=HTMLResponse)
def demo_page(request: Request, state: State) -> HTMLResponse:
    base_url = str(request.base_url).rstrip("/")  # honours root_path behind a proxy
    style = (WEB_DIR / "demo.css").read_text(encoding="utf-8")
    html = _templates().get_template("demo.html.j2").render(
        base_url=base_url, style=style, info=state.roadmap.roadmap, stages=_stages(state.roadmap),
        concept_count=len(state.roadmap.concepts))
    return HTMLResponse(html, headers={"Content-Security-Policy": _csp(style), **DEMO_HEADERS})
