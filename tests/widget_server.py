"""Loopback servers for the browser tests: the real app under uvicorn on a thread, and a
separate static "host site" on another port (another origin), so the widget is embedded
the way a third-party site embeds it and every API call is a real cross-origin request."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import uvicorn
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Template


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve_app(app, timeout: float = 30.0) -> Iterator[str]:
    """Run `app` on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on", timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            server.should_exit = True
            raise RuntimeError(f"the app did not answer /healthz on {base} within {timeout}s")
        time.sleep(0.05)
    try:
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_pages(pages: dict[str, str]) -> Iterator[str]:
    """Serve fixed HTML pages ({"/path": html}) on a free loopback port; yields the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's naming)
            body = pages.get(self.path.split("?")[0])
            if body is None:
                self.send_error(404)
                return
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):  # keep test output quiet
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=httpd.serve_forever, name="host-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


HOSTILE = Path(__file__).parent / "fixtures" / "hostile_host.html.j2"


def hostile_page(base_url: str) -> str:
    """The old demo page, kept as a fixture: a host site with deliberately hostile CSS (red
    30px text, hidden buttons, forced-visible dialogs) that embeds the widget from `base_url`."""
    return Template(HOSTILE.read_text(encoding="utf-8"), autoescape=True).render(base_url=base_url)


def add_hostile_route(app) -> None:
    """Serve hostile_page at /hostile on the app itself (same origin as the API)."""
    @app.get("/hostile", include_in_schema=False)
    def hostile(request: Request) -> HTMLResponse:
        return HTMLResponse(hostile_page(str(request.base_url).rstrip("/")))


def host_page(script_tag: str, title: str = "Another site") -> str:
    """A third-party page with hostile CSS that embeds the widget with `script_tag`."""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>* {{ color: red !important; font-size: 30px }} button {{ display: none }}</style></head>
<body><h1>{title}</h1><p>Some article text.</p>{script_tag}</body></html>"""
