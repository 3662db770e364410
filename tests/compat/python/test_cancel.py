"""Cancelling batches (client.batches.cancel) and our priority extension."""

from __future__ import annotations

import time
from collections import Counter

import openai
import pytest
from openai.types import Batch

from compat_helpers import DAY, OUTPUT_KEYS, assert_error_envelope, chat_line, unique

BIG = 3000  # lines: long enough to still run when the cancel arrives
# The default test simulator answers at once and the gateway runs a few thousand
# lines a second, so 3000 lines can all finish in the 0.2 s the in-progress test
# waits before cancelling (seen in CI). That test runs a batch this much bigger.
BIG_IN_PROGRESS = 30000
PROMPT_CANCEL_SECONDS = 30


@pytest.fixture
def big_batch(upload_jsonl, create_batch):
    """A freshly created chat batch (3000 lines unless told) (max_tokens 5) and its input lines."""

    def make(size: int = BIG, **kwargs):
        prefix = unique("big")
        lines = [chat_line(f"{prefix}-{i:05d}", f"Question {i}", max_tokens=5) for i in range(size)]
        f = upload_jsonl(lines)
        return lines, create_batch(f.id, **kwargs)

    return make


def check_cancelled(batch: Batch, lines: list[dict], output: list[dict], errors: list[dict]) -> None:
    """Every invariant a client checks on a cancelled batch with partial results."""
    assert batch.status == "cancelled"
    assert batch.cancelling_at is not None and batch.cancelled_at is not None
    assert batch.created_at <= batch.cancelling_at <= batch.cancelled_at
    if batch.in_progress_at is not None:
        assert batch.created_at <= batch.in_progress_at <= batch.cancelling_at
    assert batch.completed_at is None and batch.failed_at is None and batch.expired_at is None
    assert batch.expires_at == batch.created_at + DAY

    counts = batch.request_counts
    assert counts.completed + counts.failed == counts.total == len(lines)
    assert len(output) == counts.completed
    assert len(errors) == counts.failed
    ids = [line["custom_id"] for line in output + errors]
    assert not {k: v for k, v in Counter(ids).items() if v > 1}, "a custom_id appears twice"
    assert sorted(ids) == sorted(line["custom_id"] for line in lines)

    for line in output:
        assert list(line.keys()) == OUTPUT_KEYS
        assert line["response"]["status_code"] == 200
        assert line["error"] is None
    for line in errors:
        assert list(line.keys()) == OUTPUT_KEYS
        if line["response"] is None:
            assert line["error"]["code"] == "batch_cancelled", line
            assert isinstance(line["error"]["message"], str) and line["error"]["message"]
    never_ran = [line for line in errors if line["response"] is None]
    assert never_ran, "a batch cancelled this early must have unfinished lines"

    prompt = sum(line["response"]["body"]["usage"]["prompt_tokens"] for line in output)
    completion = sum(line["response"]["body"]["usage"]["completion_tokens"] for line in output)
    assert batch.usage.input_tokens == prompt
    assert batch.usage.output_tokens == completion
    assert batch.usage.total_tokens == prompt + completion


def cancel_or_conflict(client, batch_id: str):
    """Cancel; if the batch finished first (a very fast backend), the only right answer
    is 409 for a completed batch. Returns the answered Batch, or None after a 409."""
    try:
        return client.batches.cancel(batch_id)
    except openai.ConflictError as exc:
        assert client.batches.retrieve(batch_id).status == "completed", exc.response.text
        return None


def test_cancel_while_validating(client, big_batch, wait_terminal, download_lines, track_file):
    lines, created = big_batch()
    assert created.status == "validating"
    answered = cancel_or_conflict(client, created.id)
    if answered is None:
        pytest.skip("the batch completed before the cancel arrived")
    assert answered.id == created.id
    assert answered.status in {"cancelling", "cancelled"}
    assert answered.cancelling_at is not None

    final = wait_terminal(created.id, timeout=PROMPT_CANCEL_SECONDS)
    track_file(final.output_file_id)
    track_file(final.error_file_id)
    output = download_lines(final.output_file_id)
    errors = download_lines(final.error_file_id)
    check_cancelled(final, lines, output, errors)
    assert final.error_file_id is not None

    # Idempotent: cancelling a cancelled batch answers it again, unchanged.
    again = client.batches.cancel(created.id)
    assert again.status == "cancelled"
    assert again.cancelled_at == final.cancelled_at
    assert again.request_counts == final.request_counts


