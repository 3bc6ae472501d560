"""The import layering of pipeline/: imports only run down, and only cli.py imports the commands.

Layers, lowest first (a module may import its own layer or a lower one, never a higher one):
the foundation (errors, console, redact, store, names), the config and the stored state, the
stages (sources, text, llm, quality, publish, watch, report, plan, provenance, progress, and any
new package), the build, the commands, the CLI. Every import counts, also one inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.support.project import ROOT

FOUNDATION, CONFIG, STAGE, BUILD, COMMANDS, CLI = range(6)
LAYERS = {
    "pipeline": FOUNDATION,  # the package docstring and __version__
    "pipeline.errors": FOUNDATION,
    "pipeline.console": FOUNDATION,
    "pipeline.redact": FOUNDATION,
    "pipeline.store": FOUNDATION,
    "pipeline.names": FOUNDATION,
    "pipeline.config": CONFIG,
    "pipeline.watch.config": CONFIG,  # the [[watch]] tables, read with the rest of config.toml
    "pipeline.watch.query": CONFIG,  # a watch query is checked when the config is loaded
    "pipeline.state": CONFIG,
    "pipeline.llm.providers": CONFIG,  # the provider profiles: llm.provider's choices
    "pipeline.build": BUILD,
    "pipeline.commands": COMMANDS,
    "pipeline.cli": CLI,
    "pipeline.__main__": CLI,
}
NAMES = ["foundation", "config", "stage", "build", "commands", "cli"]


def layer(module: str) -> int:
    """The layer of a module: its own entry, else its closest package's; a stage by default."""
    parts = module.split(".")
    for end in range(len(parts), 1, -1):
        if (found := LAYERS.get(".".join(parts[:end]))) is not None:
            return found
    return LAYERS.get(module, STAGE)


def modules(package: Path) -> dict[str, Path]:
    """Every module of the package by dotted name ("pipeline.watch.run")."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def run_time_nodes(tree: ast.AST) -> list[ast.AST]:
    """Every node but those under `if TYPE_CHECKING:` (imports for annotations only)."""
    nodes, todo = [], [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))
    return nodes


def imports(path: Path, known: set[str]) -> set[str]:
    """The modules of the package that one file imports when it runs, anywhere in it."""
    found: set[str] = set()
    root = next(iter(known)).split(".")[0]
    for node in run_time_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            subs = {f"{node.module}.{a.name}" for a in node.names} & known
            found |= subs or {node.module}
    return {name for name in found if name.split(".")[0] == root and name in known}


def back_edges(package: Path) -> list[str]:
    """Imports that run up a layer, as "importer -> imported (why)"."""
    found = []
    mods = modules(package)
    for name, path in mods.items():
        for target in sorted(imports(path, set(mods))):
            if (theirs := layer(target)) > (own := layer(name)):
                found.append(f"{name} -> {target} ({NAMES[own]} imports {NAMES[theirs]})")
    return found


def cycles(package: Path) -> list[list[str]]:
    """Import cycles among the package's modules (each as the list of modules around it)."""
    mods = modules(package)
    graph = {name: imports(path, set(mods)) - {name} for name, path in mods.items()}
    found, done, stack = [], set(), []

    def visit(name: str) -> None:
        if name in stack:
            found.append(stack[stack.index(name) :] + [name])
            return
        if name in done:
            return
        stack.append(name)
        for target in sorted(graph[name]):
            visit(target)
        stack.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
    return found


def test_imports_only_run_down_and_only_the_cli_imports_the_commands() -> None:
    assert back_edges(ROOT / "pipeline") == []


def test_no_import_cycle() -> None:
    cycle = cycles(ROOT / "pipeline")
    assert cycle == [], " -> ".join(cycle[0])


def test_the_layer_check_finds_back_edges_and_cycles(tmp_path: Path) -> None:
    package = tmp_path / "pipeline"
    for sub in ("", "sources", "commands", "watch"):
        (package / sub).mkdir(exist_ok=True)
        (package / sub / "__init__.py").write_text("")
    (package / "config.py").write_text("from pipeline.publish import mdsafe\n")
    (package / "publish").mkdir()
    (package / "publish" / "__init__.py").write_text("")
    (package / "publish" / "mdsafe.py").write_text("")
    (package / "build.py").write_text("from pipeline.commands.watch import run\n")
    (package / "commands" / "watch.py").write_text("from pipeline.watch import run\n")
    (package / "watch" / "run.py").write_text("def f():\n    import pipeline.build\n")
    (package / "watch" / "state.py").write_text("if TYPE_CHECKING:\n    import pipeline.build\n")
    (package / "sources" / "a.py").write_text("from pipeline.sources.b import x\n")
    (package / "sources" / "b.py").write_text("from pipeline.sources import a\n")
    assert back_edges(package) == [
        "pipeline.build -> pipeline.commands.watch (build imports commands)",
        "pipeline.config -> pipeline.publish.mdsafe (config imports stage)",
        "pipeline.watch.run -> pipeline.build (stage imports build)",
    ]
    assert cycles(package) == [
        ["pipeline.build", "pipeline.commands.watch", "pipeline.watch.run", "pipeline.build"],
        ["pipeline.sources.a", "pipeline.sources.b", "pipeline.sources.a"],
    ]


def exception_classes(package: Path) -> set[str]:
    """The names of the classes in the package that derive from an exception class."""
    found: set[str] = set()
    bases = {"BaseException", "Exception", "ValueError", "RuntimeError", "OSError", "KeyError"}
    trees = [ast.parse(p.read_text(encoding="utf-8")) for p in sorted(package.rglob("*.py"))]
    for _ in range(4):  # a subclass may come before its base in the walk: a few passes
        for tree in trees:
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef):
                    names = {b.id for b in node.bases if isinstance(b, ast.Name)}
                    if names & (bases | found):
                        found.add(node.name)
    return found


def test_the_exception_tree_in_errors_py_names_every_exception() -> None:
    tree = ast.get_docstring(ast.parse((ROOT / "pipeline" / "errors.py").read_text("utf-8")))
    missing = {name for name in exception_classes(ROOT / "pipeline") if name not in (tree or "")}
    assert missing == set(), "add them to the tree in pipeline/errors.py's docstring"


def test_the_package_map_in_pipeline_init_names_every_module() -> None:
    package = ROOT / "pipeline"
    doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text("utf-8"))) or ""
    missing = [
        str(path.relative_to(package))
        for path in sorted(package.rglob("*.py"))
        if path.name not in ("__init__.py", "__main__.py")
        and (path.name not in doc or f"{path.parent.name}/" not in doc + "pipeline/")
    ]
    assert missing == [], "name them in the package map of pipeline/__init__.py's docstring"
