"""Dependencies point one way: core primitives → metrics → data → train → methods. Method packages
never import each other, the core never imports a method package (it finds them through entry
points), and inside the core each layer imports only the layers below it (function-level imports
included)."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
METHOD_SOURCES = sorted(p for p in (ROOT / "packages").glob("*/src/methodzoo/*") if p.is_dir())
CORE = ROOT / "shared" / "src" / "methodzoo" / "shared"
CORE_LAYERS = ("metrics", "data", "train")  # lowest first; the primitives sit below all three
# Core modules above train, which may use every layer: the cached digit classifier (trained with
# the core's data and training code), the benchmark runner and CLI, and the test helpers.
CORE_UPPER = ("digit_classifier", "bench", "cli", "testing")


def _imported_modules(source_root: Path) -> dict[str, set[str]]:
    """module file → the absolute module names it imports (``source_root``: a folder or a file)."""
    found: dict[str, set[str]] = {}
    for path in [source_root] if source_root.is_file() else source_root.rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        found[str(path.relative_to(ROOT))] = names
    return found


def _method_modules() -> list[str]:
    return [f"methodzoo.{p.name}" for p in METHOD_SOURCES]


def test_core_never_imports_a_method_package():
    methods = _method_modules()
    offenders = {
        path: sorted(n for n in names if any(n == m or n.startswith(m + ".") for m in methods))
        for path, names in _imported_modules(ROOT / "shared" / "src").items()
    }
    assert {p: n for p, n in offenders.items() if n} == {}


@pytest.mark.parametrize("source", METHOD_SOURCES, ids=lambda p: p.name)
def test_method_packages_do_not_import_each_other(source):
    own = f"methodzoo.{source.name}"
    others = [m for m in _method_modules() if m != own]
    offenders = {
        path: sorted(n for n in names if any(n == m or n.startswith(m + ".") for m in others))
        for path, names in _imported_modules(source).items()
    }
    assert {p: n for p, n in offenders.items() if n} == {}


def test_methodzoo_is_a_namespace_package_everywhere():
    roots = [ROOT / "shared" / "src" / "methodzoo", *(p.parent for p in METHOD_SOURCES)]
    assert [r for r in roots if (r / "__init__.py").exists()] == []


def test_no_init_files_in_test_folders():
    test_dirs = [ROOT / "tests", ROOT / "shared" / "tests", *(ROOT / "packages").glob("*/tests")]
    assert [d for d in test_dirs if (d / "__init__.py").exists()] == []


def _importing(sources: list[Path], forbidden: list[str]) -> dict[str, list[str]]:
    """module file → the ``forbidden`` modules (or their submodules) it imports, where any."""
    offenders = {}
    for source in sources:
        for path, names in _imported_modules(source).items():
            hits = sorted(n for n in names if any(n == f or n.startswith(f + ".") for f in forbidden))
            if hits:
                offenders[path] = hits
    return offenders


@pytest.mark.parametrize("layer", CORE_LAYERS)
def test_each_core_layer_imports_only_the_layers_below(layer):
    above = [*CORE_LAYERS[CORE_LAYERS.index(layer) + 1:], *CORE_UPPER]
    assert _importing([CORE / layer], [f"methodzoo.shared.{name}" for name in above]) == {}


def test_core_primitives_import_no_layer():
    upper = {*CORE_LAYERS, *CORE_UPPER}
    primitives = [p for p in CORE.iterdir()
                  if (p.suffix == ".py" or (p.is_dir() and p.name != "__pycache__")) and p.stem not in upper]
    assert {p.name for p in primitives} >= {"config.py", "seed.py", "timing.py", "kernels"}
    forbidden = [f"methodzoo.shared.{name}" for name in sorted(upper)]
    assert _importing(primitives, forbidden) == {}
