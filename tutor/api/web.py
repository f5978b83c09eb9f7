"""The embeddable chat widget (GET /widget.js) and a demo host page (GET /) that embeds it
with the same one script tag a site owner writes.

The widget is a static file served with `Access-Control-Allow-Origin: *` so any site can
load it, and a short cache lifetime so a new version reaches every site within minutes.
Both files live in web/ at the repository root (no build step).
"""

from __future__ import annotations

from functools import lru_cache

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from tutor.config import REPO_ROOT

WEB_DIR = REPO_ROOT / "web"
WIDGET_HEADERS = {
    "Cache-Control": "public, max-age=300",
    "Access-Control-Allow-Origin": "*",
    "X-Content-Type-Options": "nosniff",
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


@router.get("/", summary="Demo page: a host site that embeds the widget", response_class=HTMLResponse)
def demo_page(request: Request) -> HTMLResponse:
    base_url = str(request.base_url).rstrip("/")  # honours root_path behind a proxy
    html = _templates().get_template("demo.html.j2").render(base_url=base_url)
    return HTMLResponse(html)
