"""Which browser origins may call the API (the widget on other sites), checked once for the
settings and again when the app starts (settings built by `model_copy` skip validation).

The default is no cross-origin access at all: the demo page and the widget on it share the
service's origin, which needs no CORS. A site that embeds the widget is named in
TUTOR_CORS_ORIGINS. A wildcard is allowed (any site may embed it) but never together with
credentials: `*` plus cookies would let every site on the web act as a signed-in learner.
"""

from __future__ import annotations

import re

from tutor.errors import ConfigError

# scheme://host[:port], no path: a browser's Origin header never has a path or a slash.
_ORIGIN = re.compile(r"^https?://(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$")


def check_origins(origins: list[str]) -> list[str]:
    """The origins as given, or ValueError naming the first one a browser would never send."""
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise ValueError(f"TUTOR_CORS_ORIGINS: {origin!r} is not an origin; write scheme://host[:port] "
                             "with no path or trailing slash, e.g. https://www.example.org")
    return origins


def check_cors(settings) -> None:
    """ValueError when a wildcard origin is combined with credentials."""
    if settings.cors_allow_credentials and "*" in settings.cors_origins:
        raise ValueError("TUTOR_CORS_ORIGINS contains \"*\" while TUTOR_CORS_ALLOW_CREDENTIALS is true: "
                         "list the sites that embed the widget instead, or turn credentials off")
    if settings.cors_origin_regex:
        try:
            re.compile(settings.cors_origin_regex)
        except re.error as exc:
            raise ValueError(f"TUTOR_CORS_ORIGIN_REGEX is not a regular expression: {exc}") from None


def cors_options(settings) -> dict:
    """Keyword arguments of Starlette's CORSMiddleware, or ConfigError at start-up."""
    try:
        check_origins(settings.cors_origins)
        check_cors(settings)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return {"allow_origins": settings.cors_origins, "allow_origin_regex": settings.cors_origin_regex,
            "allow_credentials": settings.cors_allow_credentials, "allow_methods": ["GET", "POST", "PUT", "DELETE"],
            "allow_headers": ["Content-Type", "Authorization"], "expose_headers": ["Retry-After"], "max_age": 600}
