"""The one parse of stream entry ids (wiredesk.streaming.id_parts / id_ms).

Sorting pending ids, padding them for text comparison (store, embargo hold), an entry's age and
the time it was added all rest on it, so its edges are pinned here.
"""

from __future__ import annotations

import pytest

from wiredesk.streaming import id_ms, id_parts


def test_full_id_gives_ms_and_sequence() -> None:
    assert id_parts("1700000000123-7") == (1_700_000_000_123, 7)
    assert id_ms("1700000000123-7") == 1_700_000_000_123


def test_bare_milliseconds_has_sequence_zero() -> None:
    assert id_parts("1700000000123") == (1_700_000_000_123, 0)


def test_zero_and_large_sequences() -> None:
    assert id_parts("0-0") == (0, 0)
    assert id_parts("0-1") == (0, 1)
    assert id_parts("5-18446744073709551615") == (5, 2**64 - 1)


def test_pairs_order_as_numbers_not_text() -> None:
    ids = ["10-10", "9-0", "10-2"]
    assert sorted(ids, key=id_parts) == ["9-0", "10-2", "10-10"]
    assert sorted(ids) != sorted(ids, key=id_parts)  # text order would be wrong


@pytest.mark.parametrize(
    "bad",
    ["", "-", "-1", "1-", "abc", "12-x", "1-2-3", " 1-2", "1-2 ", "+1-2", "1.5-0", "١٢-0", "*"],
)
def test_malformed_id_is_a_value_error_naming_it(bad: str) -> None:
    with pytest.raises(ValueError, match="not a stream entry id") as caught:
        id_parts(bad)
    assert repr(bad) in str(caught.value)
    with pytest.raises(ValueError, match="not a stream entry id"):
        id_ms(bad)
