"""Plain HTTP to Microsoft Graph: deadlines, throttling, token refresh, ``$batch``, at most four
requests in flight per mailbox.

Rules kept here (GRAPH.md, Microsoft's throttling and JSON batching documentation):
every request names ``Prefer: IdType="ImmutableId"`` (sub-requests of a batch too: the batch's own
headers do not reach them); 429 (and 503) with ``Retry-After`` is waited out within the run's cap,
for the whole batch or for the sub-requests that got it; a 401 refreshes the token once; a write
whose answer is lost is UNKNOWN, never sent again blindly.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import orjson
import requests

from ..profiles import Profile
from . import events as ev
from .graph_auth import SIGN_IN_AGAIN, GraphAuth
from .transport import TransportStats

IMMUTABLE = 'IdType="ImmutableId"'
BATCH_MAX = 20  # Graph's limit of requests per $batch
IN_FLIGHT = 4  # Outlook's limit of concurrent requests per app and mailbox
BACKOFF_CAP = 60.0  # our own back-off when the server names no wait
MAX_SERVER_WAIT = 300.0  # a Retry-After beyond this is capped


class Unanswered(Exception):
    """The request may have reached the server, but no answer came (timeout, dropped connection)."""


@dataclass
class Answer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    #: the access token the request carried (a 401 renews that one token, once)
    token: str = field(default="", repr=False, compare=False)

    @property
    def error_code(self) -> str:
        error = self.body.get("error")
        return str(error.get("code", "")) if isinstance(error, dict) else ""

    @property
    def error_message(self) -> str:
        error = self.body.get("error")
        return str(error.get("message", "")) if isinstance(error, dict) else ""

    @property
    def words(self) -> str:
        """The server's own words, for a person: "ErrorItemNotFound: The item was not found"."""
        return ": ".join(x for x in (self.error_code, self.error_message) if x) or f"HTTP {self.status}"

    def retry_after(self) -> float | None:
        for key, value in self.headers.items():
            if key.lower() == "retry-after":
                try:
                    return min(MAX_SERVER_WAIT, max(0.0, float(value)))
                except ValueError:
                    return None
        return None


@dataclass(slots=True)
class Sub:
    """One request inside a ``$batch``: a method and a URL relative to the Graph root."""

    method: str
    url: str
    body: dict[str, Any] | None = None
    headers: dict[str, str] | None = None  # besides Prefer: IdType="ImmutableId", which every one names
    write: bool = False


def _answer(response: requests.Response, token: str) -> Answer:
    """The answer's status, JSON body (orjson: a $batch answer holds 20 whole contacts; what it
    cannot read, requests' decoder tries with the charset the server named) and headers."""
    body: Any = {}
    if response.content:
        try:
            body = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            try:
                body = response.json()
            except (ValueError, RecursionError):
                body = {}
    return Answer(response.status_code, body if isinstance(body, dict) else {}, dict(response.headers), token)


