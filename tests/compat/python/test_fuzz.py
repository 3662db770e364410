"""The fuzz suite against the running gateway (issue 11).

schemathesis generates requests for every operation of the document the gateway serves
(GET /v1/openapi.yaml), both valid ones and ones that break the schema; hypothesis
strategies of our own add what schemathesis does not send: malformed multipart bodies,
bytes that are not UTF-8, huge and deeply nested JSON, odd ids, cursors and page sizes.
Every answer must come within REQUEST_TIMEOUT and must not be a 5xx; answers from the API
must be the OpenAI error envelope when they are not 2xx. A normal batch then still completes.

Sizing: BGW_TEST_FUZZ_EXAMPLES is the number of cases per schemathesis operation and per
strategy; at the default of 500 a run sent 7,270 requests in 54 s on the 2-core machine.
The JSONL validator's property tests (LineValidatorPropertiesTest, 16,300 cases) are the
other half of the suite and run in `mvn test`.
"""

from __future__ import annotations

import json
import os
import random
import urllib.parse
from collections import Counter

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from compat_helpers import API_KEY, GATEWAY_URL, chat_line, unique

ROOT = GATEWAY_URL.rstrip("/").removesuffix("/v1")
EXAMPLES = int(os.environ.get("BGW_TEST_FUZZ_EXAMPLES", "500"))
REQUEST_TIMEOUT = 15.0
AUTH = {"Authorization": f"Bearer {API_KEY}"}

# Cases sent, by test; the last test reports and checks the total.
CASES: Counter[str] = Counter()

FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    # Failures are reported as generated: shrinking them could take minutes against a server.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)

_session = requests.Session()


def _send(method: str, path: str, **kwargs) -> requests.Response:
    kwargs.setdefault("timeout", REQUEST_TIMEOUT)
    # A fresh connection each: the gateway answers some requests before reading their body
    # (an unknown batch, a broken form), and Jetty then closes the connection rather than
    # read the rest, which a reused connection would report as the next request's failure.
    headers = {**AUTH, "Connection": "close", **kwargs.pop("headers", {})}
    try:
        return _session.request(method, ROOT + path, headers=headers, **kwargs)
    except requests.ConnectionError:
        # Jetty refuses a malformed request line (a NUL in the path) and closes at once; now and
        # then the close overtakes its answer. Once more, counted; a second loss fails the case.
        CASES["connection_retries"] += 1
        return _session.request(method, ROOT + path, headers=headers, **kwargs)


def _assert_sane(response: requests.Response, what: str) -> None:
    """No 5xx; a non-2xx from the API is the envelope with all four keys."""
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:500]}"
    if response.status_code >= 400 and response.headers.get("content-type", "").startswith("application/json"):
        error = response.json()["error"]
        assert set(error) >= {"message", "type", "param", "code"}, f"{what}: {error}"
        # What the client sent is quoted only in part (ErrorText.MAX_QUOTED_CHARS, twice at most).
        assert len(error["message"]) <= 1500, f"{what}: a message of {len(error['message'])} chars"
        assert error["param"] is None or len(error["param"]) <= 300, f"{what}: param {error['param'][:300]!r}..."


def _cleanup_file(response) -> None:
    """Deletes what an upload that went through stored."""
    content_type = response.headers.get("content-type", "")
    if isinstance(content_type, list):  # schemathesis' responses hold lists of values
        content_type = content_type[0] if content_type else ""
    if response.status_code == 200 and content_type.startswith("application/json"):
        body = response.json()
        if isinstance(body, dict) and body.get("object") == "file":
            _send("DELETE", f"/v1/files/{body['id']}")


# --- schemathesis, from the served document ------------------------------------------------


def _load_schema():
    loaded = schemathesis.openapi.from_url(f"{ROOT}/v1/openapi.yaml", timeout=REQUEST_TIMEOUT)
    loaded.config.update(base_url=ROOT)
    return loaded


# Loaded when the module is collected: the compatibility suite runs against a live gateway.
# (schemathesis.pytest.from_fixture fails under pytest 9.)
schema = _load_schema()


