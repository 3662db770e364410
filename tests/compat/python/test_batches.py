"""/v1/batches through client.batches.*: a chat batch run to completion and every invariant
a client checks on it, an embeddings batch, validation failures, and the list."""

from __future__ import annotations

import time
from collections import Counter

import pytest

from compat_helpers import DAY, MODEL, OUTPUT_KEYS, chat_line, embedding_line, jsonl_bytes

# --- the 50-line chat batch (fixture completed_chat_batch in conftest.py) ----------


def test_create_answers_a_validating_batch(completed_chat_batch):
    created = completed_chat_batch["created"]
    assert created.id.startswith("batch_")
    assert created.object == "batch"
    assert created.status == "validating"
    assert created.endpoint == "/v1/chat/completions"
    assert created.input_file_id == completed_chat_batch["input_file"].id
    assert created.completion_window == "24h"
    assert created.metadata == {"suite": "compat", "case": "chat-50"}
    counts = created.request_counts
    assert (counts.total, counts.completed, counts.failed) == (0, 0, 0)
    assert created.expires_at == created.created_at + DAY
    assert abs(created.created_at - time.time()) < 600
    for field in ("output_file_id", "error_file_id", "in_progress_at", "finalizing_at", "completed_at",
                  "failed_at", "expired_at", "cancelling_at", "cancelled_at"):
        assert getattr(created, field) is None, field


def test_chat_batch_completes(completed_chat_batch):
    batch = completed_chat_batch["batch"]
    assert batch.status == "completed", batch.errors
    assert batch.errors is None or not batch.errors.data
    assert batch.model in (None, MODEL)
    assert batch.metadata == {"suite": "compat", "case": "chat-50"}
    for field in ("failed_at", "expired_at", "cancelling_at", "cancelled_at"):
        assert getattr(batch, field) is None, field


def test_request_counts_match_the_files(completed_chat_batch):
    batch = completed_chat_batch["batch"]
    counts = batch.request_counts
    n = len(completed_chat_batch["lines"])
    assert counts.completed + counts.failed == counts.total == n
    assert len(completed_chat_batch["output"]) == counts.completed
    assert len(completed_chat_batch["errors"]) == counts.failed
    # The simulator answers every request.
    assert counts.completed == n
    assert batch.output_file_id is not None


def test_every_custom_id_exactly_once(completed_chat_batch):
    ids = [line["custom_id"] for line in completed_chat_batch["output"] + completed_chat_batch["errors"]]
    expected = [line["custom_id"] for line in completed_chat_batch["lines"]]
    duplicates = {k: v for k, v in Counter(ids).items() if v > 1}
    assert not duplicates, duplicates
    assert sorted(ids) == sorted(expected)


def test_output_lines_shape(completed_chat_batch):
    request_ids = set()
    for line in completed_chat_batch["output"]:
        assert list(line.keys()) == OUTPUT_KEYS, line.keys()
        assert isinstance(line["id"], str) and line["id"].startswith("batch_req_"), line["id"]
        assert line["error"] is None
        response = line["response"]
        assert response["status_code"] == 200
        assert isinstance(response.get("request_id"), str) and response["request_id"]
        body = response["body"]
        assert body["object"] == "chat.completion"
        assert body["choices"], body
        usage = body["usage"]
        assert usage["prompt_tokens"] > 0
        assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]
        request_ids.add(line["id"])
    assert len(request_ids) == len(completed_chat_batch["output"]), "batch_req ids are not unique"


def test_error_file_consistent(completed_chat_batch):
    batch = completed_chat_batch["batch"]
    if batch.request_counts.failed == 0:
        # No failures: either no error file, or an empty one.
        assert completed_chat_batch["errors"] == []
    else:
        assert batch.error_file_id is not None
    for line in completed_chat_batch["errors"]:
        assert list(line.keys()) == OUTPUT_KEYS


def test_timestamps_ordered(completed_chat_batch):
    b = completed_chat_batch["batch"]
    assert None not in (b.in_progress_at, b.finalizing_at, b.completed_at)
    assert b.created_at <= b.in_progress_at <= b.finalizing_at <= b.completed_at
    assert b.expires_at == b.created_at + DAY
    assert b.created_at == completed_chat_batch["created"].created_at