class GraphClient:
    def __init__(self, profile: Profile, auth: GraphAuth, session: requests.Session, stats: TransportStats, *,
                 timeout: float, max_retry_seconds: float):
        self.profile, self.auth, self.session, self.stats = profile, auth, session, stats
        self.timeout, self.max_retry_seconds = timeout, max_retry_seconds
        self.root = profile.graph_root
        self.on_throttle: Callable[[float], None] | None = None
        #: the profile's requests in flight, never above Outlook's limit per app and mailbox
        self.in_flight = max(1, min(IN_FLIGHT, int(profile.in_flight or IN_FLIGHT)))
        self._slots = threading.BoundedSemaphore(self.in_flight)
        self._stats_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        self.session.close()

    # --- errors for people ---------------------------------------------------------------------

    @property
    def mailbox(self) -> str:
        return self.profile.email or self.profile.name

    def problem(self, answer: Answer) -> ev.ConnectionProblem:
        code = answer.error_code
        if answer.status == 401:
            return ev.ConnectionProblem(f"Microsoft Graph did not accept the sign-in for {self.mailbox} ({answer.words}). "
                                        + SIGN_IN_AGAIN.format(email=self.profile.email))
        if answer.status == 403:
            if self.profile.graph_auth == "client_credentials":
                return ev.ConnectionProblem(
                    f"The application has no permission on the mailbox {self.mailbox} ({answer.words}). Ask your Microsoft "
                    "365 administrator for the application permission Contacts.ReadWrite with admin consent and, "
                    "where Exchange RBAC for Applications scopes the app, a role assignment that includes this "
                    "mailbox (see docs/graph.md).")
            return ev.ConnectionProblem(f"{self.mailbox} may not use the contacts of this mailbox ({answer.words}). "
                                        "The sign-in needs Contacts.ReadWrite; ask your administrator.")
        if answer.status == 404 and code in ("ErrorInvalidUser", "MailboxNotEnabledForRESTAPI", "ResourceNotFound",
                                             "ErrorNonExistentMailbox", "Request_ResourceNotFound"):
            return ev.ConnectionProblem(f"No Exchange Online mailbox was found for {self.mailbox} ({answer.words}). "
                                        "Check the e-mail address and that the user has an Exchange Online licence.")
        return ev.ConnectionProblem(f"Microsoft Graph refused a request for {self.mailbox}: {answer.words}")

    def _unreachable(self, exc: Exception) -> ev.ConnectionProblem:
        host = urlparse(self.root).hostname
        if isinstance(exc, requests.exceptions.SSLError):
            return ev.ConnectionProblem(f"The TLS certificate of {host} could not be verified. Give the CA to trust "
                                        "with `bcsync setup --ca-file FILE`.")
        if isinstance(exc, requests.exceptions.Timeout):
            return ev.ConnectionProblem(f"{host} did not answer within {self.timeout:.0f} s. Try again later.")
        return ev.ConnectionProblem(f"Cannot reach Microsoft Graph at {self.root} ({type(exc).__name__}). Check the "
                                    "address and your network.")

    # --- waiting -------------------------------------------------------------------------------

    def wait(self, seconds: float, deadline: float) -> None:
        """Wait as the server asked, unless that goes past the run's cap on throttling."""
        if time.monotonic() + seconds > deadline:
            raise ev.RunCutShort(
                f"Microsoft Graph kept asking us to slow down for more than {self.max_retry_seconds:.0f} s; the run "
                "stopped at a safe point and the next sync continues from there.")
        with self._stats_lock:
            self.stats.throttle_waits += 1
            self.stats.throttle_seconds += seconds
            if self.on_throttle is not None:
                self.on_throttle(seconds)
        time.sleep(seconds)

    def _count(self, op: str) -> None:
        with self._stats_lock:
            self.stats.requests += 1
            self.stats.by_operation[op] = self.stats.by_operation.get(op, 0) + 1

    # --- one request ---------------------------------------------------------------------------

    def _once(self, op: str, method: str, url: str, body: Any, prefer: str) -> Answer:
        token = self.auth.token()
        headers = {"Authorization": f"Bearer {token}", "Prefer": prefer, "Accept": "application/json"}
        data = None
        if body is not None:
            headers["Content-Type"] = "application/json"
            data = orjson.dumps(body)
        self._count(op)
        with self._slots:
            try:
                return _answer(self._send(method, url, data, headers), token)
            except requests.exceptions.SSLError as exc:
                raise self._unreachable(exc) from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                if isinstance(exc, requests.exceptions.ConnectTimeout) or (
                        isinstance(exc, requests.exceptions.ConnectionError) and "refused" in str(exc).lower()):
                    raise self._unreachable(exc) from exc  # never reached the server
                raise Unanswered(str(exc)) from exc

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str]) -> requests.Response:
        """One request through the session, prepared here as requests documents it ("Prepared
        Requests": prepare, merge_environment_settings, send), with the session's headers and cookies:
        Session.request would merge all of the session's settings into every request again (~0.25 ms
        of CPU each; a first sync of 10,000 sends 500). Its auth adds nothing (graph_auth: no
        ~/.netrc); the send keeps the session's hooks, cookie jar and redirects, and the session's
        adapter (core.net) holds the request as a whole to its deadline."""
        session = self.session
        prepared = requests.PreparedRequest()
        prepared.prepare(method=method, url=url, headers={**session.headers, **headers}, data=data,
                         cookies=session.cookies.copy() if session.cookies else None)
        settings = session.merge_environment_settings(url, {}, None, None, None)
        return session.send(prepared, timeout=(self.timeout, self.timeout), allow_redirects=True, **settings)

    def call(self, op: str, method: str, url: str, body: Any = None, *, write: bool = False,
             prefer: str = IMMUTABLE) -> Answer:
        """One Graph request with throttling, token refresh and (for reads) a retry on lost answers.
        Raises Unanswered for a write whose answer was lost; returns any other answer."""
        if not url.startswith(("https://", "http://")):
            url = self.root + url
        deadline = time.monotonic() + self.max_retry_seconds
        refreshed = False
        for attempt in itertools.count():
            try:
                answer = self._once(op, method, url, body, prefer)
            except Unanswered as exc:
                if write or attempt >= 2:
                    if write:
                        raise
                    raise self._unreachable(requests.exceptions.Timeout(str(exc))) from exc
                time.sleep(min(BACKOFF_CAP, 2.0 ** attempt))
                continue
            if answer.status == 401 and not refreshed:
                refreshed = True  # the access token expired mid-run: refresh it silently, once
                self.auth.renew(answer.token)
                continue
            if answer.status == 429 or (answer.status == 503 and not write):
                self.wait(answer.retry_after() or min(BACKOFF_CAP, 2.0 ** attempt), deadline)
                continue
            return answer
        raise AssertionError("unreachable")

    # --- $batch --------------------------------------------------------------------------------

    def batch(self, subs: Sequence[Sub]) -> list[Answer | None]:
        """Send up to 20 sub-requests as one ``$batch``; answers in request order. A sub-request
        answered 429 is sent again after its Retry-After (it was not carried out); a 401 after a
        token refresh. None for a write whose answer was lost (the whole batch went unanswered)."""
        assert len(subs) <= BATCH_MAX
        out: dict[int, Answer | None] = {}
        pending = list(range(len(subs)))
        deadline = time.monotonic() + self.max_retry_seconds
        refreshed = False
        any_write = any(s.write for s in subs)
        while pending:
            body = {"requests": [self._sub_json(str(n), subs[n]) for n in pending]}
            try:
                answer = self.call("batch", "POST", "/$batch", body, write=any_write)
            except Unanswered:
                for n in pending:
                    out[n] = None
                break
            if answer.status != 200:
                for n in pending:
                    out[n] = answer
                break
            waits, again = [], []
            unauthorized: str | None = None  # the token the server refused for a sub-request
            for resp in answer.body.get("responses") or []:
                try:
                    n = int(resp.get("id"))
                except (TypeError, ValueError):
                    continue
                if n not in pending:
                    continue
                sub_answer = Answer(int(resp.get("status") or 0), resp.get("body") if isinstance(resp.get("body"), dict)
                                    else {}, {str(k): str(v) for k, v in (resp.get("headers") or {}).items()})
                if sub_answer.status == 429:
                    waits.append(sub_answer.retry_after() or 1.0)
                    again.append(n)
                elif sub_answer.status == 401 and not refreshed:
                    unauthorized = answer.token
                    again.append(n)
                else:
                    out[n] = sub_answer
            missing = [n for n in pending if n not in out and n not in again]
            for n in missing:  # the server did not answer for it: a write may or may not have happened
                out[n] = None if subs[n].write else Answer(0, {"error": {"code": "NoAnswer"}})
            pending = again
            if unauthorized is not None:
                refreshed = True
                self.auth.renew(unauthorized)
            if waits:
                self.wait(max(waits), deadline)
        return [out[n] for n in range(len(subs))]

    @staticmethod
    def _sub_json(sub_id: str, sub: Sub) -> dict[str, Any]:
        headers = {"Prefer": IMMUTABLE, **sub.headers} if sub.headers else {"Prefer": IMMUTABLE}
        req: dict[str, Any] = {"id": sub_id, "method": sub.method, "url": sub.url, "headers": headers}
        if sub.body is not None:
            req["body"] = sub.body
            headers["Content-Type"] = "application/json"
        return req

    def batches(self, subs: Sequence[Sub]) -> list[Answer | None]:
        """Any number of sub-requests: batches of 20, up to four in flight at once."""
        chunks = [list(subs[i:i + BATCH_MAX]) for i in range(0, len(subs), BATCH_MAX)]
        if len(chunks) <= 1:
            return self.batch(chunks[0]) if chunks else []
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.in_flight, thread_name_prefix="bcsync-graph")
        self.auth.token()  # once, before the threads need it
        results = list(self._pool.map(self.batch, chunks))
        return [a for chunk in results for a in chunk]
