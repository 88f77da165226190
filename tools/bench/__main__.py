"""``python -m wiredesk.bench``."""

from __future__ import annotations

from wiredesk.bench.run import main

raise SystemExit(main())