# Not negative_data_rejection: the gateway ignores query parameters it does not know, as
# OpenAI does, and the key sent with every case undoes schemathesis' missing-key mutations.
# Invalid data must still never be a 5xx nor an undocumented status.
@schema.parametrize()
@FUZZ_SETTINGS
def test_schemathesis(case):
    response = case.call_and_validate(
        headers=AUTH,
        timeout=REQUEST_TIMEOUT,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
    CASES["schemathesis"] += 1
    _cleanup_file(response)


# --- multipart uploads that are broken in every way ----------------------------------------

_texts = st.text(st.characters(codec="utf-8"), max_size=40)
_raw = st.binary(max_size=64)


@st.composite
def multipart_bodies(draw):
    boundary = draw(
        st.one_of(
            st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=70),
            st.just("x" * 200),
            st.just(""),
        )
    )
    b = boundary.encode("utf-8")
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.one_of(st.sampled_from(["file", "purpose", "expires_after[anchor]", "expires_after[seconds]"]), _texts))
        disposition = draw(
            st.sampled_from(
                [
                    b'form-data; name="%s"' % name.encode("utf-8", "surrogatepass"),
                    b'form-data; name="%s"; filename="%s"'
                    % (name.encode("utf-8", "surrogatepass"), draw(_texts).encode("utf-8", "surrogatepass")),
                    b"form-data; name=" + name.encode("utf-8", "surrogatepass"),
                    b"form-data",
                    b"attachment; filename*=UTF-8''%C3%A9.jsonl",
                    b'form-data; name="file"; filename="\xff\xfe.jsonl"',
                    b'form-data; name="file"; filename="a.jsonl"\r\nX-Injected: yes',
                ]
            )
        )
        headers = b"Content-Disposition: " + disposition
        if draw(st.booleans()):
            headers += b"\r\nContent-Type: " + draw(st.sampled_from([b"application/jsonl", b"text/plain; charset=latin-1", b"\xc3\x28"]))
        if name == "purpose":
            value = draw(st.one_of(st.sampled_from([b"batch", b"user_data", b"batch_output"]), _raw))
        elif name == "expires_after[seconds]":
            value = draw(st.sampled_from([b"3600", b"-1", b"99999999999999999999", b"1e4", b"", b"\xff"]))
        else:
            value = draw(
                st.one_of(
                    _raw,
                    st.just(json.dumps(chat_line("fz-1")).encode() + b"\n"),
                    st.just(b"--" + b + b"\r\n"),
                )
            )
        parts.append(b"--" + b + b"\r\n" + headers + b"\r\n\r\n" + value + b"\r\n")
    body = b"".join(parts)
    if draw(st.booleans()):
        body += b"--" + b + b"--\r\n"
    mutation = draw(st.sampled_from(["none", "truncate", "junk", "no-crlf", "lf-only"]))
    if mutation == "truncate" and body:
        body = body[: draw(st.integers(0, len(body) - 1))]
    elif mutation == "junk":
        at = draw(st.integers(0, len(body)))
        body = body[:at] + draw(_raw) + body[at:]
    elif mutation == "no-crlf":
        body = body.replace(b"\r\n", b"")
    elif mutation == "lf-only":
        body = body.replace(b"\r\n", b"\n")
    content_type = draw(
        st.sampled_from(
            [
                "multipart/form-data; boundary=" + boundary,
                'multipart/form-data; boundary="' + boundary + '"',
                "multipart/form-data",
                "multipart/form-data; boundary=",
                "multipart/mixed; boundary=" + boundary,
                "application/json",
                "multipart/form-data; boundary=" + boundary + "; boundary=other",
            ]
        )
    )
    return content_type, body


@FUZZ_SETTINGS
@given(multipart_bodies())
def test_malformed_multipart_uploads(form):
    content_type, body = form
    try:
        header_value = content_type.encode("latin-1").decode("latin-1")
    except UnicodeEncodeError:
        header_value = "multipart/form-data"
    response = _send("POST", "/v1/files", data=body, headers={"Content-Type": header_value})
    CASES["multipart"] += 1
    _assert_sane(response, f"upload {content_type!r} {body[:200]!r}")
    assert response.status_code in {200, 400, 413}, response.text[:300]
    if response.status_code == 200:
        # The stored name comes back in Content-Disposition: whatever it holds, a sane header.
        file_id = response.json()["id"]
        download = _send("GET", f"/v1/files/{file_id}/content")
        _assert_sane(download, f"download of {response.json()['filename']!r}")
        assert download.status_code == 200
        assert "\n" not in download.headers.get("content-disposition", "")
    _cleanup_file(response)


# --- JSON bodies: not UTF-8, huge, deep -------------------------------------------------------

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _texts,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_texts, children, max_size=4),
    max_leaves=20,
)


