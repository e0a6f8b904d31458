"""The engine's layout keeps its rules (docs/architecture.md): rooms, no cycles, no borrowed private names,
tabs that parse no file format, light packages, and the 0.1 module names still importing."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ROOMS = ("core", "data", "models", "training", "inference", "evaluation", "downstream", "commands")
MAX_TOP_LEVEL_MODULES = 8
# the modules the app and the command line's parser may import before the engine starts (docs/architecture.md)
TORCH_FREE = (
    "cli", "commands.colorize", "commands.compare", "commands.demo", "commands.downstream", "commands.evaluate",
    "commands.export", "commands.info", "commands.prepare", "commands.train",
    "core.advice", "core.atomic", "core.events", "core.options", "core.provenance", "core.resources",
    "data.guidance", "data.imageio", "data.prepare", "data.prepared", "data.settings",
    "downstream.cifar", "downstream.results", "downstream.settings", "downstream.tables",
    "inference.batch", "inference.hint_tracking", "inference.hints", "inference.settings",
    "models.calibration", "models.settings", "models.starter",
    "training.config", "training.csv_log", "training.engine", "training.presets", "training.runs", "training.state",
    "training.watchdog",
)
PARSING_CALLS = ("json.load", "json.loads", "csv.reader", "csv.DictReader", "np.load", "numpy.load")


def module_files() -> dict[str, Path]:
    """Dotted name -> file of every module of `colorcore` and `app`."""
    found = {}
    for package in ("colorcore", "app"):
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(path: Path, modules: dict[str, Path]) -> list[tuple[str, str]]:
    """(imported module, imported name or "") for every absolute import of our modules in `path`, at any depth
    (inside functions too: they run), except under `if TYPE_CHECKING:` (annotations only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in ("TYPE_CHECKING", "typing.TYPE_CHECKING"):
            node.body = []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in modules:
                    found.append((f"{node.module}.{alias.name}", ""))
                elif node.module in modules:
                    found.append((node.module, alias.name))
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name in modules]
    return found


def test_colorcore_is_rooms_with_at_most_eight_modules_beside_them() -> None:
    top = sorted(p.name for p in (ROOT / "colorcore").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top
    for room in ROOMS:
        assert (ROOT / "colorcore" / room / "__init__.py").is_file(), room


def test_no_import_cycle_between_engine_modules() -> None:
    modules = module_files()
    engine = {name: path for name, path in modules.items()
              if name.startswith("colorcore") and path.name != "__init__.py"}
    graph = {name: {target for target, _ in imports(path, modules) if target in engine} - {name}
             for name, path in engine.items()}
    # depth-first search for a back edge; the first cycle found is reported
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> list[str] | None:
        state[name] = 1
        for target in sorted(graph[name]):
            if state.get(target) == 1:
                return trail[trail.index(target):] + [target] if target in trail else [name, target]
            if target not in state and (cycle := visit(target, trail + [target])):
                return cycle
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (cycle := visit(name, [name])):
            pytest.fail("import cycle: " + " -> ".join(cycle))


def test_no_private_name_is_imported_across_modules() -> None:
    modules = module_files()
    borrowed = [f"{name} imports {target}.{imported}"
                for name, path in modules.items()
                for target, imported in imports(path, modules)
                if imported.startswith("_") and not imported.startswith("__")]
    assert borrowed == []


def test_the_tabs_parse_no_file_format() -> None:
    parsing = []
    for path in sorted((ROOT / "app" / "tabs").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and ast.unparse(node.func) in PARSING_CALLS:
                parsing.append(f"{path.name}:{node.lineno} {ast.unparse(node.func)}")
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + ([node.module] if isinstance(node, ast.ImportFrom) else [])
                parsing += [f"{path.name}:{node.lineno} imports {n}" for n in names if n in ("json", "csv")]
    assert parsing == []


def heavy_libraries_after_importing(modules: tuple[str, ...]) -> list[str]:
    """Which of torch, cv2 and numpy a fresh interpreter holds after importing `colorcore.MODULE` for each."""
    script = ("import importlib, json, sys\n"
              f"for name in {modules!r}:\n"
              "    importlib.import_module('colorcore.' + name)\n"
              "print(json.dumps(sorted(m for m in ('torch', 'cv2', 'numpy') if m in sys.modules)))\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_package_and_its_rooms_import_without_torch_or_cv2() -> None:
    assert heavy_libraries_after_importing(ROOMS) == []


def test_the_torch_free_modules_import_without_torch() -> None:
    assert "torch" not in heavy_libraries_after_importing(TORCH_FREE)


def test_the_old_module_names_still_import_as_the_new_modules_with_a_warning() -> None:
    import colorcore
    from colorcore.inference import colorize
    from colorcore.training.trainer import Trainer

    with pytest.warns(DeprecationWarning, match="colorcore.inference.colorize"):
        old = __import__("colorcore.colorize", fromlist=["colorize_array"])
    assert old is colorize and old.colorize_array is colorize.colorize_array
    with pytest.warns(DeprecationWarning, match="colorcore.training.trainer.Trainer"):
        from colorcore.training import Trainer as old_trainer  # 0.1: colorcore/training.py
    assert old_trainer is Trainer
    import colorcore.training as training_room

    with pytest.raises(AttributeError):  # the libraries the old module imported are not its names
        training_room.torch
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        from colorcore.training import config  # a module of the room itself: no warning
    assert config.__name__ == "colorcore.training.config"
    for old_name, new_name in colorcore.MOVED_MODULES.items():  # every mapped target exists
        assert (ROOT / (new_name.replace(".", "/") + ".py")).is_file(), new_name
        assert not (ROOT / (old_name.replace(".", "/") + ".py")).exists(), old_name