def test_batch_usage_is_sum_of_line_usage(completed_chat_batch):
    b = completed_chat_batch["batch"]
    lines = completed_chat_batch["output"]
    prompt = sum(line["response"]["body"]["usage"]["prompt_tokens"] for line in lines)
    completion = sum(line["response"]["body"]["usage"]["completion_tokens"] for line in lines)
    assert b.usage is not None
    assert b.usage.input_tokens == prompt
    assert b.usage.output_tokens == completion
    assert b.usage.total_tokens == prompt + completion
    assert b.usage.input_tokens_details.cached_tokens >= 0
    assert b.usage.output_tokens_details.reasoning_tokens >= 0


def test_output_file_object(client, completed_chat_batch):
    b = completed_chat_batch["batch"]
    f = client.files.retrieve(b.output_file_id)
    assert f.purpose == "batch_output"
    assert f.filename == f"batch_output_{b.id}.jsonl"
    raw = client.files.content(b.output_file_id).read()
    assert f.bytes == len(raw)
    if b.error_file_id is not None:
        e = client.files.retrieve(b.error_file_id)
        assert e.purpose == "batch_output"
        assert e.filename == f"batch_error_{b.id}.jsonl"


def test_retrieve_is_stable_after_completion(client, completed_chat_batch):
    b = completed_chat_batch["batch"]
    again = client.batches.retrieve(b.id)
    assert again.model_dump() == b.model_dump()


# --- other endpoints --------------------------------------------------------------


def test_embeddings_batch_completes(upload_jsonl, create_batch, wait_terminal, download_lines, track_file):
    lines = [embedding_line(f"emb-{i}", f"text number {i}") for i in range(10)]
    f = upload_jsonl(lines)
    created = create_batch(f.id, endpoint="/v1/embeddings")
    assert created.endpoint == "/v1/embeddings"
    b = wait_terminal(created.id)
    track_file(b.output_file_id)
    track_file(b.error_file_id)
    assert b.status == "completed", b.errors
    assert b.request_counts.total == b.request_counts.completed == 10
    assert b.request_counts.failed == 0
    out = download_lines(b.output_file_id)
    assert sorted(line["custom_id"] for line in out) == sorted(line["custom_id"] for line in lines)
    for line in out:
        assert list(line.keys()) == OUTPUT_KEYS
        assert line["response"]["status_code"] == 200
        body = line["response"]["body"]
        assert body["object"] == "list"
        assert isinstance(body["data"][0]["embedding"], list) and body["data"][0]["embedding"]
    prompt = sum(line["response"]["body"]["usage"]["prompt_tokens"] for line in out)
    assert b.usage.input_tokens == prompt


def test_extension_fields_accepted_on_create(upload_jsonl, create_batch, wait_terminal, track_file):
    f = upload_jsonl([chat_line(f"ext-{i}") for i in range(3)])
    created = create_batch(f.id, extra_body={"priority": 7, "sort_by_prefix": False})
    assert created.status == "validating"
    assert getattr(created, "priority", None) == 7
    b = wait_terminal(created.id)
    track_file(b.output_file_id)
    assert b.status == "completed", b.errors
    assert b.request_counts.completed == 3


# --- validation failures: the whole batch fails, one errors.data entry per bad line ------


def run_invalid(upload_jsonl, create_batch, wait_terminal, lines):
    f = upload_jsonl(jsonl_bytes(lines))
    b = wait_terminal(create_batch(f.id).id)
    assert b.status == "failed", f"status {b.status}, errors {b.errors}"
    assert b.errors is not None and b.errors.object == "list"
    assert b.errors.data, "a failed batch must say why"
    assert b.failed_at is not None and b.created_at <= b.failed_at
    assert b.in_progress_at is None  # validating -> failed, never in progress
    assert b.output_file_id is None
    return b


def the_entry(batch, code):
    entries = [e for e in batch.errors.data if e.code == code]
    assert len(entries) == 1, f"expected one {code} entry, got {batch.errors.data}"
    return entries[0]


def test_unknown_model_fails_validation(upload_jsonl, create_batch, wait_terminal):
    lines = [chat_line("m-1"), chat_line("m-2"), chat_line("m-3", model="no-such-model/at-all"), chat_line("m-4")]
    b = run_invalid(upload_jsonl, create_batch, wait_terminal, lines)
    e = the_entry(b, "model_not_found")
    assert e.line == 3
    assert e.param == "body.model"
    assert len(b.errors.data) == 1


