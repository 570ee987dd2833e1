"""The matrix row of the official Python MCP SDK (`mcp`, pinned in requirements.txt).

    python mcp_client.py <virtual-server-url> <auto|legacy> bearer <token-file>
    python mcp_client.py <virtual-server-url> <auto|legacy> oauth <username> <password>

`auto` is the SDK's default Client (it probes server/discover and speaks 2026-07-28 with a
server that offers it); `legacy` forces the 2025-11-25 initialize handshake. With `oauth` the
SDK discovers vmcp's authorization server from the 401, registers, has the scripted browser
(browser.py) sign in and consent, redeems the code, and refreshes the access token once it has
expired. See matrix.py for the output.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import anyio
import httpx2
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientInformationFull, OAuthClientMetadata, OAuthToken
from mcp_types import ToolListChangedNotification

from browser import Browser
from matrix import LIST_CHANGED_WAIT_S, Steps, describe, listening, note_title, read_token, text_of

CLIENT = "python-mcp"


class MemoryStorage:
    """The SDK's TokenStorage, in memory; it also counts what the SDK stored."""

    def __init__(self) -> None:
        self.tokens: OAuthToken | None = None
        self.client_info: OAuthClientInformationFull | None = None
        self.saved = 0

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens
        self.saved += 1

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client_info

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client_info = client_info


def loopback_redirect() -> str:
    """A loopback redirect URI (RFC 8252 §7.3) nobody listens on: the browser stops there."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/callback"


class Seen:
    """The Authorization header and status of the latest MCP request: proof of which token
    the SDK used after a refresh."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.authorization: str | None = None
        self.status = 0

    async def on_response(self, response: httpx2.Response) -> None:
        if str(response.request.url) == self.url and response.request.method == "POST":
            self.authorization = response.request.headers.get("authorization")
            self.status = response.status_code


async def main() -> int:
    url, mode, how = sys.argv[1], sys.argv[2], sys.argv[3]
    steps = Steps()
    seen = Seen(url)
    storage = MemoryStorage()
    if how == "bearer":
        http = create_mcp_http_client(headers={"Authorization": f"Bearer {read_token(sys.argv[4])}"})
    else:
        username, password = sys.argv[4], sys.argv[5]
        redirect = loopback_redirect()
        browser = Browser(username, password, redirect)
        back: dict[str, str] = {}

        async def redirect_handler(authorization_url: str) -> None:
            back.clear()
            back.update(await anyio.to_thread.run_sync(browser.run, authorization_url))
            if back.get("error"):
                raise RuntimeError(f"authorization failed: {back['error']}: {back.get('error_description', '')}")

        async def callback_handler() -> AuthorizationCodeResult:
            return AuthorizationCodeResult(code=back["code"], state=back.get("state"), iss=back.get("iss"))

        provider = OAuthClientProvider(
            server_url=url,
            client_metadata=OAuthClientMetadata(
                client_name="vmcp matrix Python SDK client",
                redirect_uris=[redirect],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
            ),
            storage=storage,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
        )
        http = create_mcp_http_client(auth=provider)
    http.event_hooks["response"].append(seen.on_response)

    changed = anyio.Event()

    async def on_message(message: Any) -> None:
        if isinstance(message, ToolListChangedNotification):
            changed.set()

    async with http:
        try:
            async with Client(streamable_http_client(url, http_client=http), mode=mode, message_handler=on_message) as client:
                await run_steps(client, steps, changed, storage, seen, how == "oauth")
        except BaseException as e:  # noqa: BLE001 - reported as the connect step, or on stderr
            steps.crashed(e)
    return steps.print()


async def run_steps(client: Client, steps: Steps, changed: anyio.Event, storage: MemoryStorage, seen: Seen, oauth: bool) -> None:
    async def connect() -> dict[str, Any]:
        return {"protocolVersion": client.protocol_version}

    await steps.run("connect", connect)

    async def tools() -> list[str]:
        return [t.name for t in (await client.list_tools()).tools]

    await steps.run("tools", tools)

    async def resources() -> list[str]:
        return [str(r.uri) for r in (await client.list_resources()).resources]

    await steps.run("resources", resources)

    async def prompts() -> list[str]:
        return [p.name for p in (await client.list_prompts()).prompts]

    await steps.run("prompts", prompts)

    async def call(name: str, args: dict[str, Any]) -> str:
        res = await client.call_tool(name, args)
        if res.is_error:
            raise RuntimeError(f"{name} returned an error: {text_of(res.content)}")
        return text_of(res.content)

    await steps.run("call_notes", lambda: call("notes__add_note", {"title": note_title(CLIENT), "body": "through vmcp"}))
    await steps.run("call_weather", lambda: call("weather__get_forecast", {"city": "Oslo", "days": 1}))

    async def read() -> str:
        res = await client.read_resource("notes://all")
        return "\n".join(getattr(c, "text", "") for c in res.contents)

    await steps.run("read", read)

    async def prompt() -> str:
        res = await client.get_prompt("notes__summarize_notes", {"focus": "interop"})
        return text_of([m.content for m in res.messages])

    await steps.run("prompt", prompt)

    async def list_changed() -> list[str]:
        with anyio.fail_after(LIST_CHANGED_WAIT_S):
            if client.protocol_version >= "2026-07-28":
                # 2026-07-28: notifications come only on a subscriptions/listen stream.
                async with client.listen(tools_list_changed=True) as sub:
                    listening()
                    async for _ in sub:
                        break
            else:
                # 2025-11-25: on the session's GET stream, which the SDK opened at connect.
                listening()
                await changed.wait()
        return await tools()

    await steps.run("list_changed", list_changed)

    if oauth:

        async def refresh() -> dict[str, Any]:
            before = storage.tokens
            if before is None or not before.refresh_token:
                raise RuntimeError("no refresh token after the sign-in")
            # The access token's lifetime (vmcp's auth.token_ttl, short in this test) has to
            # pass: the SDK refreshes only a token whose expires_in is over.
            expires_in = int(before.expires_in or 0)
            if not 0 < expires_in <= 30:
                raise RuntimeError(f"the access token lives {expires_in}s; the test expects a short token_ttl")
            await anyio.sleep(expires_in + 1)
            saved = storage.saved
            # A tool call, which no response cache answers: it has to go out, on a fresh token.
            # Its answer is reported apart from the refresh, which happens before it is parsed.
            try:
                text, call_error = await call("weather__get_forecast", {"city": "Oslo", "days": 1}), ""
            except Exception as e:  # noqa: BLE001
                text, call_error = "", describe(e)
            after = storage.tokens
            refreshed = storage.saved > saved and after is not None and after.access_token != before.access_token
            used = after is not None and seen.authorization == f"Bearer {after.access_token}" and seen.status == 200
            return {"refreshed": refreshed, "usedRefreshedToken": used, "result": text, "callError": call_error}

        await steps.run("refresh", refresh)


if __name__ == "__main__":
    sys.exit(anyio.run(main))
