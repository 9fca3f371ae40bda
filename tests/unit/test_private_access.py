"""No reaching into other packages' privates: every `x._name` in portal/, worker/ and ocpp_server/ names
something our own code defines (a function, class, attribute or slot), or sits in an allow-listed adapter.

Where a library has no public hook, the workaround goes in one adapter module (ocpp_server/ocpp_adapter.py
for ocpp and websockets), checked against the pinned version at start-up."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("portal", "worker", "ocpp_server")

# Modules that may touch a library's privates: one per library, each with a version check at start-up.
ADAPTERS = {"ocpp_server/ocpp_adapter.py"}

# No other exceptions: RQ's _request_stop gave way to public methods and the web code no longer reads
# Flask-Limiter's _storage_dead (issue 26).
TEMPORARY: set[tuple[str, str]] = set()


def _sources() -> list[tuple[str, ast.Module]]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            found.append((path.relative_to(ROOT).as_posix(), ast.parse(path.read_text(), str(path))))
    return found


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _defined_names(trees: list[tuple[str, ast.Module]]) -> set[str]:
    """Every private name our own code defines: functions, classes, attributes of self/cls, names, slots."""
    names: set[str] = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store) and \
                    isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                names.add(node.attr)  # (an assignment to another object's private is a use, not a definition)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.alias) and node.asname:
                names.add(node.asname)
            elif isinstance(node, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == "__slots__" for t in node.targets):
                names.update(c.value for c in ast.walk(node.value)
                             if isinstance(c, ast.Constant) and isinstance(c.value, str))
    return {name for name in names if _private(name)}


def _is_super(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"


def _foreign_private_uses(trees: list[tuple[str, ast.Module]], ours: set[str]) -> list[tuple[str, int, str]]:
    uses = []
    for path, tree in trees:
        if path in ADAPTERS:
            continue
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Attribute) and _private(node.attr)):
                continue
            if isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"):
                continue
            if (path, node.attr) in TEMPORARY:
                continue
            if node.attr in ours and not _is_super(node.value):  # super()._x: the base class's private
                continue
            uses.append((path, node.lineno, node.attr))
    return uses


def test_no_private_attribute_of_another_package_is_used():
    trees = _sources()
    uses = _foreign_private_uses(trees, _defined_names(trees))
    assert uses == [], "private attributes of other packages (use a public API, or the library's adapter):\n" + \
        "\n".join(f"  {path}:{line}: ._{name[1:]}" for path, line, name in uses)


def test_the_check_finds_a_foreign_private_and_spares_our_own():
    tree = ast.parse("class A:\n    def __init__(self):\n        self._mine = 1\n"
                     "def f(a, cp):\n    a._mine\n    cp._connection\n    a.__dict__\n    cp._state = 1\n"
                     "class B(Base):\n    def _hook(self):\n        super()._hook()\n")
    trees = [("ocpp_server/x.py", tree)]
    assert _foreign_private_uses(trees, _defined_names(trees)) == [
        ("ocpp_server/x.py", 6, "_connection"), ("ocpp_server/x.py", 8, "_state"), ("ocpp_server/x.py", 11, "_hook")]
