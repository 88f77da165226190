"""Article data printed by the CLI is shown as written, never interpreted as markup."""

from __future__ import annotations

from wiredesk.app.cli import console


def test_markup_in_article_data_is_printed_literally() -> None:
    with console.capture() as captured:
        console.print("[link=http://evil.example]click[/link] [bold red]x[/]")
    assert captured.get().strip() == "[link=http://evil.example]click[/link] [bold red]x[/]"
