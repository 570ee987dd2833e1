"""The matrix row of fastmcp's Client (fastmcp, pinned in requirements.txt), in its default mode.

    python fastmcp_client.py <virtual-server-url> <token-file>

fastmcp's default mode probes server/discover and speaks 2026-07-28 with a server that offers
it. fastmcp's Client has no subscriptions/listen, so in that revision it cannot observe a tools
list change; this script does not try. See matrix.py for the output.
"""

from __future__ import annotations

import sys
from typing import Any

import anyio
from fastmcp import Client

from matrix import Steps, note_title, read_token, text_of

CLIENT = "fastmcp"


async def main() -> int:
    url, token_file = sys.argv[1], sys.argv[2]
    steps = Steps()
    try:
        async with Client(url, auth=read_token(token_file)) as client:
            await run_steps(client, steps)
    except BaseException as e:  # noqa: BLE001 - reported as the connect step, or on stderr
        steps.crashed(e)
    return steps.print()


async def run_steps(client: Client, steps: Steps) -> None:
    async def connect() -> dict[str, Any]:
        return {"protocolVersion": client.protocol_version}

    await steps.run("connect", connect)

    async def tools() -> list[str]:
        return [t.name for t in await client.list_tools()]

    await steps.run("tools", tools)

    async def resources() -> list[str]:
        return [str(r.uri) for r in await client.list_resources()]

    await steps.run("resources", resources)

    async def prompts() -> list[str]:
        return [p.name for p in await client.list_prompts()]

    await steps.run("prompts", prompts)

    async def call(name: str, args: dict[str, Any]) -> str:
        # fastmcp raises ToolError for a result with isError.
        return text_of((await client.call_tool(name, args)).content)

    await steps.run("call_notes", lambda: call("notes__add_note", {"title": note_title(CLIENT), "body": "through vmcp"}))
    await steps.run("call_weather", lambda: call("weather__get_forecast", {"city": "Oslo", "days": 1}))

    async def read() -> str:
        return "\n".join(getattr(c, "text", "") for c in await client.read_resource("notes://all"))

    await steps.run("read", read)

    async def prompt() -> str:
        res = await client.get_prompt("notes__summarize_notes", {"focus": "interop"})
        return text_of([m.content for m in res.messages])

    await steps.run("prompt", prompt)


if __name__ == "__main__":
    sys.exit(anyio.run(main))
