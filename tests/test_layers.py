"""The layers import only downward (docs/ARCHITECTURE.md): domain imports nothing of ours,
projections the domain, the scheduler and the web the domain and projections but not each
other, and the composition root (xiaohao) everything while nothing imports it (#10).

Relative imports stay inside their own package, so only absolute ones are read; a module named
in a string (importlib, an ASGI "module:app" path) counts as an import too."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LAYERS = ("domain", "projections", "scheduler", "web", "xiaohao")
ASGI_PATH = re.compile(rf"({'|'.join(LAYERS)})(\.\w+)*:\w+")      # "web.app:create_app"
IMPORTERS = {"import_module", "__import__", "find_spec"}
ALLOWED = {
    "domain": {"domain"},
    "projections": {"domain", "projections"},
    "scheduler": {"domain", "projections", "scheduler"},
    "web": {"domain", "projections", "web"},
    "xiaohao": set(LAYERS),
}


def imported_layers(source: Path) -> dict[str, int]:
    """Our top-level packages a module imports (at any depth of the file), with a line each."""
    found: dict[str, int] = {}
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                ASGI_PATH.fullmatch(node.value):
            names = [node.value]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                node.func, "id", None)) in IMPORTERS and node.args and \
                isinstance(node.args[0], ast.Constant):
            names = [str(node.args[0].value)]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if top in LAYERS:
                found.setdefault(top, node.lineno)
    return found


def modules(layer: str) -> list[Path]:
    return sorted((REPO / layer).rglob("*.py"))


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_what_it_may(layer):
    wrong = [f"{path.relative_to(REPO)}:{line} imports {other}"
             for path in modules(layer)
             for other, line in imported_layers(path).items() if other not in ALLOWED[layer]]
    assert not wrong, "\n".join(wrong)


def test_the_check_itself_can_fail(tmp_path):
    """A module importing upward is caught, by statement or by name (so a green run means
    something)."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from xiaohao.settings import Settings\n    return Settings\n"
                   "APP = 'scheduler.service:Cycle'\nimportlib.import_module('web.app')\n")
    assert imported_layers(bad) == {"xiaohao": 2, "scheduler": 4, "web": 5}


def test_every_layer_has_modules_to_check():
    assert all(modules(layer) for layer in LAYERS)
