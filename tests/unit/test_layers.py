"""The shape of the code the design promises: faces reach the store only through the service,
no module uses another's private names, and modules and functions stay small."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import keytui

ROOT = Path(keytui.__file__).parent
MODULES = sorted(ROOT.rglob("*.py"))
FACES = ("cli", "screens", "widgets", "gateway", "daemon", "app.py", "commands.py", "keymap.py", "clipboard.py")
PEEWEE_META = "_meta"  # Peewee's documented model metadata, used by the store alone
TEXTUAL_STYLE_COUNT = "_css_update_count"  # the console's one use of Textual's privates (screens/page.py)


def _name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(), str(path))


def _imports(tree: ast.Module) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


@pytest.mark.parametrize("path", [p for p in MODULES if _name(p).startswith(FACES)], ids=_name)
def test_faces_never_import_peewee_or_the_store(path):
    bad = {m for m in _imports(_tree(path)) if m == "peewee" or m.startswith(("playhouse", "keytui.store"))}
    assert not bad, f"{_name(path)} imports {sorted(bad)}: faces go through keytui.service"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_no_module_uses_another_modules_private_names(path):
    found = []
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("keytui"):
            found += [a.name for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
                continue
            if node.attr == PEEWEE_META and _name(path).startswith("store"):
                continue
            if node.attr == TEXTUAL_STYLE_COUNT and _name(path) == "screens/page.py":
                continue
            found.append(ast.unparse(node))
    assert not found, f"{_name(path)} reaches into private names: {found}"


@pytest.mark.parametrize("path", MODULES, ids=_name)
def test_modules_and_functions_stay_small(path):
    text = path.read_text()
    assert text.count("\n") <= 500, f"{_name(path)} has {text.count(chr(10))} lines (at most 500)"
    long = [(n.name, n.end_lineno - n.lineno + 1) for n in ast.walk(_tree(path))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 60]
    assert not long, f"{_name(path)}: functions over 60 lines: {long}"
