"""Imports point down only: every kgen module sits in one layer and imports only its own
layer or lower ones, counting imports inside functions and under ``TYPE_CHECKING`` too
(a lazy import is still a dependency). A new module must be placed in LAYERS.

The layers follow the data flow: load -> normalise (then the chart and overlay renderers,
which use it) -> check -> report for manifests, and spec -> model -> objects -> writers for
the generator. The two pipelines meet only in the
"run" layer (a build lints what it generates, a lint renders app specs); where they sit
relative to each other below it is a free choice, fixed here so the list stays one order.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kgen.policies.catalog import RULE_MODULES

from .conftest import ROOT

PACKAGE = ROOT / "kgen"


# Lowest first. A name stands for that module only (a package name for its __init__).
LAYERS: list[tuple[str, list[str]]] = [
    ("foundation", ["kgen", "kgen.errors", "kgen.merge", "kgen.quantity", "kgen.fsutil", "kgen.excludes", "kgen.buildcache",
                    "kgen.packagedata", "kgen.transaction", "kgen.report.escape", "kgen.report.paths",
                    "kgen.policies", "kgen.policies.secret_patterns", "kgen.generator"]),
    ("load", ["kgen.loader", "kgen.schemas", "kgen.kubeschemas", "kgen.yamledit"]),
    ("normalise", ["kgen.workloads", "kgen.gpus", "kgen.findings", "kgen.policies.selectors",
                   "kgen.policies.inventory", "kgen.policies.secret_values"]),
    ("render", ["kgen.helmtrace", "kgen.helmchart", "kgen.kustomize"]),  # charts and overlays into objects
    ("spec", ["kgen.generator.checks", "kgen.generator.text", "kgen.generator.spec"]),
    ("model", ["kgen.generator.model"]),
    ("objects", ["kgen.generator.objects", "kgen.generator.validation"]),
    ("writers", ["kgen.generator.comments", "kgen.generator.helm", "kgen.generator.kustomize", "kgen.generator.manifests"]),
    ("policy", ["kgen.policies.cluster_policy", "kgen.policies.schema_settings"]),
    ("rule api", ["kgen.policies.registry", "kgen.policies.custom", "kgen.policies.fixing", "kgen.policies.fit"]),
    ("rules", [module.__name__ for module in RULE_MODULES]),
    ("catalog", ["kgen.policies.catalog", "kgen.policies.engine", "kgen.policies.policy"]),
    ("run", ["kgen.inputs", "kgen.parallel", "kgen.generator.build", "kgen.fix", "kgen.baseline", "kgen.capacity"]),
    ("report", ["kgen.report", "kgen.report.text", "kgen.report.json_report", "kgen.report.sarif",
                "kgen.report.github", "kgen.report.junit", "kgen.report.capacity"]),
    ("cli", ["kgen.cli", "kgen.__main__"]),
]  # fmt: skip
LAYER_OF = {module: index for index, (_, modules) in enumerate(LAYERS) for module in modules}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def kgen_imports(source: str, module: str, package: str) -> set[str]:
    """Every kgen module the code ``source`` of ``module`` (in ``package``) imports, wherever
    the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source, module)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                origin = ".".join([*parts[: len(parts) - node.level + 1], *([node.module] if node.module else [])])
            else:
                origin = node.module or ""
            for alias in node.names:  # `from kgen.policies import quota` imports the submodule
                found.add(f"{origin}.{alias.name}" if _is_module(f"{origin}.{alias.name}") else origin)
    return {name for name in found if name == "kgen" or name.startswith("kgen.")} - {module}


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        graph[module] = kgen_imports(path.read_text(encoding="utf-8"), module, package)
    return graph


def test_every_module_has_a_layer() -> None:
    graph = import_graph()
    assert sorted(set(graph) - set(LAYER_OF)) == [], "place new modules in LAYERS"
    assert sorted(set(LAYER_OF) - set(graph)) == [], "LAYERS names modules that do not exist"


def test_imports_point_down_only() -> None:
    upward = [
        f"{module} ({LAYERS[LAYER_OF[module]][0]}) imports {target} ({LAYERS[LAYER_OF[target]][0]})"
        for module, targets in import_graph().items()
        for target in sorted(targets)
        if LAYER_OF[target] > LAYER_OF[module]
    ]
    assert upward == []


def test_no_import_cycles_within_a_layer() -> None:
    graph = import_graph()
    state: dict[str, str] = {}
    cycles: list[list[str]] = []

    def visit(module: str, trail: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append([*trail[trail.index(target):], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert cycles == []


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def f():\n    from kgen.generator.model import app_model\n", {"kgen.generator.model"}),
        ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kgen.capacity import CapacityReport\n", {"kgen.capacity"}),
        ("from kgen.policies import quota, registry\nimport kgen.loader as loader\n", {"kgen.policies.quota", "kgen.policies.registry", "kgen.loader"}),
        ("from . import fit\nfrom .registry import rule\nimport yaml\n", {"kgen.policies.fit", "kgen.policies.registry"}),
    ],
)
def test_the_scan_sees_lazy_typing_and_relative_imports(source: str, expected: set[str]) -> None:
    """The checks above are only as good as the scan: it must see every form of import."""
    assert kgen_imports(source, "kgen.policies.probe", "kgen.policies") == expected
