"""wiredesk.streaming.text_of: one reading of a Redis reply value as text, from either client."""

from __future__ import annotations

import pytest

from wiredesk.streaming import text_of


def test_bytes_are_decoded_as_utf8() -> None:
    assert text_of(b"1700000000123-0") == "1700000000123-0"
    assert text_of("Zürich".encode()) == "Zürich"


def test_text_and_numbers_pass_through_str() -> None:
    assert text_of("dedupe") == "dedupe"
    assert text_of(42) == "42"


def test_invalid_utf8_is_an_error_not_a_silent_replacement() -> None:
    with pytest.raises(UnicodeDecodeError):
        text_of(b"\xff\xfe")
