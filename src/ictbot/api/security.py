"""Bearer-token guard of the control endpoints. Reads are open (the API listens on loopback by default); anything
that changes what the bot does needs the token from ``ICTBOT_API__TOKEN``, compared in constant time."""

from __future__ import annotations

import logging
import secrets

from fastapi import HTTPException, Request, status

from ictbot.runtime.engine import Engine

log = logging.getLogger("ictbot.api")


def control_source(request: Request) -> str:
    """Who acted, as recorded with the control action."""
    client = request.client
    return f"api:{client.host}" if client else "api"


def control_access(request: Request) -> str:
    """How the request's bearer token stands with the control endpoints, without refusing anything: ``accepted``,
    ``missing``, ``wrong`` or ``disabled`` (the bot has no token). ``ictbot status`` reports it, so an operator learns
    before an emergency whether the kill switch is in reach."""
    expected = request.app.state.engine.control_token
    if expected is None or not expected.get_secret_value():
        return "disabled"
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return "missing"
    return (
        "accepted" if secrets.compare_digest(given.strip().encode(), expected.get_secret_value().encode()) else "wrong"
    )


def require_token(request: Request) -> str:
    """FastAPI dependency: the caller's source once its token matches; 401 without a bearer token, 403 when wrong
    or when no token is configured (control disabled)."""
    engine: Engine = request.app.state.engine
    expected = engine.control_token
    source = control_source(request)
    if expected is None or not expected.get_secret_value():
        log.warning("control request from %s refused: no API token configured", source)
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "control is disabled: no API token is configured; set ICTBOT_API__TOKEN (environment or .env) and restart",
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        log.warning("control request from %s refused: no bearer token", source)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "control needs the header `Authorization: Bearer <token>` (the value of ICTBOT_API__TOKEN)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not secrets.compare_digest(given.strip().encode(), expected.get_secret_value().encode()):
        log.warning("control request from %s refused: wrong token", source)
        raise HTTPException(status.HTTP_403_FORBIDDEN, "wrong API token")
    return source
