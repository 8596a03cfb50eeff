#!/usr/bin/python3
"""Layers only look down. Fails (exit 1) naming every #include that reaches up a layer.

    core    framework/*.{hpp,cpp}          array, node, op, tensor, engine, kernels, random, errors...
    io      framework/io/                  file formats and files            (core)
    ops     ops/                           the differentiable ops            (core)
    tools   framework/tools/               gradient checker, DOT export      (core, io, ops)
    data    models/data/                   datasets and loaders              (core, io)
    models  models/                        modules, optimizers, nets         (everything below)
    distributed  distributed/              data-parallel training over MPI   (everything below)

Examples, tests and benches may include anything. Run by CTest as `layers`.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ALLOWED = {
    "core": {"core"},
    "io": {"core", "io"},
    "ops": {"core", "ops"},
    "tools": {"core", "io", "ops", "tools"},
    "data": {"core", "io", "data"},
    "models": {"core", "io", "ops", "tools", "data", "models"},
    "distributed": {"core", "io", "ops", "tools", "data", "models", "distributed"},
}


def layer_of(path):
    """The layer of a repository-relative path, or None outside the library."""
    parts = path.split("/")
    if parts[0] == "framework":
        return {"io": "io", "tools": "tools"}.get(parts[1], "core") if len(parts) > 2 else "core"
    if parts[0] == "ops":
        return "ops"
    if parts[0] == "distributed":
        return "distributed"
    if parts[0] == "models":
        return "data" if len(parts) > 2 and parts[1] == "data" else "models"
    return None


def main():
    problems, checked = [], 0
    for top in ("framework", "ops", "models", "distributed"):
        for folder, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if not name.endswith((".hpp", ".cpp", ".in")):
                    continue
                path = os.path.relpath(os.path.join(folder, name), ROOT)
                layer = layer_of(path)
                with open(os.path.join(ROOT, path)) as f:
                    for number, line in enumerate(f, 1):
                        m = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
                        if not m:
                            continue
                        checked += 1
                        target = layer_of(m.group(1))
                        if target is None:
                            problems.append(f"{path}:{number}: includes \"{m.group(1)}\", which is not a library header")
                        elif target not in ALLOWED[layer]:
                            problems.append(f"{path}:{number}: the {layer} layer includes \"{m.group(1)}\" "
                                            f"from the {target} layer above it")
    for p in problems:
        print(p)
    print(f"layers: {checked} includes checked, {len(problems)} reach up")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
