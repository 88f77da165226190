"""``wiredesk bench`` / ``wiredesk eval`` outside a source checkout: one line, exit code 2.

The tooling lives in ``tools/`` of a checkout and is not in the wheel or the image; the child
process hides it the way an installed wheel lacks it (``sys.modules['tools'] = None``).
"""

from __future__ import annotations

import pytest

from tests.conftest import DEV_SET
from tests.unit.test_setup_errors import run_without
from wiredesk.app.tooling import tooling_missing


@pytest.mark.parametrize(
    ("args", "target"),
    [(("bench", "--quick"), "make bench"), (("eval", str(DEV_SET)), "make eval")],
    ids=["bench", "eval"],
)
def test_without_the_tooling_one_line_names_the_make_target(
    args: tuple[str, ...], target: str
) -> None:
    code, stderr = run_without("tools", *args)
    assert code == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ")
    assert f"`{target}`" in lines[0]


def test_another_missing_module_is_not_mistaken_for_the_tooling() -> None:
    missing = ModuleNotFoundError("No module named 'matplotlib'", name="matplotlib")
    with pytest.raises(ModuleNotFoundError) as raised:
        tooling_missing(missing, "bench")
    assert raised.value is missing