@st.composite
def json_bodies(draw):
    kind = draw(st.sampled_from(["object", "bytes", "not-utf8", "deep", "huge-string", "huge-number", "duplicate-keys"]))
    if kind == "object":
        fields = draw(
            st.dictionaries(
                st.sampled_from(
                    ["input_file_id", "endpoint", "completion_window", "metadata", "output_expires_after", "priority", "sort_by_prefix", "x"]
                ),
                _json_values,
                max_size=7,
            )
        )
        return json.dumps(fields).encode()
    if kind == "bytes":
        return draw(st.binary(max_size=200))
    if kind == "not-utf8":
        bad = draw(st.sampled_from([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc3"]))
        return b'{"input_file_id":"file-' + bad + b'","endpoint":"/v1/chat/completions","completion_window":"24h"}'
    if kind == "deep":
        depth = draw(st.integers(1, 200_000))
        opener, closer = draw(st.sampled_from([("[", "]"), ('{"a":', "}")]))
        return b'{"metadata":' + (opener * depth + "1" + closer * depth).encode() + b"}"
    if kind == "huge-string":
        size = draw(st.sampled_from([1000, 100_000, 1_048_000, 1_048_577, 3_000_000]))
        return b'{"input_file_id":"' + b"x" * size + b'"}'
    if kind == "huge-number":
        digits = draw(st.integers(1, 200_000))
        field = draw(st.sampled_from(["priority", "output_expires_after"]))
        number = b"9" * digits if draw(st.booleans()) else b"1e" + str(digits).encode()
        if field == "priority":
            return b'{"priority":' + number + b"}"
        return b'{"output_expires_after":{"anchor":"created_at","seconds":' + number + b"}}"
    return b'{"priority":1,"priority":"x","endpoint":"/v1/embeddings","endpoint":[]}'


@FUZZ_SETTINGS
@given(json_bodies(), st.sampled_from(["create", "priority"]), st.sampled_from(["application/json", "text/plain", None]))
def test_odd_json_bodies(body, where, content_type):
    path = "/v1/batches" if where == "create" else "/v1/batches/batch_nonexistent/priority"
    headers = {"Content-Type": content_type} if content_type else {}
    response = _send("POST", path, data=body, headers=headers)
    CASES["json"] += 1
    _assert_sane(response, f"{path} {body[:200]!r}")
    assert response.status_code in {400, 404, 413}, f"{body[:200]!r}: {response.status_code} {response.text[:300]}"


# --- odd ids, cursors and page sizes --------------------------------------------------------

_odd_ids = st.one_of(
    _texts,
    st.sampled_from(["file-", "batch_", "file-" + "a" * 2000, "..%2F..%2Fetc%2Fpasswd", "%00", "%zz", "a/b", "null", "-1", "\u202e", "\ud7ff"]),
    st.binary(min_size=1, max_size=30).map(lambda b: urllib.parse.quote_from_bytes(b, safe="")),
).filter(lambda s: s not in ("", ".", ".."))  # dot segments name other routes (the lists)

_odd_numbers = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.sampled_from(["", " 5", "5 ", "1e3", "0x10", "+7", "0", "100", "101", "10000", "10001", "2147483648", "NaN", "٣"]),
    _texts,
)


def _quoted(value: str) -> str:
    # Already percent-encoded ids (from bytes) go as they are; the rest is quoted.
    if "%" in value and all(c.isascii() for c in value):
        return value
    return urllib.parse.quote(value, safe="", errors="surrogatepass")


@FUZZ_SETTINGS
@given(_odd_ids, st.sampled_from(["GET file", "DELETE file", "GET content", "GET batch", "POST cancel"]))
def test_odd_ids(odd_id, route):
    method, kind = route.split(" ")
    path = {
        "file": "/v1/files/{}",
        "content": "/v1/files/{}/content",
        "batch": "/v1/batches/{}",
        "cancel": "/v1/batches/{}/cancel",
    }[kind].format(_quoted(odd_id))
    response = _send(method, path)
    CASES["ids"] += 1
    _assert_sane(response, f"{method} {path[:200]}")
    assert response.status_code in {400, 404, 414, 431}, f"{method} {path[:200]}: {response.status_code}"


@FUZZ_SETTINGS
@given(
    st.sampled_from(["/v1/files", "/v1/batches"]),
    st.dictionaries(st.sampled_from(["limit", "after", "order", "purpose", "limit "]), st.one_of(_odd_numbers, _odd_ids), max_size=4),
)
def test_odd_cursors_and_page_sizes(path, params):
    query = "&".join(f"{_quoted(k)}={_quoted(v)}" for k, v in params.items())
    response = _send("GET", f"{path}?{query}")
    CASES["pages"] += 1
    _assert_sane(response, f"GET {path}?{query[:200]}")
    # 414/431: Jetty's limit on the request line, in the envelope.
    assert response.status_code in {200, 400, 414, 431}, f"{path}?{query[:200]}: {response.status_code} {response.text[:300]}"
    if response.status_code == 200:
        page = response.json()
        assert page["object"] == "list"
        limit = params.get("limit")
        if limit is not None and limit.strip().isdigit() and limit.strip().isascii():
            assert len(page["data"]) <= int(limit)


# --- and afterwards a normal batch still completes ------------------------------------------


def test_a_normal_batch_completes_after_the_fuzzing(upload_jsonl, create_batch, wait_terminal, download_lines, track_file):
    lines = [chat_line(f"after-fuzz-{i}") for i in range(5)]
    batch = create_batch(upload_jsonl(lines).id)
    done = wait_terminal(batch.id)

    assert done.status == "completed", done
    assert done.request_counts.completed == 5
    track_file(done.output_file_id)
    assert sorted(line["custom_id"] for line in download_lines(done.output_file_id)) == sorted(
        line["custom_id"] for line in lines
    )
    retries = CASES.pop("connection_retries", 0)
    total = sum(CASES.values())
    print(f"connections closed before an answer (retried once): {retries}")
    assert retries <= max(3, total // 200), f"{retries} of {total} requests lost their connection"
    print(f"\nfuzz cases sent: {total} {dict(CASES)}")
    # Each test ran its examples (schemathesis: per operation, and more for negative data).
    if CASES:
        assert CASES["multipart"] >= EXAMPLES // 2, CASES
        assert CASES["schemathesis"] >= EXAMPLES, CASES
