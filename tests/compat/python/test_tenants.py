"""Tenant isolation: tenant B (BGW_TEST_OTHER_API_KEY) can neither see nor use what
tenant A (BGW_TEST_API_KEY) owns. Every test here skips when no second key is set."""

from __future__ import annotations

import openai
import pytest
from openai.types import Batch

from compat_helpers import assert_error_envelope, chat_line, unique

NOT_FOUND = {"invalid_request_error", "not_found_error"}


@pytest.fixture(scope="module")
def file_of_a(upload_jsonl):
    return upload_jsonl([chat_line("ten-1"), chat_line("ten-2")])


@pytest.fixture(scope="module")
def batch_of_a(create_batch, file_of_a):
    return create_batch(file_of_a.id)


def test_file_of_a_is_not_found_for_b(other_client, file_of_a):
    with pytest.raises(openai.NotFoundError) as exc:
        other_client.files.retrieve(file_of_a.id)
    err = assert_error_envelope(exc.value, 404, NOT_FOUND)
    # Same answer as for a file that does not exist: nothing leaks.
    assert err["message"] == f"No such File object: {file_of_a.id}"
    with pytest.raises(openai.NotFoundError):
        other_client.files.content(file_of_a.id)


def test_b_cannot_delete_file_of_a(client, other_client, file_of_a):
    with pytest.raises(openai.NotFoundError):
        other_client.files.delete(file_of_a.id)
    assert client.files.retrieve(file_of_a.id).id == file_of_a.id


def test_file_of_a_not_listed_for_b(other_client, upload_jsonl, file_of_a):
    own = upload_jsonl([chat_line("b-1")], client=other_client)
    listed = {f.id for f in other_client.files.list(limit=100)}
    assert own.id in listed
    assert file_of_a.id not in listed


def test_b_cannot_create_batch_from_file_of_a(other_client, file_of_a, wait_terminal):
    # Contract: 400, or created and then failed with code invalid_request, param file_id.
    try:
        created = other_client.batches.create(
            input_file_id=file_of_a.id, endpoint="/v1/chat/completions", completion_window="24h"
        )
    except openai.BadRequestError as exc:
        assert_error_envelope(exc, 400, {"invalid_request_error"})
        return
    final = wait_terminal(created.id, client=other_client)
    assert final.status == "failed"
    assert any(e.code == "invalid_request" and e.param == "file_id" for e in final.errors.data), final.errors


def test_batch_of_a_is_invisible_to_b(client, other_client, batch_of_a):
    with pytest.raises(openai.NotFoundError) as exc:
        other_client.batches.retrieve(batch_of_a.id)
    err = assert_error_envelope(exc.value, 404, NOT_FOUND)
    assert err["message"] == f"No batch found with id '{batch_of_a.id}'."
    with pytest.raises(openai.NotFoundError):
        other_client.batches.cancel(batch_of_a.id)
    assert batch_of_a.id not in {b.id for b in other_client.batches.list(limit=100)}
    # B's cancel attempt did nothing to A's batch.
    assert client.batches.retrieve(batch_of_a.id).status not in {"cancelling", "cancelled"}


def test_cursor_of_a_is_rejected_for_b(other_client, batch_of_a, file_of_a):
    """An id of another tenant as the `after` cursor must not page into A's data."""
    try:
        page = other_client.batches.list(after=batch_of_a.id, limit=100)
    except openai.BadRequestError:
        pass
    else:
        assert batch_of_a.id not in {b.id for b in page.data}
    try:
        files = other_client.files.list(after=file_of_a.id, limit=100)
    except openai.BadRequestError:
        pass
    else:
        assert file_of_a.id not in {f.id for f in files.data}


# --- what a batch of A wrote, A's running batch, and walking every page --------------------


def set_priority(client, batch_id: str, body: dict) -> Batch:
    """Our extension: POST /v1/batches/{id}/priority {"priority": N}."""
    return client.post(f"/batches/{batch_id}/priority", body=body, cast_to=Batch)


def assert_no_such_batch(call, batch_id: str) -> None:
    """B gets the answer for a batch nobody has: 404, never a 409 that tells A's status."""
    with pytest.raises(openai.NotFoundError) as exc:
        call()
    err = assert_error_envelope(exc.value, 404, NOT_FOUND)
    assert err["message"] == f"No batch found with id '{batch_id}'."


