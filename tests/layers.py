"""The layering contract of bot/ and actions/, checked by `make lint` (`python -m tests.layers`).

Every module belongs to one layer (LAYERS, lowest first) and imports only modules of its own
layer or lower ones; no modules import each other in a cycle, whatever their layers. Every
import counts, those inside a function too: an import put in a function to dodge a cycle at
start-up is still a cycle in what the code depends on. A module no layer names is an error, so
a new module is placed on purpose (docs/architecture.md: The layers).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "actions")

# Lowest first. A name stands for that module and everything under it; the longest name that
# matches a module places it. "bot" itself is the package's __init__ only.
LAYERS: tuple[tuple[str, ...], ...] = (
    # settings and database
    ("bot", "bot.settings", "bot.db"),
    # the role store, the conversation log and its schema's upgrade
    ("bot.store", "bot.tracking", "bot.migrations"),
    # what Rasa runs: channels, the adaptations, NLU components, locks, the custom actions
    (
        "bot.channels",
        "bot.rasa_compat",
        "bot.components",
        "bot.embeddings",
        "bot.featurizer",
        "bot.nlp",
        "bot.parts",
        "bot.questions",
        "bot.safety",
        "bot.locks",
        "actions",
    ),
    # the applications: training, evaluation, serving, the console, the model registry,
    # the production profile, the careers page, the schema every table owner defines
    (
        "bot.training",
        "bot.evaluation",
        "bot.serve",
        "bot.rasa_command",
        "bot.review",
        "bot.registry",
        "bot.prod",
        "bot.web",
        "bot.migrations.schema",
    ),
    # the command lines
    (
        "bot.__main__",
        "bot.cli",
        "bot.log_cli",
        "bot.migrations.cli",
        "bot.registry.cli",
        "bot.review.cli",
        "bot.review.tests_cli",
    ),
)
# Alembic's revisions and env.py are loaded by Alembic from files, not imported by the code.
NOT_MODULES = ("bot/migrations/versions/", "bot/migrations/env.py")


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int

    def __str__(self) -> str:
        path = self.importer.replace(".", "/")
        return f"{path} (line {self.line}) imports {self.imported}"


def module_name(path: Path) -> str:
    parts = list(path.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(root: Path = PROJECT_ROOT) -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root)
            if not relative.as_posix().startswith(NOT_MODULES):
                found[module_name(relative)] = path
    return found


def imports(name: str, source: str, known: Iterable[str], is_package: bool) -> Iterator[Import]:
    """The project modules `source` (module `name`) imports, each named as a module."""
    known = set(known)

    def resolved(dotted: str) -> str | None:
        while dotted and dotted not in known:
            dotted = dotted.rpartition(".")[0]
        return dotted or None

    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                parts = parts[: len(parts) - node.level + 1]
                base = ".".join([*parts, *([node.module] if node.module else [])])
            # `from bot import x` imports bot.x when that is a module, else a name in bot.
            candidates = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for candidate in candidates:
            if candidate.split(".")[0] in PACKAGES:
                module = resolved(candidate)
                if module and module != name:
                    yield Import(name, module, node.lineno)


def layer_of(module: str, layers: Iterable[Iterable[str]] = LAYERS) -> int | None:
    """The layer whose longest name matches `module` (None: no layer names it)."""
    matches = [
        (len(layer_name), index)
        for index, names in enumerate(layers)
        for layer_name in names
        if module == layer_name or (layer_name != "bot" and module.startswith(layer_name + "."))
    ]
    return max(matches)[1] if matches else None


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def problems(
    sources: Mapping[str, tuple[str, bool]], layers: Iterable[Iterable[str]] = LAYERS
) -> list[str]:
    """What breaks the contract, given each module's (source, is a package)."""
    layers = [tuple(names) for names in layers]
    found = []
    graph: dict[str, set[str]] = {name: set() for name in sources}
    for name, (source, is_package) in sorted(sources.items()):
        layer = layer_of(name, layers)
        if layer is None:
            found.append(f"{name} is in no layer: add it to LAYERS in tests/layers.py")
            continue
        for each in imports(name, source, sources, is_package):
            graph[name].add(each.imported)
            other = layer_of(each.imported, layers)
            if other is not None and other > layer:
                found.append(f"{each}, a higher layer")
    for component in cycles(graph):
        found.append("an import cycle: " + " -> ".join(component) + " (and back)")
    return found


def main() -> int:
    sources = {
        name: (path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for name, path in modules().items()
    }
    found = problems(sources)
    for problem in found:
        print(problem, file=sys.stderr)
    print(f"layers: {len(sources)} modules, {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
