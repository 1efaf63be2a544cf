"""Hostile input: generated events never crash the handler, never send a request for
invalid input, never reach anything but the configured endpoint, and send the key encoded;
generated listings never get an upload aborted that the rules do not select.

Replaying a failure: every run draws one seed (``HOSTILE_SEED`` to choose it) and prints
it with the failing example (``note``), so ``HOSTILE_SEED=<seed> make test`` repeats the
run exactly; hypothesis also prints the ``@reproduce_failure`` blob.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import random
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import responses
from hypothesis import HealthCheck, given, note, seed, settings
from hypothesis import event as statistic
from hypothesis import strategies as st

from tests.conftest import ENDPOINT, FakeContext, invoke
from tests.reliability.hostile import (
    Entry,
    Page,
    ScriptedObs,
    checked,
    count_keyless,
    hostile_context,
    http_date,
    iso,
    now,
    parse_sent,
    timer,
)
from tests.reliability.metrics import FIGURES, FUZZ_EXAMPLES, scenario
from tests.support.abandonment_model import AbandonedUploadModel

SEED = int(os.environ.get("HOSTILE_SEED") or random.SystemRandom().randrange(2**32))
ALLOWED = "examplebucket"
HOST = f"{ALLOWED}.obs.cn-north-4.myhuaweicloud.com"
VALID_ID = "000001648453845DBB78F2340DD460AB"
MAX_BATCH = 1000
MAX_DEPTH = 64  # the handler's documented nesting limit for event JSON
DEEP = "[" * 200_000

hostile_buckets = st.sampled_from([
    ALLOWED, "evil.com/x", "a..b", "127.0.0.1", "bucket@host", "examplebucket.evil.com",
    "EXAMPLEBUCKET", "examplebucket:443", "-examplebucket", "examplebucket/../other", "",
    "x" * 64, "exa mple", "examplebucket\n", "other-bucket",
])
hostile_keys = st.one_of(
    st.sampled_from(["../x", "?uploadId=y", "#frag", "%2F", "a\r\nHost: evil", "..", ".",
                     "/", "//", "a/./b", "\x00", "k" * 1025, "", "~", "%00", "\u202e", "😀/../😀",
                     "\u6f22" * 1024, "k" * 1024]),
    st.text(max_size=64),
)
hostile_ids = st.one_of(st.just(VALID_ID), st.sampled_from(
    ["", "x", VALID_ID + "&uploadId=other", VALID_ID[:31], "../" + VALID_ID[3:], VALID_ID + "\r\n",
     " " * 32, "\u212a" * 32]),
    st.text(max_size=40))
header_names = st.sampled_from([
    "x-obs-a", "Host", "x-obs-date", "Authorization", "x-obs-security-token", "X-OBS-B",
    "x-obs-meta-\u212a", "x-obs-meta-\u0130", "x-obs-meta-\u017f", "X-OBS-META-\uff21",
    "x-obs-meta-a\r\nb", "X-Obs-Security-Token", "x-obs-meta-",
])
upload = st.fixed_dictionaries(
    {"bucket": hostile_buckets, "objectKey": hostile_keys, "uploadId": hostile_ids},
    optional={"extensionHeaders": st.one_of(
        st.dictionaries(header_names, st.text(max_size=12), max_size=3),
        st.sampled_from([None, [], "x-obs-a: 1", {"x-obs-a": 5}])),
        "reason": st.one_of(st.text(max_size=30), st.integers(), st.none())},
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=200),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=15,
)
batches = st.fixed_dictionaries({"uploads": st.one_of(
    st.lists(st.one_of(upload, json_values), max_size=5), json_values)})
payloads = st.one_of(upload, batches, json_values)
# A payload as a wrapper carries it: JSON text, the object itself, or something unreadable.
carried = st.one_of(
    st.builds(json.dumps, payloads), payloads,
    st.sampled_from([DEEP, '{"a":' * 100_000, "{", "", "null", "[]", '"text"']),
)
apig = st.fixed_dictionaries(
    {"httpMethod": st.one_of(st.just("POST"), st.none(), st.integers()),
     "requestContext": st.one_of(st.just({}), json_values)},
    optional={"body": st.one_of(
        carried, st.builds(lambda p: base64.b64encode(json.dumps(p).encode()).decode(), payloads),
        st.sampled_from(["not base64!", "////", "wA=="])),
        "isBase64Encoded": st.one_of(st.booleans(), st.none(), st.just("true"))},
)
smn_records = st.lists(st.fixed_dictionaries(
    {"event_source": st.sampled_from(["smn", "SMN", None]),
     "smn": st.one_of(st.fixed_dictionaries({}, optional={"message": carried}), json_values)}),
    min_size=1, max_size=3)
cloud_events = st.fixed_dictionaries({"specversion": st.just("1.0"), "data": carried},
                                     optional={"time": st.sampled_from(
                                         ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59Z",
                                          "", "now"])})
object_keys = st.one_of(hostile_keys, st.integers(), st.none(), st.lists(st.text(max_size=3)),
                        st.booleans())
object_records = st.builds(
    lambda name, entity, extra: {name: entity, **extra},
    st.sampled_from(["s3", "obs"]),
    st.fixed_dictionaries({"bucket": st.fixed_dictionaries({"name": hostile_buckets}),
                           "object": st.fixed_dictionaries({"key": object_keys})}),
    st.fixed_dictionaries({"eventName": st.sampled_from(["ObjectCreated:Put", "ObjectRemoved:Delete", ""])},
                          optional={"eventTime": st.sampled_from(["0001-01-01T00:00:00+14:00", "x", ""])}),
)
events = st.one_of(
    upload, json_values, batches, apig,
    st.builds(lambda records: {"record": records}, smn_records),
    cloud_events,
    st.fixed_dictionaries({"trigger_type": st.just("TIMER"), "user_event": st.one_of(
        st.text(max_size=40), st.none(), st.just(DEEP),
        st.builds(json.dumps, st.dictionaries(st.sampled_from(
            ["buckets", "min_age", "force", "prefixes", "concurrency", "dry_run", "max_aborts"]),
            json_values, max_size=4)),
        st.dictionaries(st.sampled_from(["buckets", "min_age", "force", "dry_run", "max_aborts"]),
                        json_values, max_size=4),
        json_values)}),
    st.fixed_dictionaries({"Records": st.lists(object_records, max_size=2)}),
    st.fixed_dictionaries({"continuation": json_values}),
    st.fixed_dictionaries({"fanout": st.one_of(json_values, st.fixed_dictionaries({
        "run_id": st.text(max_size=8), "chain": st.one_of(st.integers(), st.booleans()),
        "seq": st.one_of(st.integers(), st.booleans()), "tasks": json_values,
        "settings": json_values}))}),
)


# -- the oracle: which items the README's shapes say an event carries --------------------------

def _too_deep(value: Any) -> bool:
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        stack.extend((child, depth + 1) for child in children)
    return False


class _UnreadableError(Exception):
    pass


def _json_text(value: Any) -> Any:
    """A field carrying JSON: text is parsed, anything else taken as it is."""
    if not isinstance(value, str):
        return value
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        raise _UnreadableError from None
    if _too_deep(parsed):
        raise _UnreadableError
    return parsed


def _payload_items(payload: Any) -> list[Any] | None:
    """One upload or a batch of 1-1000; None when the payload is no abandonment."""
    if not isinstance(payload, dict):
        return None
    if "uploads" in payload:
        uploads = payload["uploads"]
        return list(uploads) if isinstance(uploads, list) and 1 <= len(uploads) <= MAX_BATCH else None
    if any(k in payload for k in ("bucket", "bucketName", "bucket_name", "uploadId", "upload_id")):
        return [payload]
    return None


def _carried(value: Any) -> list[Any] | None:
    try:
        return _payload_items(_json_text(value))
    except _UnreadableError:
        return None


def _smn_items(records: list[Any]) -> list[Any]:
    inner = []
    for record in records:
        smn = record.get("smn") if isinstance(record, dict) else None
        message = smn.get("message") if isinstance(smn, dict) else None
        inner.append((message, _carried(message)))
    if len(inner) == 1:
        return inner[0][1] or []
    items: list[Any] = []
    for message, found in inner:
        # An unusable record is one item of the batch, which then fails on its own.
        items.extend(found if found is not None else [message])
    return items if len(items) <= MAX_BATCH else []


def _items(event: Any) -> list[Any]:
    """The abandonment items ``event`` carries, by the README's shapes, in the handler's
    order of recognition; [] for sweeps, refusals and anything unreadable. Total: it
    returns for every value, whatever is missing or of the wrong type."""
    if not isinstance(event, dict):
        return []
    if event.get("trigger_type") == "TIMER":
        return []
    if "continuation" in event and len(event) <= 2:
        return []
    if "fanout" in event and len(event) == 1:
        return []
    records = event.get("Records")
    if isinstance(records, list) and records and all(
            isinstance(r, dict) and ("s3" in r or "obs" in r) for r in records):
        return []  # an object event: a sweep, and the mocked listing is empty
    if "specversion" in event and "data" in event:
        data = event["data"]
        if isinstance(data, dict) and "obs" in data:
            return []
        return _carried(data) or []
    if "httpMethod" in event and "requestContext" in event:
        body = event.get("body")
        if event.get("isBase64Encoded") and isinstance(body, str):
            try:
                body = base64.b64decode(body, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return []
        return [] if body is None else _carried(body) or []
    smn = event.get("record")
    if isinstance(smn, list) and smn and isinstance(smn[0], dict) and (
            smn[0].get("event_source") == "smn"):
        return _smn_items(smn)
    return _payload_items(event) or []


def _acceptable(item: Any) -> AbandonedUploadModel | None:
    if not isinstance(item, dict) or _too_deep(item):
        return None
    try:
        parsed = AbandonedUploadModel.model_validate(item, context={"relaxed_upload_id": False})
    except Exception:
        return None
    return parsed if parsed.bucket == ALLOWED else None


def test_the_oracle_reads_every_wrapper_without_raising() -> None:
    # The shapes that made the old oracle raise KeyError/TypeError on generated events.
    for event in ({"httpMethod": None}, {"httpMethod": "POST", "requestContext": {}},
                  {"httpMethod": "POST", "requestContext": {}, "body": 5},
                  {"record": [{"event_source": "smn"}]}, {"record": []},
                  {"record": [{"event_source": "smn", "smn": "x"}]}, {"specversion": "1.0"},
                  {"specversion": "1.0", "data": None}, {"uploads": None}):
        assert _items(event) == []
    item = {"bucket": ALLOWED, "objectKey": "k", "uploadId": VALID_ID}
    assert _items({"specversion": "1.0", "data": json.dumps(item)}) == [item]
    assert _items({"record": [{"event_source": "smn", "smn": {"message": item}}] * 2}) == [item, item]


@settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, print_blob=True,
          suppress_health_check=list(HealthCheck))
@seed(SEED)
@given(event=events)
def test_hostile_events(event: Any) -> None:
    note(f"replay: HOSTILE_SEED={SEED}")
    FIGURES["events fuzzed"] += 1
    context = FakeContext(user_data={"OBS_ENDPOINT": ENDPOINT, "ALLOWED_BUCKETS": ALLOWED,
                                     "OBS_MAX_RETRY_COUNT": "0"})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as obs:
        obs.add("DELETE", re.compile(r".*"), status=204)
        obs.add("GET", re.compile(r".*"), status=200, body="<ListMultipartUploadsResult>"
                "<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>",
                headers={"Date": http_date(now())})
        reply = invoke(event, context)
        calls = list(obs.calls)
    checked(reply)  # a JSON-ready dict within 6 MB, not an InternalError (counted if so)
    assert reply.get("errorCode") != "InternalError", reply
    count_keyless(parse_sent(c.request.method or "", c.request.url or "") for c in calls)
    expected = [u for u in map(_acceptable, _items(event)) if u is not None]
    deletes = [c for c in calls if c.request.method == "DELETE"]
    for call in calls:
        assert urlsplit(call.request.url).hostname == HOST
    if not expected and deletes:
        FIGURES["requests sent for invalid input"] += len(deletes)
    assert len(deletes) == len(expected)
    # A batch runs concurrently: compare as sorted lists, not in call order.
    sent = []
    for call in deletes:
        path, _, query = call.request.path_url.partition("?")
        sent.append((path, parse_qs(query, keep_blank_values=True)["uploadId"]))
    wanted = [("/" + quote(item.objectKey, safe="/~"), [item.uploadId]) for item in expected]
    assert sorted(sent) == sorted(wanted)
    statistic(f"DELETEs sent: {min(len(sent), 2)}{'+' if len(sent) > 2 else ''}")


# -- generated listings ----------------------------------------------------------------------

MIN_AGE = timedelta(hours=24)
# Weighted (repeats) towards what a sweep would abort, so that the rules are exercised.
ages = st.sampled_from(["old", "old", "old", "young", "future", "garbage", None, "year 1 UTC"])
listed = st.builds(
    Entry,
    key=st.sampled_from([None, "", "tmp/a", "tmp/a", "tmp/b", "tmp/b", "tmp/keep/c", "other/x",
                         "tmp", "TMP/d"]),
    upload_id=st.sampled_from([None, "", "1" * 32, "2" * 32, "3" * 32, "1" * 32, "2" * 32]),
    initiated=ages,
)
dates = st.sampled_from(["now", "now", "now", "+1y", "missing", "-0000", "+14m", "-30d", "9999"])


def _stamp(age: str | None) -> str | None:
    moment = {"old": now() - 3 * MIN_AGE, "young": now() - timedelta(minutes=10),
              "future": now() + timedelta(days=30)}.get(age or "")
    if moment is not None:
        return iso(moment)
    return {"garbage": "not-a-date", "year 1 UTC": "0001-01-01T00:00:00Z"}.get(age or "")


def _date(name: str) -> str:
    return {"now": http_date(now()), "+1y": http_date(now() + timedelta(days=365)),
            "missing": "", "-0000": now().strftime("%a, %d %b %Y %H:%M:%S -0000"),
            "+14m": http_date(now() + timedelta(minutes=14)),
            "-30d": http_date(now() - timedelta(days=30)),
            "9999": "Fri, 31 Dec 9999 23:59:59 GMT"}[name]


@settings(max_examples=max(FUZZ_EXAMPLES // 3, 50), deadline=None, database=None,
          print_blob=True, suppress_health_check=list(HealthCheck))
@seed(SEED)
@given(pages=st.lists(st.tuples(st.lists(listed, max_size=6), dates,
                                st.sampled_from([None, "tmp/a", "tmp/b", "", "a"])),
                      min_size=1, max_size=3),
       dry_run=st.booleans(), check_activity=st.booleans())
def test_hostile_listings(pages: list[tuple[list[Entry], str, str | None]], dry_run: bool,
                          check_activity: bool) -> None:
    note(f"replay: HOSTILE_SEED={SEED}")
    FIGURES["listings fuzzed"] += 1
    script: dict[str | None, Page] = {}
    marker: str | None = None
    trusted: set[tuple[str | None, str | None]] = set()
    for index, (entries, date, next_key) in enumerate(pages):
        last = index == len(pages) - 1
        stamped = [Entry(e.key, e.upload_id, _stamp(e.initiated)) for e in entries]
        page = Page(stamped, truncated=not last, next_key=None if last else next_key,
                    date=_date(date))
        if marker not in script:
            script[marker] = page
            if date in ("now", "+14m"):  # within the 15-minute bound
                trusted.update((e.key, e.upload_id) for e in stamped)
        marker = next_key
    server = ScriptedObs(script)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        server.install(mock)
        reply = checked(invoke(timer(min_age="24h", prefixes=["tmp/"], exclude_prefixes=["tmp/keep/"],
                                     dry_run=dry_run, check_activity=check_activity),
                               hostile_context()))
    assert "summary" in reply, reply
    count_keyless(server.sent)
    assert len(server.listings) <= 2 * len(pages) + 2, "the listing looped"
    old_enough = {(e.key, e.upload_id) for page in script.values() for e in page.entries
                  if e.initiated is not None and e.initiated < iso(now() - MIN_AGE)}
    ids = [(s.key, s.query.get("uploadId")) for s in server.deletes]
    wrong = [i for i in ids if not (i[0] or "").startswith("tmp/") or (i[0] or "").startswith(
        "tmp/keep/") or i not in old_enough]
    FIGURES["uploads wrongly aborted"] += len(wrong) + (len(ids) if dry_run else 0)
    FIGURES["uploads aborted on a skewed clock"] += len([i for i in ids if i not in trusted])
    assert not wrong and not (dry_run and ids)
    assert all(i in trusted for i in ids), "aborted on an untrusted clock"
    assert len(ids) == len(set(ids)), "aborted twice"
    statistic(f"DELETEs sent: {min(len(ids), 2)}{'+' if len(ids) > 2 else ''}")  # statistics: it does abort


def test_record_the_fuzzing_scenario() -> None:
    scenario(f"hostile events: {FUZZ_EXAMPLES:,} generated (arbitrary JSON, near-valid, wrapped "
             "by APIG/SMN/CloudEvents with unreadable and deep carriers, host-changing buckets, "
             f"traversal and CR/LF keys, non-ASCII header names), seed {SEED}")
    scenario(f"hostile listings: {max(FUZZ_EXAMPLES // 3, 50):,} generated (entries without "
             f"Key/UploadId, outside the prefix, repeated, untrusted Dates), seed {SEED}")