def test_duplicate_custom_id_fails_validation(upload_jsonl, create_batch, wait_terminal):
    lines = [chat_line("dup-1"), chat_line("dup-2"), chat_line("dup-3"), chat_line("dup-2"), chat_line("dup-5")]
    b = run_invalid(upload_jsonl, create_batch, wait_terminal, lines)
    e = the_entry(b, "duplicate_custom_id")
    assert e.line == 4  # the second occurrence
    assert e.param == "custom_id"
    assert len(b.errors.data) == 1


def test_line_not_json_fails_validation(upload_jsonl, create_batch, wait_terminal):
    lines = [chat_line("j-1"), '{"custom_id": "j-2", "method": "POST", "url": ', chat_line("j-3")]
    b = run_invalid(upload_jsonl, create_batch, wait_terminal, lines)
    e = the_entry(b, "invalid_json_line")
    assert e.line == 2
    assert e.param is None
    assert len(b.errors.data) == 1


@pytest.mark.parametrize(
    "mutate, code, param",
    [
        (lambda line: line.update(url="/v1/embeddings"), "invalid_url", "url"),
        (lambda line: line.update(method="GET"), "invalid_method", "method"),
        (lambda line: line["body"].update(stream=True), "streaming_unsupported", "body.stream"),
        (lambda line: line.pop("custom_id"), "missing_required_parameter", "custom_id"),
        (lambda line: line["body"].pop("messages"), "invalid_request", "body.messages"),
    ],
    ids=["url", "method", "stream", "custom_id", "messages"],
)
def test_bad_line_table(upload_jsonl, create_batch, wait_terminal, mutate, code, param):
    lines = [chat_line(f"t-{i}") for i in range(1, 5)]
    mutate(lines[1])
    b = run_invalid(upload_jsonl, create_batch, wait_terminal, lines)
    e = the_entry(b, code)
    assert e.line == 2
    assert e.param == param
    assert len(b.errors.data) == 1


def test_every_bad_line_is_reported(upload_jsonl, create_batch, wait_terminal):
    lines = [
        chat_line("all-1"),
        chat_line("all-2", model="no-such-model"),
        chat_line("all-3"),
        chat_line("all-1"),
        "not json at all",
        chat_line("all-6"),
    ]
    b = run_invalid(upload_jsonl, create_batch, wait_terminal, lines)
    got = sorted((e.line, e.code) for e in b.errors.data)
    assert got == [(2, "model_not_found"), (4, "duplicate_custom_id"), (5, "invalid_json_line")]


# --- list ------------------------------------------------------------------------


def test_list_batches_pages_to_the_end_newest_first(client, upload_jsonl, create_batch, session_batches):
    f = upload_jsonl([chat_line("l-1")])
    mine = [create_batch(f.id).id for _ in range(3)]
    expected = list(session_batches)  # everything this session created so far, oldest first
    assert set(mine) <= set(expected)

    seen = []
    created = []
    for b in client.batches.list(limit=2):  # auto-paging with after=<last id>
        seen.append(b.id)
        created.append(b.created_at)
        assert len(seen) <= 50_000, "batch list does not end: is 'after' ignored?"

    assert len(seen) == len(set(seen)), "a batch was listed twice across pages"
    missing = [batch_id for batch_id in expected if batch_id not in seen]
    assert not missing, f"batches of this session not listed: {missing}"
    positions = [seen.index(batch_id) for batch_id in expected]
    assert positions == sorted(positions, reverse=True), "not newest first"
    assert created == sorted(created, reverse=True)


def test_list_batches_page_shape(client, upload_jsonl, create_batch):
    f = upload_jsonl([chat_line("ls-1")])
    first = create_batch(f.id)
    second = create_batch(f.id)
    page = client.batches.list(limit=1)
    assert page.object == "list"
    assert [b.id for b in page.data] == [second.id]
    assert page.has_more is True
    assert page.first_id == page.last_id == second.id
    nxt = page.get_next_page()
    assert [b.id for b in nxt.data] == [first.id]
    default = client.batches.list()
    assert 2 <= len(default.data) <= 20
