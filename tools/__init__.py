"""Tooling that runs from a source checkout: benchmark (``tools.bench``), evaluation
(``tools.evaluation``), extraction F1. Not part of the installed package (docs/design.md)."""
