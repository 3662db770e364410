"""Fixtures of the OpenAI-client compatibility suite.

The suite drives a running gateway through the official ``openai`` package, the way an
existing batch script would, and checks the answers against the OpenAI Files/Batches
contract (OPENAI_CONTRACT.md). Environment (see compat_helpers.py for the defaults):

  BGW_TEST_GATEWAY_URL    base URL including /v1   (http://127.0.0.1:8020/v1)
  BGW_TEST_API_KEY        key of tenant A          (sk-local)
  BGW_TEST_OTHER_API_KEY  key of a second tenant B (unset: cross-tenant tests skip)
  BGW_TEST_MODEL          model the inference server serves (Qwen/Qwen3-0.6B)
"""

from __future__ import annotations

import json
import time
from typing import Callable

import openai
import pytest
from openai.types import Batch, FileObject

from compat_helpers import (
    BATCH_TIMEOUT,
    GATEWAY_URL,
    MODEL,
    OTHER_API_KEY,
    TERMINAL,
    chat_line,
    jsonl_bytes,
    make_client,
    unique,
)


def pytest_report_header(config):
    second = "yes" if OTHER_API_KEY else "no (cross-tenant tests skip)"
    return f"gateway: {GATEWAY_URL}  model: {MODEL}  openai {openai.__version__}  second tenant: {second}"


@pytest.fixture(scope="session")
def model() -> str:
    return MODEL


@pytest.fixture(scope="session")
def client() -> openai.OpenAI:
    """Tenant A, with the client's default retry policy, as a real batch script.
    (Never closed: the end-of-session cleanup still uses it.)"""
    return make_client()


@pytest.fixture(scope="session")
def other_client() -> openai.OpenAI:
    """Tenant B; any test using it skips when no second key is configured."""
    if not OTHER_API_KEY:
        pytest.skip("BGW_TEST_OTHER_API_KEY is not set: no second tenant to test isolation against")
    return make_client(OTHER_API_KEY)


@pytest.fixture(scope="session")
def _files_to_delete(client):
    """(client, file id) of every file this session uploaded or caused (batch outputs),
    deleted at the end so the tenant's file list stays short on a long-lived gateway."""
    entries: list[tuple[openai.OpenAI, str]] = []
    yield entries
    for owner, file_id in reversed(entries):
        try:
            owner.files.delete(file_id)
        except openai.APIError:
            pass


@pytest.fixture(scope="session")
def upload_jsonl(client, _files_to_delete) -> Callable[..., FileObject]:
    """upload_jsonl(lines | bytes, filename=None, purpose="batch", client=A, **kw) -> FileObject."""

    def upload(lines, filename: str | None = None, purpose: str = "batch", client=client, **kwargs) -> FileObject:
        data = lines if isinstance(lines, bytes) else jsonl_bytes(lines)
        name = filename or f"{unique('compat')}.jsonl"
        created = client.files.create(file=(name, data), purpose=purpose, **kwargs)
        _files_to_delete.append((client, created.id))
        return created

    return upload


@pytest.fixture(scope="session")
def track_file(client, _files_to_delete) -> Callable[..., None]:
    """track_file(file_id, client=A): delete this file (e.g. a batch output) at the end."""

    def track(file_id: str | None, client=client) -> None:
        if file_id:
            _files_to_delete.append((client, file_id))

    return track


@pytest.fixture(scope="session")
def session_batches() -> list[str]:
    """Ids of the batches tenant A created in this session, oldest first."""
    return []


@pytest.fixture(scope="session")
def create_batch(client, session_batches) -> Callable[..., Batch]:
    """create_batch(input_file_id, endpoint="/v1/chat/completions", client=A, **kwargs) -> Batch."""
    tenant_a = client

    def create(input_file_id: str, endpoint: str = "/v1/chat/completions", client=client, **kwargs) -> Batch:
        kwargs.setdefault("completion_window", "24h")
        batch = client.batches.create(input_file_id=input_file_id, endpoint=endpoint, **kwargs)
        if client is tenant_a:
            session_batches.append(batch.id)
        return batch

    return create


@pytest.fixture(scope="session")
def wait_terminal(client) -> Callable[..., Batch]:
    """wait_terminal(batch_id, timeout=BATCH_TIMEOUT, client=A) -> the terminal Batch.

    Polls client.batches.retrieve; fails the test (never hangs) when the batch is not
    terminal in time, and checks on the way that the status never moves backwards."""
    rank = {"validating": 0, "in_progress": 1, "finalizing": 2, "cancelling": 2}

    def wait(batch_id: str, timeout: float = BATCH_TIMEOUT, client=client) -> Batch:
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        delay = 0.1
        while True:
            batch = client.batches.retrieve(batch_id)
            if not seen or seen[-1] != batch.status:
                seen.append(batch.status)
            if batch.status in TERMINAL:
                break
            if time.monotonic() > deadline:
                pytest.fail(f"batch {batch_id} not terminal after {timeout:.0f}s; statuses seen: {seen}")
            time.sleep(delay)
            delay = min(delay * 1.5, 1.0)
        ranks = [rank.get(s, 3) for s in seen]
        assert ranks == sorted(ranks), f"batch {batch_id} status went backwards: {seen}"
        return batch

    return wait


@pytest.fixture(scope="session")
def download_lines(client) -> Callable[..., list[dict]]:
    """download_lines(file_id, client=A) -> the file's JSON lines ([] for None).

    json.loads keeps each object's key order, which the tests check."""

    def download(file_id: str | None, client=client) -> list[dict]:
        if file_id is None:
            return []
        text = client.files.content(file_id).read().decode("utf-8")
        return [json.loads(line) for line in text.split("\n") if line.strip()]

    return download


@pytest.fixture(scope="session")
def completed_chat_batch(upload_jsonl, create_batch, wait_terminal, download_lines, track_file) -> dict:
    """The 50-line chat batch that several tests inspect, run once per session."""
    lines = [chat_line(f"chat-{i:03d}", f"Count to {i}", max_tokens=3 + i % 5) for i in range(50)]
    input_file = upload_jsonl(lines)
    created = create_batch(input_file.id, metadata={"suite": "compat", "case": "chat-50"})
    final = wait_terminal(created.id)
    track_file(final.output_file_id)
    track_file(final.error_file_id)
    return {
        "lines": lines,
        "input_file": input_file,
        "created": created,
        "batch": final,
        "output": download_lines(final.output_file_id),
        "errors": download_lines(final.error_file_id),
    }
