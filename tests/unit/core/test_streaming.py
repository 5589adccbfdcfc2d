"""The streaming writers of the exports: written a piece at a time, they give
exactly the text of the whole document written at once, and never hold more than a chunk."""

import json

from hypothesis import given
from hypothesis import strategies as st

from core import streaming

# JSON values as the exports hold them: text (line breaks, quotes, non-ASCII), numbers,
# booleans, None, and lists and objects of them.
scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=20)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
records = st.dictionaries(st.text(max_size=8), values, max_size=5)


def whole(value) -> str:
    return json.dumps(value, indent=1, ensure_ascii=False)


@given(st.lists(records, max_size=6))
def test_a_json_array_written_an_item_at_a_time_is_the_whole_array(items):
    assert "".join(streaming.json_array(iter(items))) == whole(items)


@given(st.dictionaries(st.text(max_size=8).filter(lambda k: k != "contents"), scalars))
def test_a_json_object_with_its_array_streamed_is_the_whole_object(head):
    items = [{"id": 1, "name": "Grupo «Ánimo»\nsegunda"}, {"id": 2, "list": [1, [2, {}]]}]
    for contents in ([], items):
        streamed = "".join(streaming.json_object(head, "contents", iter(contents)))
        assert streamed == whole({**head, "contents": contents})


@given(st.lists(st.text(min_size=1, max_size=50), max_size=200), st.integers(1, 300))
def test_buffered_keeps_every_piece_in_order_in_bounded_chunks(pieces, size):
    chunks = list(streaming.buffered(iter(pieces), size=size))
    assert "".join(chunks) == "".join(pieces)
    # Every chunk but the last reached the size; none holds more than the size and a piece.
    assert all(len(chunk) >= size for chunk in chunks[:-1])
    assert all(len(chunk) < size + 50 for chunk in chunks)
    assert all(chunks)


def test_buffered_reads_pieces_only_as_chunks_are_taken():
    """Lazy: the writer is not run ahead of what the server has sent."""
    taken = []

    def pieces():
        for n in range(10):
            taken.append(n)
            yield "x" * 10

    chunks = streaming.buffered(pieces(), size=25)
    assert next(chunks) == "x" * 30
    assert taken == [0, 1, 2]
