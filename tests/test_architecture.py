"""The layer rule of docs/architecture.md, checked on the source: interfaces -> services -> adapters
and the pure engine, arrows down only, and no circle anywhere in the import graph of app/.

Every import statement counts, wherever it is written (module level, inside a function, under
TYPE_CHECKING): a circle that only a lazy import keeps from crashing is still a circle.
"""
from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"


def module_name(path: Path) -> str:
    parts = path.relative_to(APP.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(APP.rglob("*.py"))}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """Every module `name` imports: app modules resolved to the module itself (`from a import b`
    is an import of a.b when a.b is a module), anything else by its top-level package."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            targets = []
            for alias in node.names:
                candidate = f"{module}.{alias.name}"
                targets.append(candidate if candidate in known else module)
        else:
            continue
        for target in targets:
            if target.startswith("app.") or target == "app":
                while target not in known and "." in target:
                    target = target.rpartition(".")[0]
                found.add(target)
            else:
                found.add(target.split(".")[0])
    found.discard(name)
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, set(known)) for name, path in known.items()}


def in_layer(module: str, layer: str) -> bool:
    return module == layer or module.startswith(layer + ".")


def test_the_engine_imports_nothing_of_the_service_nor_flask_sqlalchemy_or_redis():
    offending = {name: sorted(target for target in targets
                              if (target.startswith("app") and not in_layer(target, "app.engine"))
                              or target in ("flask", "werkzeug", "sqlalchemy", "redis", "psycopg"))
                 for name, targets in graph().items() if in_layer(name, "app.engine")}
    assert {k: v for k, v in offending.items() if v} == {}


def test_services_import_no_flask_and_no_interface():
    interfaces = ("app.api", "app.cli", "app.console")
    offending = {name: sorted(t for t in targets if t in ("flask", "werkzeug", "click")
                              or any(in_layer(t, i) for i in interfaces))
                 for name, targets in graph().items() if in_layer(name, "app.services")}
    assert {k: v for k, v in offending.items() if v} == {}


def test_adapters_import_no_service_and_no_interface():
    adapters = ("app.storage", "app.state", "app.privacy", "app.metrics", "app.config", "app.logs",
                "app.files", "app.reports")
    modules = graph()
    assert [a for a in adapters if not any(in_layer(name, a) for name in modules)] == []  # none gone
    upper = ("app.services", "app.api", "app.cli", "app.console", "flask", "werkzeug", "click")
    offending = {name: sorted(t for t in targets if any(in_layer(t, u) for u in upper))
                 for name, targets in graph().items() if any(in_layer(name, a) for a in adapters)}
    assert {k: v for k, v in offending.items() if v} == {}


def test_only_the_app_factory_imports_the_api():
    importers = sorted(name for name, targets in graph().items()
                       if not in_layer(name, "app.api") and any(in_layer(t, "app.api") for t in targets))
    assert importers == ["app"]


def test_the_import_graph_of_app_has_no_circle():
    edges = graph()
    circles, state = [], {}

    def visit(node: str, chain: list[str]) -> None:
        state[node] = "visiting"
        for target in sorted(edges.get(node, ())):
            if target not in edges:
                continue
            if state.get(target) == "visiting":
                circles.append(chain[chain.index(target):] + [node, target]
                               if target in chain else [node, target])
            elif state.get(target) is None:
                visit(target, chain + [node])
        state[node] = "done"

    for module in sorted(edges):
        if state.get(module) is None:
            visit(module, [])
    assert circles == []


def test_the_checker_sees_imports_in_every_form():
    """The rules above are only as good as the import reader: it must see relative, lazy and
    TYPE_CHECKING imports, and resolve `from package import module` to the module."""
    edges = graph()
    assert "app.engine.policy" in edges["app.engine"]  # from .policy import ... in a package
    assert "flask" in edges["app"] or "app.api" in edges["app"]
    assert any(in_layer(t, "app.engine") for t in edges["app.engine.testing"])
