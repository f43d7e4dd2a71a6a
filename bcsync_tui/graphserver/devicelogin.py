"""``ROOT/devicelogin``: the page a device-code message sends people to (Microsoft's is
https://microsoft.com/devicelogin). Enter the code and pick the user to sign in as; submitting approves
the code, as signing in there does."""

from __future__ import annotations

import html

from .auth import TokenService, parse_form
from .calls import Reply

_PAGE = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>Enter code</title></head><body>
<h1>Enter code</h1><p>{message}</p>
<form method="post" action="devicelogin">
<label>Code <input name="user_code" autofocus autocomplete="off"></label>
<label>Sign in as <select name="user">{options}</select></label>
<button type="submit">Next</button></form></body></html>"""


def device_login(tokens: TokenService, method: str, body: bytes) -> Reply:
    message = "Enter the code displayed on your app or device."
    if method == "POST":
        form = parse_form(body)
        code, user = form.get("user_code", "").strip().replace("-", ""), form.get("user", "")
        try:
            approved = tokens.approve(code, user, timeout=0) if code else 0
        except KeyError:
            approved = 0
        if approved:
            return Reply(200, html="<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Signed in</title>"
                         "</head><body><h1>You have signed in</h1><p>You can close this window and return to "
                         "the application.</p></body></html>")
        message = "That code was not recognised or has expired. Check the code and try again."
    options = "".join(f"<option>{html.escape(u)}</option>" for u in tokens.users.values())
    return Reply(200 if method == "GET" else 400, html=_PAGE.format(message=html.escape(message), options=options))
