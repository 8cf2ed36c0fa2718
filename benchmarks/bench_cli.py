"""How fast the command line starts: `galsim-deep --help` and `hub list` beside `python -c pass`.

Each command runs in a fresh process, rounds interleaved, best of ``--rounds`` (5) wall
times, in two settings:

* ``cached``: Python's compiled bytecode is there (what an installed package has; here it
  is written once into a temporary ``PYTHONPYCACHEPREFIX``, so the environment is not
  touched);
* ``here``: this environment as it is (the JSON records its ``PYTHONDONTWRITEBYTECODE``:
  where it is set and the environment holds no bytecode, as in this project's shared
  machines, every start compiles the modules it imports from their source).

Beside each time it records whether the command imported GalSim, astropy and NumPy, and
how many modules it imported (``python -X importtime``).  The reference row ``import
galsim_deep + parser`` is what ``--help`` did before the console script stopped importing
the package's GalSim side (``galsim_deep/__init__.py``)::

    python benchmarks/bench_cli.py --out benchmarks/cli.json
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

from _shared import ROOT, cli_path, loadavg, write_json

#: name -> (the command after the Python executable, its target wall time in s or None).
COMMANDS = {
    "python -c pass": (["-c", "pass"], None),
    "galsim-deep --help": ([cli_path(), "--help"], 0.5),
    "galsim-deep hub list": ([cli_path(), "hub", "list"], 1.0),
    "galsim-deep hub info": ([cli_path(), "hub", "info", "hub:flow-vae-mock-cosmos-25.2"],
                             1.0),
    "import galsim_deep + parser": (["-c", "import galsim_deep.cli as c; c.build_parser()"],
                                    None),
}

#: The packages whose import the table reports.
WATCHED = ("galsim", "astropy", "numpy")


def _environments(prefix):
    """The two settings' environments (see the module's docstring)."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    return {"cached": dict(base, PYTHONPYCACHEPREFIX=os.path.join(prefix, "pyc")),
            "here": dict(os.environ)}


def _wall(args, env):
    """Seconds one run of ``python ARGS`` takes (its output discarded)."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, *args], env=env, cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return wall


def _imports(args, env):
    """The top-level packages a command imports and how many modules in all."""
    done = subprocess.run([sys.executable, "-X", "importtime", *args], env=env, cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s*(\S+)$", done.stderr, re.M)
    tops = {name.split(".")[0] for name in names}
    return {"modules": len(names), **{p: p in tops for p in WATCHED}}


def measure(rounds):
    """Best and median wall times of every command in both settings, and its imports."""
    results = {name: {"target_s": target} for name, (_, target) in COMMANDS.items()}
    with tempfile.TemporaryDirectory() as prefix:
        envs = _environments(prefix)
        for args, _ in COMMANDS.values():  # fill the bytecode cache, unpack the module
            _wall(args, envs["cached"])
        for setting, env in envs.items():
            times = {name: [] for name in COMMANDS}
            for _ in range(rounds):
                for name, (args, _) in COMMANDS.items():
                    times[name].append(_wall(args, env))
            for name, values in times.items():
                values.sort()
                results[name][setting] = {"best_s": round(values[0], 3),
                                          "median_s": round(values[len(values) // 2], 3)}
        for name, (args, _) in COMMANDS.items():
            results[name]["imports"] = _imports(args, envs["cached"])
    return results


def table(results):
    """The results as a text table, each time beside its target."""
    lines = [f"{'command':<30} {'target':>7} {'cached':>8} {'here':>9}  "
             + "  ".join(f"{p:>7}" for p in WATCHED) + "  modules"]
    for name, row in results.items():
        target = f"{row['target_s']:.1f} s" if row["target_s"] else "-"
        flags = "  ".join(f"{'yes' if row['imports'][p] else 'no':>7}" for p in WATCHED)
        lines.append(f"{name:<30} {target:>7} {row['cached']['best_s']:>6.2f} s "
                     f"{row['here']['best_s']:>7.2f} s  {flags}  {row['imports']['modules']:>7}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5, help="runs of each command (best of)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "cli.json"),
                        help="the JSON file written (default benchmarks/cli.json)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error(f"--rounds must be >= 1, got {args.rounds}")
    load_before = loadavg()
    results = measure(args.rounds)
    print(table(results))
    write_json({"command": "python benchmarks/bench_cli.py --out " + args.out,
                "rounds": args.rounds, "loadavg_before": load_before,
                "here_PYTHONDONTWRITEBYTECODE": os.environ.get("PYTHONDONTWRITEBYTECODE"),
                "loadavg_after": loadavg(), "python": sys.version.split()[0],
                "results": results}, args.out)
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
