"""What every Python client of the matrix shares: the steps it runs and how it reports them.

A script runs each capability as a step and records its value or its error, so one failing
capability does not hide the others; it prints {"event": "listening"} when it waits for a tools
list change (the Go test then edits vmcp's configuration), and finally one line
{"steps": {...}}. The Go test (e2e/matrix_test.go) asserts on that.
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

# The list change the Go test makes must reach the client within this time.
LIST_CHANGED_WAIT_S = 30.0


def note_title(client: str) -> str:
    """The title of the note a client adds; the resource and prompt must show it afterwards."""
    return f"matrix note from {client}"


class Steps:
    """Records each step's outcome; print() writes the result line."""

    def __init__(self) -> None:
        self.steps: dict[str, dict[str, Any]] = {}

    async def run(self, name: str, fn: Callable[[], Awaitable[Any]]) -> Any:
        try:
            value = await fn()
        except BaseException as e:  # noqa: BLE001 - a step's failure is its result
            if isinstance(e, (KeyboardInterrupt, SystemExit)):
                raise
            print(f"step {name} failed:", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            self.steps[name] = {"ok": False, "error": describe(e)}
            return None
        self.steps[name] = {"ok": True, "value": value}
        return value

    def fail(self, name: str, message: str) -> None:
        self.steps[name] = {"ok": False, "error": message}

    def crashed(self, e: BaseException) -> None:
        """Records an error that ended the run outside any step: the connect step's failure when
        the client never connected, and a traceback on stderr either way."""
        if isinstance(e, KeyboardInterrupt):
            raise e
        if "connect" not in self.steps:
            self.fail("connect", describe(e))
        traceback.print_exception(e, file=sys.stderr)

    def print(self) -> int:
        print(json.dumps({"steps": self.steps}), flush=True)
        return 0 if all(s["ok"] for s in self.steps.values()) else 1


def describe(e: BaseException) -> str:
    """An error in one line, the innermost cause of an exception group included."""
    while isinstance(e, BaseExceptionGroup) and e.exceptions:
        e = e.exceptions[0]
    text = f"{type(e).__name__}: {e}"
    error = getattr(e, "error", None)
    if error is not None and hasattr(error, "code"):
        # An MCP error: its code, message and data say more than the exception's text.
        text = f"{type(e).__name__} {error.code}: {error.message} {error.data or ''}"
    return " ".join(text.split())[:600]


def listening() -> None:
    print(json.dumps({"event": "listening"}), flush=True)


def text_of(content: list[Any]) -> str:
    """The text blocks of a tool result or prompt message, joined."""
    return "\n".join(c.text for c in content if getattr(c, "type", "") == "text")


def read_token(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read().strip()
