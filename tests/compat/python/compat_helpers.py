"""Settings and small builders shared by the compatibility tests (no fixtures here)."""

from __future__ import annotations

import json
import os
import uuid
from typing import Iterable

import openai

GATEWAY_URL = os.environ.get("BGW_TEST_GATEWAY_URL", "http://127.0.0.1:8020/v1")
API_KEY = os.environ.get("BGW_TEST_API_KEY", "sk-local")
OTHER_API_KEY = os.environ.get("BGW_TEST_OTHER_API_KEY") or None
MODEL = os.environ.get("BGW_TEST_MODEL", "Qwen/Qwen3-0.6B")
# How long a small batch may take before a test gives up on it.
BATCH_TIMEOUT = float(os.environ.get("BGW_TEST_BATCH_TIMEOUT", "120"))

TERMINAL = {"completed", "failed", "expired", "cancelled"}
DAY = 86_400
THIRTY_DAYS = 30 * DAY
OUTPUT_KEYS = ["id", "custom_id", "response", "error"]


def make_client(api_key: str = API_KEY, **kwargs) -> openai.OpenAI:
    # A request timeout well below the batch timeout: a hung gateway fails one test
    # instead of the whole run.
    kwargs.setdefault("timeout", 30.0)
    return openai.OpenAI(base_url=GATEWAY_URL, api_key=api_key, **kwargs)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def chat_line(custom_id: str, content: str = "Say hi", model: str = MODEL, max_tokens: int = 8) -> dict:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/chat/completions",
        "body": {
            "model": model,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": max_tokens,
        },
    }


def embedding_line(custom_id: str, text: str, model: str = MODEL) -> dict:
    return {
        "custom_id": custom_id,
        "method": "POST",
        "url": "/v1/embeddings",
        "body": {"model": model, "input": text},
    }


def jsonl_bytes(lines: Iterable[dict | str]) -> bytes:
    """Dicts are serialized compactly; strings are written verbatim (for broken lines)."""
    out = [line if isinstance(line, str) else json.dumps(line, separators=(",", ":")) for line in lines]
    return ("\n".join(out) + "\n").encode()


def envelope(exc: openai.APIStatusError) -> dict:
    """The whole JSON answer of a failed call: {"error": {...}}."""
    return exc.response.json()


def assert_error_envelope(exc: openai.APIStatusError, status: int, types: set[str]) -> dict:
    """Checks status, the four keys of the OpenAI error envelope and the error type;
    returns the inner error object."""
    assert exc.status_code == status, f"status {exc.status_code}, expected {status}: {exc.response.text}"
    body = envelope(exc)
    assert set(body) == {"error"}, f"envelope keys: {sorted(body)}"
    err = body["error"]
    assert set(err) >= {"message", "type", "param", "code"}, f"error keys: {sorted(err)}"
    assert isinstance(err["message"], str) and err["message"], err
    assert err["type"] in types, f"type {err['type']!r} not in {types}"
    return err
