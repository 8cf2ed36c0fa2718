"""Speed and memory of galsim_deep, side by side with GalSim's parametric and real galaxies.

Prints a table and writes JSON (and a PNG figure beside it).  Usage::

    python benchmarks/run_benchmarks.py [--model hub:NAME|DIR|toy64|proxy]
        [--out benchmarks/results.json] [--only SECTION,...] [--quick]

``--model``: a module (default: the shipped ``hub:flow-vae-mock-cosmos-64``
when it is installed, else ``toy64``); ``toy64`` exports an untrained toy
network of 64x64 stamps (cheap network: measures everything but the network);
``proxy`` uses the Flow-VAE of the ``mock-cosmos-64`` recipe after the short
training run of the ``training`` section (untrained weights, but the default
model's architecture, so its network cost).

Sections (``--only``/``--skip``, comma-separated), each timed on this machine:

``load``        model load time and first-sample latency (fresh process)
``end_to_end``  cost per galaxy: sample, convolve with a Kolmogorov PSF
                (FWHM 0.7"), draw a 32x32 stamp at 0.2"/pixel; against
                ``galsim.Sersic`` (COSMOS fits) and ``galsim.RealGalaxy``
                (``COSMOSCatalog``, real-format example sample), same PSF/stamp
``breakdown``   where a generated galaxy's time goes (network, profile, draw)
``network``     the network's levers (XLA, threads, oneDNN, block size), fresh processes
``accuracy``    what the fast profile settings change in the drawn images
``batch``       cost per galaxy against batch size
``yaml``        the same job through GalSim's config (YAML) and the direct API
``nproc``       ``galsim file.yaml`` with image.nproc = 1, 2; ``galsim-deep
                simulate`` on 1, 2 Dask workers
``memory``      peak memory streaming 10,000 and 100,000 galaxies
``training``    training throughput (images/s) of the CPU recipes

Timings take the best of ``--rounds`` interleaved rounds (the machine may be
shared: the load average is recorded with each section).  Nothing here is a
test: these are measurements.

This script is the driver: each section is its module ``bench_<section>.py``
(a ``run`` function returning the section's JSON entry), ``_shared.py`` holds
the timing helpers, the conditions and the JSON writer, ``_report.py`` the
printed and reStructuredText tables and the figure.
"""
import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# (the section modules live beside this script)
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_accuracy  # noqa: E402
import bench_batch  # noqa: E402
import bench_breakdown  # noqa: E402
import bench_end_to_end  # noqa: E402
import bench_load  # noqa: E402
import bench_memory  # noqa: E402
import bench_network  # noqa: E402
import bench_nproc  # noqa: E402
import bench_training  # noqa: E402
import bench_yaml  # noqa: E402
from _report import plot, print_report, rst_tables  # noqa: E402
from _shared import ROOT, loadavg, write_conditions, write_json  # noqa: E402

SECTIONS = ("training", "load", "end_to_end", "breakdown", "network", "accuracy", "batch", "yaml",
            "nproc", "memory")


# ---------------------------------------------------------------------------- models
def resolve_model(name, work):
    """Return (path or name, label) of the model to benchmark."""
    from galsim_deep.data import hub  # (here, as in main: --help and --rst stay fast)
    from galsim_deep.data.hub import DEFAULT_MODEL

    if name in (None, "default"):
        try:
            hub.resolve(DEFAULT_MODEL)
            return DEFAULT_MODEL, DEFAULT_MODEL
        except hub.HubError:
            name = "toy64"
            print(f"{DEFAULT_MODEL} is not installed: benchmarking the toy64 module instead")
    if name == "toy64":
        sys.path.insert(0, str(ROOT / "tests"))
        from toy_modules import export_toy

        path = work / "toy64"
        if not path.exists():
            export_toy("network", path, stamp_size=64)
        return str(path), "toy64: untrained toy network (2 dense layers), 64x64 at 0.03\""
    if name == "proxy":
        path = work / "proxy64"
        if not path.exists():
            raise RuntimeError("--model proxy needs the training section's run: run with the "
                               "'training' section (the default) in the same --work folder")
        return str(path), ("proxy: Flow-VAE of recipe mock-cosmos-64 after a few training "
                           "steps (the default model's architecture and network cost)")
    return name, name


