"""Test doubles for the operation tests: a scripted CLI and a scripted backend."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from insforge_tools.secrets import Secret

REFERENCE_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference"
API_KEY = "ik_" + "5eed" * 8
BACKEND = "https://backend.invalid"


class ScriptedCli:
    """A stand-in for CliRunner that records each run_json call and returns scripted bodies."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.answers: list[Any] = []

    def answer(self, *bodies: Any) -> None:
        self.answers += list(bodies)

    async def run_json(self, args: Sequence[str | Secret], **options: Any) -> Any:
        self.calls.append({"args": list(args), **options})
        if not self.answers:
            raise AssertionError(f"unexpected CLI call: {list(args)}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class ScriptedBackend:
    """An httpx.MockTransport handler: routes ``(method, path)`` to a status and a JSON body."""

    def __init__(self) -> None:
        self.routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, method: str, path: str, status: int = 200, body: Any = None) -> None:
        self.routes[(method, path)] = lambda request: httpx.Response(status, json=body)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        route = self.routes.get((request.method, request.url.path))
        if route is None:
            return httpx.Response(404, json={"error": "NOT_FOUND", "message": f"no route {request.url.path}"})
        return route(request)

    def json_of(self, index: int) -> Any:
        return json.loads(self.requests[index].content)


def load_recorded(label: str) -> Any:
    for path in sorted(REFERENCE_DIR.glob("backend-probe-*.json")):
        for exchange in json.loads(path.read_text(encoding="utf-8")):
            if exchange["label"] == label:
                return exchange["response"]["json"]
    pytest.skip(f"the recorded exchange {label!r} is not in {REFERENCE_DIR}")
