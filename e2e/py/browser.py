"""A scripted user agent for OAuth sign-ins in the client matrix.

It does what a person in a browser does on vmcp's sign-in pages: follows redirects, keeps
cookies, fills the login form with a username and password, allows on the consent page, and
stops at the client's redirect URI, where a real browser would hand the code back to the app.
It never prints a token, a code or a password.
"""

from __future__ import annotations

import html
import http.cookiejar
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

MAX_PAGES = 20


class _Form(HTMLParser):
    """The first <form> of a page: action, method, the values its inputs submit, and the values
    of its decision buttons (vmcp's consent page)."""

    def __init__(self) -> None:
        super().__init__()
        self.found = False
        self.done = False
        self.action = ""
        self.method = "GET"
        self.fields: dict[str, str] = {}
        self.decisions: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        if self.done:
            return
        if tag == "form" and not self.found:
            self.found = True
            self.action = a.get("action", "")
            self.method = a.get("method", "get").upper()
        elif self.found and tag == "input":
            kind = a.get("type", "text").lower()
            if not a.get("name") or kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.fields[a["name"]] = a.get("value", "")
        elif self.found and tag == "button" and a.get("name") == "decision":
            self.decisions.append(a.get("value", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.found:
            self.done = True


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401 - urllib's hook
        return None


def _text(page: str) -> str:
    """The page's text, shortened: what an error page says."""
    stripped = HTMLParser()
    out: list[str] = []
    stripped.handle_data = out.append  # type: ignore[method-assign]
    stripped.feed(page)
    return html.unescape(" ".join(" ".join(out).split()))[:300]


class Browser:
    """Signs in as username/password and allows on the consent page."""

    def __init__(self, username: str, password: str, stop_at: str) -> None:
        self.username = username
        self.password = password
        self.stop_at = stop_at
        self.pages_seen: list[str] = []
        self.forms_filled: list[str] = []
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def _request(self, method: str, url: str, body: str | None = None) -> tuple[int, dict[str, str], str]:
        data = body.encode() if body is not None else None
        req = urllib.request.Request(url, data=data, method=method)
        if data is not None:
            req.add_header("Content-Type", "application/x-www-form-urlencoded")
        try:
            with self._opener.open(req, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:  # 3xx (redirects are not followed) and errors
            return e.code, dict(e.headers), e.read().decode("utf-8", "replace")

    def run(self, start: str) -> dict[str, str]:
        """Returns the query the authorization server sent to the redirect URI."""
        url = start
        status, headers, page = self._request("GET", url)
        for _ in range(MAX_PAGES):
            if 300 <= status < 400:
                location = headers.get("Location") or headers.get("location")
                if not location:
                    raise RuntimeError(f"HTTP {status} without Location at {url.split('?')[0]}")
                nxt = urllib.parse.urljoin(url, location)
                if nxt.startswith(self.stop_at):
                    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(nxt).query))
                url = nxt
                status, headers, page = self._request("GET", url)
                continue
            if status != 200:
                raise RuntimeError(f"HTTP {status} at {url.split('?')[0]}: {_text(page)}")
            form = _Form()
            form.feed(page)
            if not form.found:
                raise RuntimeError(f"the page at {url.split('?')[0]} has no form to act on")
            self.pages_seen.append(urllib.parse.urlsplit(url).path)
            if "username" in form.fields or "password" in form.fields:
                if "login" in self.forms_filled:
                    raise RuntimeError(f"the login form came back: {_text(page)}")
                form.fields["username"] = self.username
                form.fields["password"] = self.password
                self.forms_filled.append("login")
            if form.decisions:
                if "allow" not in form.decisions:
                    raise RuntimeError(f"the consent page offers no allow: {form.decisions}")
                form.fields["decision"] = "allow"
                self.forms_filled.append("consent")
            action = urllib.parse.urljoin(url, form.action or url)
            body = urllib.parse.urlencode(form.fields)
            if form.method == "POST":
                url = action
                status, headers, page = self._request("POST", url, body)
            else:
                url = urllib.parse.urlsplit(action)._replace(query=body).geturl()
                status, headers, page = self._request("GET", url)
        raise RuntimeError(f"sign-in did not reach the redirect URI within {MAX_PAGES} pages: {self.pages_seen}")
