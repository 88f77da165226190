"""A rich Console that cannot be made to drive the operator's terminal.

Titles, ids, errors and texts the CLI prints come from outside (a producer, a web page). rich
already refuses to read them as markup (``markup=False``), but it passes ESC and most C0/C1
control characters through: an ANSI/OSC sequence in a stored title would clear or recolour the
terminal, retitle its window or plant a hyperlink. Every string rendered through this console
first loses them (:func:`wiredesk.limits.strip_controls`); rich's own styling is added after,
so colours still work.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from wiredesk.limits import strip_controls


class SafeConsole(Console):
    def render_str(self, text: str, **kwargs: Any) -> Text:
        return super().render_str(strip_controls(text), **kwargs)
