"""``python -m wiredesk``: the CLI, as the launcher starts every service (application layer)."""

from wiredesk.app.cli import main

main()
