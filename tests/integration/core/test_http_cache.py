"""core.http_cache: one build per version for any number of parallel requests, ETag and 304,
never a cookie or a failed response kept, a session's page never shared with another."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from django.http import HttpResponse, StreamingHttpResponse
from django.test import RequestFactory

from core.http_cache import shared_read

pytestmark = pytest.mark.django_db

CHANGED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def body(response) -> bytes:
    if response.streaming:
        return b"".join(response.streaming_content)
    return response.content


class Counter:
    def __init__(self, *, seconds=0.0, status=200, stream=False):
        self.calls, self.seconds, self.status, self.stream = 0, seconds, status, stream
        self.version = 1
        self._lock = threading.Lock()

    def stamp(self):
        return self.version, CHANGED

    def view(self, request):
        with self._lock:
            self.calls += 1
        time.sleep(self.seconds)
        body = f"built at version {self.version}"
        if self.stream:
            return StreamingHttpResponse(iter([body[:5], body[5:]]), status=self.status)
        response = HttpResponse(body, status=self.status)
        response.set_cookie("csrftoken", "secret")
        return response


def test_twenty_parallel_requests_build_once_and_drain_quickly():
    """A burst of the same heavy read costs one build (0.3 s here), not twenty (6 s)."""
    counter = Counter(seconds=0.3)
    view = shared_read(counter.stamp, namespace="t")(counter.view)
    factory = RequestFactory()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda _: view(factory.get("/export")), range(20)))
    drained = time.monotonic() - started
    assert counter.calls == 1
    assert {r.status_code for r in responses} == {200}
    assert {body(r) for r in responses} == {b"built at version 1"}
    assert drained < 2.0, drained


def test_etag_last_modified_and_304():
    counter = Counter()
    view = shared_read(counter.stamp, namespace="t")(counter.view)
    factory = RequestFactory()
    first = view(factory.get("/export"))
    assert first["ETag"].startswith('"') and first["Last-Modified"]
    assert "Set-Cookie" not in first  # a cookie is never kept for another request
    again = view(factory.get("/export", headers={"if-none-match": first["ETag"]}))
    assert again.status_code == 304 and body(again) == b""
    since = view(factory.get("/export", headers={"if-modified-since": first["Last-Modified"]}))
    assert since.status_code == 304
    assert counter.calls == 1


def test_a_new_version_builds_again_with_a_new_etag():
    counter = Counter()
    view = shared_read(counter.stamp, namespace="t")(counter.view)
    factory = RequestFactory()
    old = view(factory.get("/export"))
    counter.version = 2
    stale = view(factory.get("/export", headers={"if-none-match": old["ETag"]}))
    assert stale.status_code == 200 and body(stale) == b"built at version 2"
    assert stale["ETag"] != old["ETag"] and counter.calls == 2


def test_the_query_string_is_part_of_the_entry():
    counter = Counter()
    view = shared_read(counter.stamp, namespace="t")(counter.view)
    factory = RequestFactory()
    view(factory.get("/export", {"a": "1"}))
    view(factory.get("/export", {"a": "2"}))
    view(factory.get("/export", {"a": "1"}))
    assert counter.calls == 2


def test_failed_responses_are_not_kept():
    counter = Counter(status=500)
    view = shared_read(counter.stamp, namespace="t")(counter.view)
    factory = RequestFactory()
    assert view(factory.get("/export")).status_code == 500
    assert view(factory.get("/export")).status_code == 500
    assert counter.calls == 2


def test_a_streamed_response_is_kept_whole():
    counter = Counter(stream=True)
    view = shared_read(counter.stamp, namespace="t")(counter.view)
    factory = RequestFactory()
    first, second = view(factory.get("/export")), view(factory.get("/export"))
    assert body(first) == body(second) == b"built at version 1"
    assert second.streaming  # sent from its file a block at a time, never whole in memory
    assert counter.calls == 1


def test_a_personal_page_is_kept_per_session(client, clinician, supervisor):
    counter = Counter()
    view = shared_read(counter.stamp, namespace="t", personal=True)(counter.view)
    factory = RequestFactory()
    one, two = factory.get("/print"), factory.get("/print")
    one.session = type("S", (), {"session_key": "one"})()
    two.session = type("S", (), {"session_key": "two"})()
    view(one)
    view(two)
    view(one)
    assert counter.calls == 2


def test_other_methods_pass_through():
    counter = Counter()
    view = shared_read(counter.stamp, namespace="t")(counter.view)
    factory = RequestFactory()
    view(factory.post("/export"))
    view(factory.post("/export"))
    assert counter.calls == 2
