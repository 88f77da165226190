"""The application: what composes the services (the CLI, the demo, the process launcher).

The top layer (docs/design.md): it may import the services and the core; nothing in the core
(``wiredesk`` outside this package) or in ``services`` imports it. ``lint-imports`` checks that.
"""