# ---------------------------------------------------------------------------- driver
def main(argv=None):
    """Run the chosen sections, saving the JSON after each, then print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None,
                        help="hub:NAME, module dir, toy64 or proxy (default: the shipped "
                             "default model, else toy64)")
    parser.add_argument("--out", default="benchmarks/results.json")
    parser.add_argument("--work", default=None,
                        help="folder for the files the benchmarks make (default: a temporary "
                             "one; give one to reuse the training run and --model proxy)")
    parser.add_argument("--only", default=None, help=f"sections to run, of {','.join(SECTIONS)}")
    parser.add_argument("--skip", default="", help="sections to leave out")
    parser.add_argument("--n", type=int, default=400, help="galaxies per timed case")
    parser.add_argument("--n-real", type=int, default=96, help="real galaxies per timed round")
    parser.add_argument("--n-nproc", type=int, default=1600,
                        help="galaxies of the largest image of the nproc runs")
    parser.add_argument("--n-simulate", type=int, default=4000,
                        help="galaxies of the largest simulate (Dask) run")
    parser.add_argument("--field-size", type=int, default=1024,
                        help="field of the Dask runs, pixels")
    parser.add_argument("--n-memory", type=int, default=100_000)
    parser.add_argument("--n-iso", type=int, default=10_000,
                        help="generated galaxies of the isotropy check (accuracy section)")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 16, 64, 256])
    parser.add_argument("--train-steps", type=int, default=20,
                        help="steps of each training run (training section)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--merge", action="store_true",
                        help="keep the other sections of an existing --out file (same model)")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes (a smoke run, not for the docs)")
    parser.add_argument("--rst", nargs="+", metavar="RESULTS.json",
                        help="only print reStructuredText tables of these result files")
    args = parser.parse_args(argv)
    if args.rst:
        print(rst_tables(args.rst))
        return 0
    if args.quick:
        args.n, args.n_real, args.n_nproc, args.n_memory = 64, 16, 144, 5000
        args.n_iso = 500
        args.n_simulate = 160
        args.rounds, args.train_steps, args.field_size = 1, 4, 256
        args.batch_sizes = [1, 16, 64]
    sections = [s for s in (args.only.split(",") if args.only else SECTIONS)
                if s not in args.skip.split(",")]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")

    import galsim_deep  # (here: --help and --rst need neither GalSim nor TensorFlow)
    from galsim_deep.core.reporting import package_versions

    tmp = None
    if args.work:
        work = Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory()
        work = Path(tmp.name)
    previous = {}
    if args.merge and Path(args.out).is_file():
        previous = json.loads(Path(args.out).read_text())
    results = {"machine": platform.platform(), "cpus": os.cpu_count(),
               "python": platform.python_version(), "versions": package_versions(),
               "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
               "started": time.strftime("%Y-%m-%d %H:%M:%S"), "loadavg": {}}

    def save():
        write_json(results, args.out)

    try:
        if "training" in sections:
            print("training ...", flush=True)
            results["loadavg"]["training"] = loadavg()
            results["training"] = bench_training.run(args, work)
            save()
        model_path, label = resolve_model(args.model, work)
        results["model"] = label
        if previous and previous.get("model") == label:
            for key in SECTIONS:
                if key in previous and key not in sections:
                    results[key] = previous[key]
                    results["loadavg"][key] = previous.get("loadavg", {}).get(key)
        write_conditions(work)
        model = galsim_deep.GenerativeGalaxyModel(model_path, range_policy="clip")
        results["model_info"] = {"stamp_size": model.stamp_size,
                                 "pixel_scale": model.pixel_scale,
                                 "latent_size": model.latent_size,
                                 "family": model.metadata["family"]}
        for name in sections:
            if name == "training":
                continue
            print(f"{name} ...", flush=True)
            results["loadavg"][name] = loadavg()
            t0 = time.perf_counter()
            if name == "load":
                results[name] = bench_load.run(args, model_path)
            elif name == "end_to_end":
                results[name] = bench_end_to_end.run(args, model, work)
            elif name == "breakdown":
                results[name] = bench_breakdown.run(args, model)
            elif name == "network":
                results[name] = bench_network.run(args, model_path)
            elif name == "accuracy":
                results[name] = bench_accuracy.run(args, model)
            elif name == "batch":
                results[name] = bench_batch.run(args, model)
            elif name == "yaml":
                results[name] = bench_yaml.run(args, model, model_path, work)
            elif name == "nproc":
                results[name] = bench_nproc.run(args, model_path, work)
            elif name == "memory":
                results[name] = bench_memory.run(args, model_path)
            results[name]["section_s"] = time.perf_counter() - t0
            save()
        results["self_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        figure = plot(results, Path(args.out).with_suffix(".png"))
        if figure:
            results["figure"] = str(figure)
        save()
    finally:
        if tmp is not None:
            tmp.cleanup()
    print_report(results)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
