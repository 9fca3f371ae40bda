"""The shape the code keeps (issue 26): no module over 400 lines and no function over cyclomatic complexity 15
in the application packages, measured with mccabe (the counter behind flake8's and ruff's C901).

A module that grows past the limit is split by responsibility, not by size alone; a function past it is
made table-driven or split into named steps. Tests, benches and migrations are not held to this."""
from __future__ import annotations

import ast
from pathlib import Path

import mccabe
import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "worker", "ocpp_server")
MAX_LINES = 400
MAX_COMPLEXITY = 15


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _complexities(path: Path) -> list[tuple[int, str]]:
    tree = compile(path.read_text(encoding="utf-8"), str(path), "exec", ast.PyCF_ONLY_AST)
    visitor = mccabe.PathGraphingAstVisitor()
    visitor.preorder(tree, visitor)
    return [(graph.complexity(), f"{path.relative_to(ROOT)}:{graph.lineno} {graph.entity}")
            for graph in visitor.graphs.values()]


def test_the_counter_counts_branches():
    """The measure itself: a function with three ifs and a loop has complexity 5 (not a test that cannot fail)."""
    src = "def f(a):\n    if a: pass\n    if a > 1: pass\n    if a > 2: pass\n    for _ in a: pass\n"
    visitor = mccabe.PathGraphingAstVisitor()
    visitor.preorder(compile(src, "x", "exec", ast.PyCF_ONLY_AST), visitor)
    assert [g.complexity() for g in visitor.graphs.values()] == [5]


def test_modules_stay_under_400_lines():
    long = {str(p.relative_to(ROOT)): n for p in _modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (split them by responsibility): {long}"


@pytest.mark.parametrize("package", PACKAGES)
def test_functions_stay_under_complexity_15(package):
    tangled = sorted((c, where) for p in _modules() if p.relative_to(ROOT).parts[0] == package
                     for c, where in _complexities(p) if c > MAX_COMPLEXITY)
    assert not tangled, f"functions over complexity {MAX_COMPLEXITY}: {tangled}"
