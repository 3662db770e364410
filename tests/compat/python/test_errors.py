"""Error answers: the exception class the official client raises, and the envelope."""

from __future__ import annotations

import openai
import pytest

from compat_helpers import API_KEY, GATEWAY_URL, assert_error_envelope, chat_line, jsonl_bytes, make_client

BAD_REQUEST = {"invalid_request_error"}
NOT_FOUND = {"invalid_request_error", "not_found_error"}


@pytest.fixture(scope="module")
def batch_input(upload_jsonl):
    return upload_jsonl([chat_line("err-1"), chat_line("err-2")])


def test_batch_upload_must_be_jsonl(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.files.create(file=("requests.txt", jsonl_bytes([chat_line("x-1")])), purpose="batch")
    err = assert_error_envelope(exc.value, 400, BAD_REQUEST)
    assert err["message"] == "Invalid file format for Batch API. Must be .jsonl"


def test_unknown_purpose(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.files.create(file=("x.jsonl", jsonl_bytes([chat_line("x-1")])), purpose="nonsense")  # type: ignore[arg-type]
    err = assert_error_envelope(exc.value, 400, BAD_REQUEST)
    assert err["param"] == "purpose"


def test_bad_api_key():
    bad = make_client("sk-not-a-real-key", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        bad.files.list()
    assert_error_envelope(exc.value, 401, {"authentication_error"})
    with pytest.raises(openai.AuthenticationError):
        bad.batches.retrieve("batch_whatever")
    # The key must not be echoed back in full.
    assert "sk-not-a-real-key" not in exc.value.response.text


def test_unknown_batch_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as exc:
        client.batches.retrieve("batch_doesnotexist000000000")
    err = assert_error_envelope(exc.value, 404, NOT_FOUND)
    assert err["message"] == "No batch found with id 'batch_doesnotexist000000000'."
    with pytest.raises(openai.NotFoundError):
        client.batches.cancel("batch_doesnotexist000000000")


def test_unknown_route_is_not_found(client):
    with pytest.raises(openai.NotFoundError) as exc:
        client.get("/no-such-endpoint", cast_to=object)
    err = assert_error_envelope(exc.value, 404, NOT_FOUND)
    assert err["message"].startswith("Unknown request URL:")


def test_endpoint_not_allowed(client, batch_input):
    # The client itself accepts this endpoint; the gateway does not serve it.
    with pytest.raises(openai.BadRequestError) as exc:
        client.batches.create(
            input_file_id=batch_input.id, endpoint="/v1/images/generations", completion_window="24h"
        )
    err = assert_error_envelope(exc.value, 400, BAD_REQUEST)
    assert err["param"] == "endpoint"
    assert err["code"] == "invalid_value"
    assert exc.value.param == "endpoint"  # the client exposes it too


def test_completion_window_not_offered(client, batch_input):
    with pytest.raises(openai.BadRequestError) as exc:
        client.batches.create(
            input_file_id=batch_input.id,
            endpoint="/v1/chat/completions",
            completion_window="1h",  # type: ignore[arg-type]
        )
    err = assert_error_envelope(exc.value, 400, BAD_REQUEST)
    assert err["param"] == "completion_window"


def test_metadata_more_than_16_pairs(client, batch_input):
    with pytest.raises(openai.BadRequestError) as exc:
        client.batches.create(
            input_file_id=batch_input.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={f"k{i}": "v" for i in range(17)},
        )
    err = assert_error_envelope(exc.value, 400, BAD_REQUEST)
    assert err["param"] == "metadata"


def test_metadata_16_pairs_is_fine(create_batch, batch_input):
    meta = {f"k{i}": "v" * 512 for i in range(16)}
    batch = create_batch(batch_input.id, metadata=meta)
    assert batch.metadata == meta


def test_metadata_value_too_long(client, batch_input):
    with pytest.raises(openai.BadRequestError) as exc:
        client.batches.create(
            input_file_id=batch_input.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"long": "v" * 513},
        )
    err = assert_error_envelope(exc.value, 400, BAD_REQUEST)
    assert err["param"] in {"metadata", "metadata.long"}


def test_batch_from_unknown_file(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.batches.create(
            input_file_id="file-doesnotexist000000000", endpoint="/v1/chat/completions", completion_window="24h"
        )
    assert_error_envelope(exc.value, 400, BAD_REQUEST)


def test_batch_from_file_of_wrong_purpose(client, upload_jsonl):
    f = upload_jsonl([chat_line("w-1")], purpose="user_data")
    with pytest.raises(openai.BadRequestError) as exc:
        client.batches.create(input_file_id=f.id, endpoint="/v1/chat/completions", completion_window="24h")
    assert_error_envelope(exc.value, 400, BAD_REQUEST)


def test_missing_required_parameter(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.post("/batches", body={"endpoint": "/v1/chat/completions", "completion_window": "24h"}, cast_to=object)
    err = assert_error_envelope(exc.value, 400, BAD_REQUEST)
    assert err["param"] == "input_file_id"
