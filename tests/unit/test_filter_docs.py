"""Every filter plugin documents itself the way ansible-doc reads it: DOCUMENTATION, EXAMPLES and RETURN as YAML."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml

FILTERS = sorted((Path(__file__).resolve().parents[2] / "filter_plugins").glob("*.py"))


def _docs(path: Path) -> dict[str, str]:
    docs = {}
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            name = node.targets[0].id
            if name in ("DOCUMENTATION", "EXAMPLES", "RETURN") and isinstance(node.value, ast.Constant):
                docs[name] = node.value.value
    return docs


@pytest.mark.parametrize("path", FILTERS, ids=lambda path: path.stem)
def test_filter_is_documented(path):
    docs = _docs(path)
    assert set(docs) == {"DOCUMENTATION", "EXAMPLES", "RETURN"}, (
        f"{path.name} lacks {docs.keys() ^ {'DOCUMENTATION', 'EXAMPLES', 'RETURN'}}"
    )
    documentation = yaml.safe_load(docs["DOCUMENTATION"])
    assert documentation["name"] == path.stem
    assert documentation.get("short_description")
    assert "_input" in documentation.get("options", {})
    assert isinstance(yaml.safe_load(docs["EXAMPLES"]), list)
    assert "_value" in yaml.safe_load(docs["RETURN"])
