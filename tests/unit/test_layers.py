"""The layers, read from the source (ast): who may import whom, and no import cycle between modules.

Every import counts: at module level, inside a function and under `if TYPE_CHECKING:`. A failure
names the module, the line and the import.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "domain",
    "projections",
    "schemas",
    "storage",
    "producers",
    "consumers",
    "hotline",
    "access",
    "privacy",
)

#: what the pure core (domain/, projections/, schemas/) may not import: adapters, entry points, I/O
_PURE_MAY_NOT = frozenset(
    ("storage", "consumers", "producers", "hotline", "access", "privacy")
    + ("kafka", "aiokafka", "faust", "sqlite3", "starlette", "uvicorn")
)
#: package -> the top-level packages its modules may not import
FORBIDDEN: dict[str, frozenset[str]] = {
    "domain": _PURE_MAY_NOT,
    "projections": _PURE_MAY_NOT,
    "schemas": _PURE_MAY_NOT,
    "storage": frozenset({"consumers", "producers", "hotline", "kafka", "faust"}),
    # pseudonyms, sealing and revealing: pure but for the cipher; keys are the adapters' to keep
    "privacy": frozenset(
        ("storage", "consumers", "producers", "hotline", "access", "projections")
        + ("kafka", "aiokafka", "faust", "sqlite3", "starlette", "uvicorn")
    ),
    "producers": frozenset({"hotline"}),
    "consumers": frozenset({"hotline"}),
    # roles, tokens and the HTTP gate: below the adapters, on schemas/ only
    "access": frozenset(
        ("domain", "projections", "storage", "consumers", "producers", "hotline")
        + ("kafka", "aiokafka", "faust")
    ),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    file: str  # its path, relative to the root
    line: int
    target: str  # the absolute name imported: a module, or a module's attribute
    text: str  # the statement as written

    def where(self) -> str:
        return f"{self.file}:{self.line} ({self.module}: `{self.text}`)"


def project_modules(root: Path = ROOT) -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imports_of(module: str, path: Path, root: Path = ROOT) -> list[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    file = str(path.relative_to(root))
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    out = []
    for node in ast.walk(tree):
        text = ast.unparse(node) if isinstance(node, ast.Import | ast.ImportFrom) else ""
        if isinstance(node, ast.Import):
            out += [Import(module, file, node.lineno, alias.name, text) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                prefix = ".".join(base + ([node.module] if node.module else []))
            else:
                prefix = node.module or ""
            out += [Import(module, file, node.lineno, f"{prefix}.{alias.name}", text) for alias in node.names]
    return out


def _module_named(target: str, modules: dict[str, Path]) -> str | None:
    """The project module an import loads: `a.b.name` is module a.b.name, else a.b, else a."""
    name = target
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def layer_violations(modules: dict[str, Path], root: Path = ROOT) -> list[str]:
    found = []
    for module, path in modules.items():
        forbidden = FORBIDDEN.get(module.split(".")[0], frozenset())
        for imp in imports_of(module, path, root):
            top = imp.target.split(".")[0]
            if top in forbidden:
                layer = module.split(".")[0]
                found.append(f"{imp.where()}: {layer}/ may not import {top}")
    return found


def import_graph(modules: dict[str, Path], root: Path = ROOT) -> dict[str, dict[str, Import]]:
    """module -> {imported project module: the first import of it}."""
    graph: dict[str, dict[str, Import]] = {m: {} for m in modules}
    for module, path in modules.items():
        for imp in imports_of(module, path, root):
            target = _module_named(imp.target, modules)
            if target is not None and target != module:
                graph[module].setdefault(target, imp)
    return graph


Cycle = list[tuple[str, Import]]  # (imported module, the import), from a module back to itself


def import_cycles(graph: dict[str, dict[str, Import]]) -> list[Cycle]:
    """One cycle per strongly connected component of more than one module: a shortest one through
    the component's first module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph has a few hundred nodes at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            if len(component) > 1:
                components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)

    cycles = []
    for component in components:
        start = min(component)
        paths: dict[str, Cycle] = {start: []}
        queue = [start]
        cycle: Cycle | None = None
        while queue and cycle is None:
            v = queue.pop(0)
            for w, imp in sorted(graph[v].items()):
                if w == start:
                    cycle = paths[v] + [(w, imp)]
                    break
                if w in component and w not in paths:
                    paths[w] = paths[v] + [(w, imp)]
                    queue.append(w)
        assert cycle is not None
        cycles.append(cycle)
    return cycles


def describe(cycle: Cycle) -> str:
    chain = " -> ".join([cycle[0][1].module] + [target for target, _ in cycle])
    return f"import cycle {chain}:\n" + "\n".join(f"    {imp.where()}" for _, imp in cycle)


def test_every_package_is_read() -> None:
    modules = project_modules()
    assert {m.split(".")[0] for m in modules} == set(PACKAGES)
    assert len(modules) > 40


def test_layers_import_only_downward() -> None:
    violations = layer_violations(project_modules())
    assert not violations, "imports across the layers:\n" + "\n".join(violations)


def test_no_import_cycle_between_modules() -> None:
    cycles = import_cycles(import_graph(project_modules()))
    assert not cycles, "\n".join(describe(c) for c in cycles)


def test_the_checks_catch_a_violation_and_a_cycle(tmp_path: Path) -> None:
    """The checks themselves, on a small tree: an upward import and a cycle through a function."""
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "domain" / "a.py").write_text("def f():\n    from storage.log import EmbeddedLog\n")
    (tmp_path / "projections" / "b.py").write_text("from . import c\n")
    (tmp_path / "projections" / "c.py").write_text("def g():\n    from projections.b import x\n")
    modules = project_modules(tmp_path)
    assert layer_violations(modules, tmp_path) == [
        "domain/a.py:2 (domain.a: `from storage.log import EmbeddedLog`): domain/ may not import storage"
    ]
    cycles = import_cycles(import_graph(modules, tmp_path))
    assert [describe(c) for c in cycles] == [
        "import cycle projections.b -> projections.c -> projections.b:\n"
        "    projections/b.py:1 (projections.b: `from . import c`)\n"
        "    projections/c.py:2 (projections.c: `from projections.b import x`)"
    ]
