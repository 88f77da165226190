"""The CLI's console prints data from outside without letting it drive the terminal."""

from __future__ import annotations

import io

from rich.table import Table

from wiredesk.safeconsole import SafeConsole


def test_escape_sequences_in_data_are_not_printed() -> None:
    buffer = io.StringIO()
    console = SafeConsole(file=buffer, markup=False, color_system=None, width=200)
    table = Table("field", "value")
    table.add_row("title", "\x1b]0;owned\x07\x1b[2J\x1b[31mRed\x1b[0m alert\x9b")
    console.print(table)
    console.print("body \x1b[5mblink\x1b[0m\nsecond line")
    out = buffer.getvalue()
    assert "\x1b" not in out and "\x07" not in out and "\x9b" not in out
    assert "Red alert" in out and "body blink\nsecond line" in out


def test_our_own_colours_still_work() -> None:
    buffer = io.StringIO()
    console = SafeConsole(file=buffer, color_system="standard", force_terminal=True)
    console.print("[red]error[/] \x1b[2J")
    out = buffer.getvalue()
    assert "\x1b[31m" in out and "\x1b[2J" not in out
