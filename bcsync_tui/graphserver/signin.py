"""The sign-in endpoints under ``ROOT/{tenant}`` (see ``auth``): OpenID configuration, token, device code.
Answers in the identity platform's shape (``OAuthError``); faults hit them only when a rule names them."""

from __future__ import annotations

import urllib.parse
from http.server import BaseHTTPRequestHandler

from ..ewsserver.auth import _basic_pair
from .auth import parse_form
from .calls import Reply
from .errors import GraphError, OAuthError


def sign_in(app, h: BaseHTTPRequestHandler, parts: list[str], body: bytes, request_id: int) -> Reply:
    tenant, rest = parts[0], [p.lower() for p in parts[1:]]
    if rest == ["v2.0", ".well-known", "openid-configuration"] and h.command == "GET":
        op = "openidConfiguration"
    elif rest == ["oauth2", "v2.0", "token"] and h.command == "POST":
        op = "token"
    elif rest == ["oauth2", "v2.0", "devicecode"] and h.command == "POST":
        op = "deviceCode"
    else:
        raise GraphError(404, "NotFound", "The requested resource was not found.")
    app.stats.operation(op)
    app.faults_before(op, request_id)
    try:
        if not app.tokens.tenant_known(tenant):
            raise OAuthError(400, "invalid_tenant", 90002, f"Tenant '{tenant}' not found. Check to make sure "
                             "you have the correct tenant ID and are signing into the correct cloud.")
        if op == "openidConfiguration":
            return Reply(200, app.tokens.openid_configuration(app.root, tenant))
        form = parse_form(body)
        if op == "deviceCode":
            return Reply(200, app.tokens.device_code(app.root, form))
        header = h.headers.get("Authorization") or ""
        basic: tuple[str, str] | None = None
        if header[:6].lower() == "basic ":
            name, secret = _basic_pair(header[6:]) or ("", "")
            basic = (urllib.parse.unquote(name), urllib.parse.unquote(secret))
        return Reply(200, app.tokens.token(app.root, form, basic, f"{app.root}/{tenant}/oauth2/v2.0/token"), {"Cache-Control": "no-store, no-cache"})
    except OAuthError as e:
        return Reply(e.status, e.body(), {"Cache-Control": "no-store, no-cache"})