def test_cancel_while_in_progress_keeps_partial_results(client, big_batch, wait_terminal, download_lines, track_file):
    lines, created = big_batch(BIG_IN_PROGRESS)
    deadline = time.monotonic() + 30
    status = created.status
    while status == "validating" and time.monotonic() < deadline:
        time.sleep(0.05)
        status = client.batches.retrieve(created.id).status
    assert status == "in_progress", f"batch still {status} after 30 s"
    time.sleep(0.2)  # let some requests finish

    answered = cancel_or_conflict(client, created.id)
    if answered is None:
        pytest.skip("the batch completed before the cancel arrived")
    assert answered.status in {"cancelling", "cancelled"}

    # A second cancel while cancelling is also fine (200).
    assert client.batches.cancel(created.id).status in {"cancelling", "cancelled"}

    final = wait_terminal(created.id, timeout=PROMPT_CANCEL_SECONDS)
    track_file(final.output_file_id)
    track_file(final.error_file_id)
    output = download_lines(final.output_file_id)
    errors = download_lines(final.error_file_id)
    check_cancelled(final, lines, output, errors)
    assert final.in_progress_at is not None
    assert output, "requests finished before the cancel must be kept"


def test_cancel_completed_batch_is_conflict(client, completed_chat_batch):
    batch = completed_chat_batch["batch"]
    assert batch.status == "completed"
    with pytest.raises(openai.ConflictError) as exc:
        client.batches.cancel(batch.id)
    err = assert_error_envelope(exc.value, 409, {"invalid_request_error"})
    assert err["message"] == "Cannot cancel a batch with status 'completed'."
    # Otherwise every client retries the 409 twice before giving up.
    assert exc.value.response.headers.get("x-should-retry") == "false"
    assert client.batches.retrieve(batch.id).status == "completed"


def test_cancel_failed_batch_is_conflict(client, upload_jsonl, create_batch, wait_terminal):
    f = upload_jsonl([chat_line("cf-1", model="no-such-model")])
    b = wait_terminal(create_batch(f.id).id)
    assert b.status == "failed"
    with pytest.raises(openai.ConflictError) as exc:
        client.batches.cancel(b.id)
    err = assert_error_envelope(exc.value, 409, {"invalid_request_error"})
    assert err["message"] == "Cannot cancel a batch with status 'failed'."


# --- extension: POST /v1/batches/{id}/priority {"priority": N} -----------------------


def set_priority(client, batch_id: str, body: dict) -> Batch:
    return client.post(f"/batches/{batch_id}/priority", body=body, cast_to=Batch)


def wait_until_running(client, batch_id: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    status = client.batches.retrieve(batch_id).status
    while status == "validating" and time.monotonic() < deadline:
        time.sleep(0.05)
        status = client.batches.retrieve(batch_id).status
    return status


def cancel_quietly(client, batch_id: str, wait_terminal, track_file) -> None:
    try:
        client.batches.cancel(batch_id)
    except openai.ConflictError:
        pass
    final = wait_terminal(batch_id, timeout=PROMPT_CANCEL_SECONDS)
    track_file(final.output_file_id)
    track_file(final.error_file_id)


def test_priority_of_a_running_batch(client, big_batch, wait_terminal, track_file):
    _, created = big_batch(extra_body={"priority": 1})
    assert getattr(created, "priority", None) == 1
    try:
        assert wait_until_running(client, created.id) == "in_progress"
        changed = set_priority(client, created.id, {"priority": 9})
        assert changed.id == created.id
        assert getattr(changed, "priority", None) == 9
        assert getattr(client.batches.retrieve(created.id), "priority", None) == 9

        with pytest.raises(openai.BadRequestError) as exc:
            set_priority(client, created.id, {"priority": "high"})
        assert assert_error_envelope(exc.value, 400, {"invalid_request_error"})["param"] == "priority"
        with pytest.raises(openai.BadRequestError) as exc:
            set_priority(client, created.id, {})
        assert assert_error_envelope(exc.value, 400, {"invalid_request_error"})["param"] == "priority"
    finally:
        cancel_quietly(client, created.id, wait_terminal, track_file)


def test_priority_change_right_after_create_is_kept(client, upload_jsonl, create_batch, wait_terminal, track_file):
    """A priority sent while the batch is still validating must not be lost. The race
    (signal vs. the workflow's first task) is timing dependent, hence several tries;
    each batch has 3000 lines, so none can legitimately be finished by then."""
    prefix = unique("prio")
    f = upload_jsonl([chat_line(f"{prefix}-{i:05d}", max_tokens=5) for i in range(BIG)])
    answers = []
    for _ in range(5):
        created = create_batch(f.id, extra_body={"priority": 1})
        try:
            changed = set_priority(client, created.id, {"priority": 9})
            answers.append((created.id, changed.status, getattr(changed, "priority", None)))
        finally:
            cancel_quietly(client, created.id, wait_terminal, track_file)
    lost = [a for a in answers if a[2] != 9]
    assert not lost, f"200 answers that kept the old priority (id, status, priority): {lost}"


def test_priority_of_a_finished_batch_is_conflict(client, completed_chat_batch):
    with pytest.raises(openai.ConflictError) as exc:
        set_priority(client, completed_chat_batch["batch"].id, {"priority": 3})
    assert_error_envelope(exc.value, 409, {"invalid_request_error"})
    assert exc.value.response.headers.get("x-should-retry") == "false"


def test_priority_of_unknown_batch_is_not_found(client):
    with pytest.raises(openai.NotFoundError):
        set_priority(client, "batch_doesnotexist000000000", {"priority": 3})