def test_b_cannot_download_delete_or_reuse_what_a_batch_of_a_wrote(
    client, other_client, completed_chat_batch, download_lines
):
    batch = completed_chat_batch["batch"]
    written = [f for f in (batch.output_file_id, batch.error_file_id) if f]
    assert batch.output_file_id in written
    for file_id in written:
        with pytest.raises(openai.NotFoundError) as exc:
            other_client.files.retrieve(file_id)
        assert assert_error_envelope(exc.value, 404, NOT_FOUND)["message"] == f"No such File object: {file_id}"
        with pytest.raises(openai.NotFoundError) as exc:
            other_client.files.content(file_id)
        assert assert_error_envelope(exc.value, 404, NOT_FOUND)["message"] == f"No such File object: {file_id}"
        with pytest.raises(openai.NotFoundError):
            other_client.files.delete(file_id)
        with pytest.raises(openai.BadRequestError) as exc:
            other_client.batches.create(input_file_id=file_id, endpoint="/v1/chat/completions", completion_window="24h")
        assert assert_error_envelope(exc.value, 400, {"invalid_request_error"})["param"] == "input_file_id"
    # A still has every line B tried to take away.
    assert download_lines(batch.output_file_id) == completed_chat_batch["output"]
    # And the finished batch is as unknown to B as a running one: 404, not 409.
    assert_no_such_batch(lambda: other_client.batches.cancel(batch.id), batch.id)
    assert_no_such_batch(lambda: set_priority(other_client, batch.id, {"priority": 3}), batch.id)


def test_b_cannot_cancel_or_reprioritize_a_running_batch_of_a(
    client, other_client, upload_jsonl, create_batch, wait_terminal, track_file
):
    # Big enough to still run after B's calls on the default simulator (see test_cancel.py).
    size = 30000
    prefix = unique("iso")
    f = upload_jsonl([chat_line(f"{prefix}-{i:05d}", max_tokens=5) for i in range(size)])
    created = create_batch(f.id, extra_body={"priority": 2})
    assert getattr(created, "priority", None) == 2

    assert_no_such_batch(lambda: set_priority(other_client, created.id, {"priority": 9}), created.id)
    assert_no_such_batch(lambda: other_client.batches.cancel(created.id), created.id)
    assert_no_such_batch(lambda: other_client.batches.retrieve(created.id), created.id)
    # B's calls reached a batch that was running: a signal to it would have had an effect.
    assert client.batches.retrieve(created.id).status in {"validating", "in_progress"}

    final = wait_terminal(created.id)
    track_file(final.output_file_id)
    track_file(final.error_file_id)
    # B's calls changed nothing: the batch ran to its end with the priority A gave it.
    assert final.status == "completed", final
    assert final.cancelling_at is None and final.cancelled_at is None
    assert getattr(final, "priority", None) == 2
    assert final.request_counts.completed == final.request_counts.total == size


def test_every_page_of_each_tenants_lists_holds_only_its_own(
    client, other_client, upload_jsonl, create_batch, wait_terminal, file_of_a, batch_of_a
):
    own_files = [upload_jsonl([chat_line(f"b-page-{i}")], client=other_client).id for i in range(3)]
    own_batch = create_batch(own_files[0], client=other_client)
    wait_terminal(own_batch.id, client=other_client)
    own_files.append(upload_jsonl([chat_line("a-page")]).id)  # one more of A's, made after B's

    # The client follows `after` from page to page; one object a page walks every cursor.
    b_files = [f.id for f in other_client.files.list(limit=1)]
    b_batches = [b.id for b in other_client.batches.list(limit=1)]
    assert len(b_files) == len(set(b_files)), "a file listed twice"
    assert set(own_files[:3]) <= set(b_files)
    assert own_batch.id in b_batches
    assert file_of_a.id not in b_files and own_files[3] not in b_files
    assert batch_of_a.id not in b_batches

    a_files = {f.id for f in client.files.list(limit=100)}
    a_batches = {b.id for b in client.batches.list(limit=100)}
    assert file_of_a.id in a_files and own_files[3] in a_files
    assert batch_of_a.id in a_batches
    assert not a_files & set(own_files[:3])
    assert own_batch.id not in a_batches
    # A cursor that is B's own id pages on within B's objects only.
    page = other_client.files.list(limit=100, after=own_files[2])
    assert not {f.id for f in page.data} & {file_of_a.id, own_files[3]}
