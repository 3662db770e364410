"""/v1/files through client.files.*: upload, retrieve, list (cursor paging), content, delete."""

from __future__ import annotations

import time

import openai
import pytest

from compat_helpers import THIRTY_DAYS, assert_error_envelope, chat_line, jsonl_bytes, unique

# Big enough to exercise streaming; all lines distinct so a reordering would show.
PAYLOAD_LINES = [chat_line(f"f-{i:04d}", f"line {i} with unicode: é ü 漢字 🙂") for i in range(300)]


def test_upload_returns_file_object(upload_jsonl):
    data = jsonl_bytes(PAYLOAD_LINES)
    name = f"{unique('upload')}.jsonl"
    before = int(time.time())
    f = upload_jsonl(data, filename=name)
    after = int(time.time())

    assert f.id.startswith("file-")
    assert f.object == "file"
    assert f.bytes == len(data)
    assert f.filename == name
    assert f.purpose == "batch"
    assert f.status in {"uploaded", "processed", "error"}
    assert f.status != "error"
    assert before - 5 <= f.created_at <= after + 5
    # Contract: batch files expire after 30 days by default.
    assert f.expires_at == f.created_at + THIRTY_DAYS


def test_upload_with_expires_after(upload_jsonl):
    f = upload_jsonl([chat_line("e-1")], expires_after={"anchor": "created_at", "seconds": 3600})
    assert f.expires_at == f.created_at + 3600


def test_upload_expires_after_out_of_range_is_bad_request(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.files.create(
            file=("short.jsonl", jsonl_bytes([chat_line("e-1")])),
            purpose="batch",
            expires_after={"anchor": "created_at", "seconds": 60},
        )
    assert_error_envelope(exc.value, 400, {"invalid_request_error"})


def test_retrieve_matches_upload(client, upload_jsonl):
    f = upload_jsonl([chat_line("r-1")])
    got = client.files.retrieve(f.id)
    assert got.model_dump() == f.model_dump()


def test_content_is_byte_identical(client, upload_jsonl):
    data = jsonl_bytes(PAYLOAD_LINES)
    f = upload_jsonl(data)
    # The official client sends Accept: application/binary here.
    assert client.files.content(f.id).read() == data


def test_content_headers(client, upload_jsonl):
    name = f"{unique('headers')}.jsonl"
    data = jsonl_bytes([chat_line("h-1")])
    f = upload_jsonl(data, filename=name)
    raw = client.files.with_raw_response.content(f.id)
    assert raw.http_request.headers["accept"] == "application/binary"
    assert raw.status_code == 200
    assert raw.headers["content-type"].split(";")[0].strip() == "application/octet-stream"
    disposition = raw.headers.get("content-disposition", "")
    assert disposition.startswith("attachment")
    assert f'filename="{name}"' in disposition
    assert raw.content == data


def test_list_pages_through_every_file_newest_first(client, upload_jsonl):
    mine = [upload_jsonl([chat_line(f"p-{i}")]).id for i in range(5)]

    seen = []
    created = []
    for f in client.files.list(limit=2):  # auto-paging: one request per 2 files
        seen.append(f.id)
        created.append(f.created_at)
        assert len(seen) <= 20_000, "file list does not end: is 'after' ignored?"

    assert len(seen) == len(set(seen)), "a file was listed twice across pages"
    for file_id in mine:
        assert seen.count(file_id) == 1, f"{file_id} listed {seen.count(file_id)} times"
    # Newest first: the five appear in reverse upload order ...
    positions = [seen.index(file_id) for file_id in mine]
    assert positions == sorted(positions, reverse=True), positions
    # ... and created_at never increases along the whole list.
    assert created == sorted(created, reverse=True)


def test_list_first_page_shape(client, upload_jsonl):
    upload_jsonl([chat_line("s-1")])
    upload_jsonl([chat_line("s-2")])
    page = client.files.list(limit=1)
    assert page.object == "list"
    assert len(page.data) == 1
    assert page.has_more is True
    assert page.first_id == page.data[0].id
    assert page.last_id == page.data[-1].id
    nxt = page.get_next_page()
    assert len(nxt.data) == 1
    assert nxt.data[0].id != page.data[0].id


def test_list_ascending(client, upload_jsonl):
    mine = [upload_jsonl([chat_line(f"a-{i}")]).id for i in range(3)]
    seen = [f.id for f in client.files.list(limit=2, order="asc")]
    assert len(seen) == len(set(seen))
    positions = [seen.index(file_id) for file_id in mine]
    assert positions == sorted(positions), positions
    created = [f.created_at for f in client.files.list(order="asc")]
    assert created == sorted(created)


def test_list_purpose_filter(client, upload_jsonl):
    batch_file = upload_jsonl([chat_line("u-1")])
    other = upload_jsonl([chat_line("u-2")], purpose="user_data")

    batch_ids = set()
    for f in client.files.list(purpose="batch", limit=50):
        assert f.purpose == "batch"
        batch_ids.add(f.id)
    assert batch_file.id in batch_ids
    assert other.id not in batch_ids

    user_ids = {f.id for f in client.files.list(purpose="user_data")}
    assert other.id in user_ids
    assert batch_file.id not in user_ids


def test_list_bad_order_is_bad_request(client):
    with pytest.raises(openai.BadRequestError) as exc:
        client.files.list(order="sideways")  # type: ignore[arg-type]
    err = assert_error_envelope(exc.value, 400, {"invalid_request_error"})
    assert err["param"] == "order"


def test_delete_then_retrieve_is_not_found(client, upload_jsonl):
    f = upload_jsonl([chat_line("d-1")])
    deleted = client.files.delete(f.id)
    assert deleted.id == f.id
    assert deleted.object == "file"
    assert deleted.deleted is True

    with pytest.raises(openai.NotFoundError) as exc:
        client.files.retrieve(f.id)
    err = assert_error_envelope(exc.value, 404, {"invalid_request_error", "not_found_error"})
    assert err["message"] == f"No such File object: {f.id}"
    assert err["param"] == "id"

    with pytest.raises(openai.NotFoundError):
        client.files.content(f.id)
    with pytest.raises(openai.NotFoundError):
        client.files.delete(f.id)
    assert f.id not in {x.id for x in client.files.list(purpose="batch")}


def test_unknown_file_is_not_found(client):
    missing = "file-doesnotexist0000000000"
    with pytest.raises(openai.NotFoundError) as exc:
        client.files.retrieve(missing)
    err = assert_error_envelope(exc.value, 404, {"invalid_request_error", "not_found_error"})
    assert err["message"] == f"No such File object: {missing}"
