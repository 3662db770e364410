"""Tenant isolation: tenant B (BGW_TEST_OTHER_API_KEY) can neither see nor use what
tenant A (BGW_TEST_API_KEY) owns. Every test here skips when no second key is set."""

from __future__ import annotations

import openai
import pytest

from compat_helpers import assert_error_envelope, chat_line

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
