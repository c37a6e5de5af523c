"""The ```python blocks of the top-level README and of bindings-python/README.md run."""

from __future__ import annotations

import re
from pathlib import Path
from typing import List

import pytest

from conftest import BINDING_DIR, REPO_DIR

_BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


def _blocks(path: Path) -> List[str]:
    return _BLOCK.findall(path.read_text(encoding="utf-8")) if path.exists() else []


def test_binding_readme_has_python_blocks() -> None:
    assert len(_blocks(BINDING_DIR / "README.md")) >= 3


@pytest.mark.parametrize("readme", [REPO_DIR / "README.md", BINDING_DIR / "README.md"],
                         ids=["top-level", "bindings-python"])
def test_readme_python_blocks_run(readme: Path) -> None:
    blocks = _blocks(readme)
    if not blocks:
        pytest.skip(f"{readme} has no ```python block yet")
    namespace: dict = {"__name__": "readme"}
    # Blocks of one README run in order in one namespace, like a reader's session.
    for index, block in enumerate(blocks):
        exec(compile(block, f"{readme.name}[python block {index}]", "exec"), namespace)
