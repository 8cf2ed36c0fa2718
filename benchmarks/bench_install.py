"""How long a clean environment takes to install: pip against uv, in one run.

``make env`` (and ``make demo``, ``make btk-env``, ``make test-fast``) bootstraps the pinned
installers with pip, then installs the package and its extras with uv.  This script makes
the main environment both ways from the same clone, in fresh virtual environments and with
no download cache, one after the other, and checks that both end with the same packages at
the same versions (uv itself aside)::

    python benchmarks/bench_install.py --out benchmarks/install.json

Each environment downloads about 1 GB (TensorFlow, OpenVINO, ...), so the times include the
network; run it when nothing else is downloading.
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _shared import ROOT, loadavg, write_json

EXTRAS = ".[all,test,docs]"
PINS = ["-c", str(ROOT / "constraints" / "main.txt")]


def _run(cmd, env=None):
    subprocess.run(cmd, check=True, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)


def _freeze(python):
    out = subprocess.run([python, "-m", "pip", "freeze", "--all", "--exclude-editable"],
                         check=True, capture_output=True, text=True).stdout
    return sorted(line for line in out.splitlines() if line and not line.startswith("uv=="))


def install(installer, folder, python=sys.executable):
    """Make a virtual environment in ``folder`` and install galsim_deep with every extra by
    ``installer`` (``pip`` or ``uv``, after pip's bootstrap of the pinned installers), no
    download cache; returns the seconds taken and the frozen packages."""
    env = dict(os.environ, PIP_NO_CACHE_DIR="1", UV_NO_CACHE="1")
    start = time.perf_counter()
    _run([python, "-m", "venv", str(folder)])
    bin_dir = Path(folder) / "bin"
    venv_python = str(bin_dir / "python")
    tools = ["pip", "wheel", "setuptools"] + (["uv"] if installer == "uv" else [])
    _run([venv_python, "-m", "pip", "install", "--quiet", *PINS, "--upgrade", *tools], env)
    if installer == "uv":
        front = [str(bin_dir / "uv"), "pip", "install", "--quiet", "--python", venv_python]
    else:
        front = [venv_python, "-m", "pip", "install", "--quiet"]
    _run(front + PINS + ["-e", EXTRAS], env)
    _run(front + PINS + ["--no-deps", "skycatalogs"], env)
    return time.perf_counter() - start, _freeze(venv_python)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "install.json"))
    args = parser.parse_args(argv)
    rows, frozen = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for installer in ("pip", "uv"):
            load = loadavg()
            seconds, frozen[installer] = install(installer, Path(tmp) / installer)
            rows[installer] = {"seconds": round(seconds, 1), "packages": len(frozen[installer]),
                               "load_before": load}
            print(f"{installer}: {seconds:.1f} s, {len(frozen[installer])} packages")
    same = frozen["pip"] == frozen["uv"]
    print("the same packages at the same versions" if same else "the environments differ")
    result = {"command": "python benchmarks/bench_install.py --out " + args.out,
              "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "extras": EXTRAS, "rows": rows, "same_packages": same,
              "uv_over_pip": round(rows["uv"]["seconds"] / rows["pip"]["seconds"], 3)}
    write_json(result, args.out)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
