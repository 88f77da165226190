"""``python -m tools.bench``."""

from __future__ import annotations

from tools.bench.run import main

raise SystemExit(main())
