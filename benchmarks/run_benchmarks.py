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
"""
import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "hub:flow-vae-mock-cosmos-64"
SECTIONS = ("training", "load", "end_to_end", "breakdown", "accuracy", "batch", "yaml", "nproc",
            "memory")
PSF_FWHM = 0.7       # arcsec, Kolmogorov
PIXEL_SCALE = 0.2    # arcsec / pixel of the drawn stamps
STAMP = 32           # pixels
ZERO_POINT = 30.0    # AB mag for 1 count (only sets the flux scale)


# ---------------------------------------------------------------------------- helpers
def _loadavg():
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def _best(fn, rounds):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def _interleaved(cases, rounds):
    """Time each case once per round, cases interleaved; return best and median per case."""
    times = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (min(t), float(np.median(t))) for name, t in times.items()}


def _python(code, timeout=3600):
    """Run ``code`` in a fresh Python; return its last stdout line parsed as JSON."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _run(cmd, timeout=3600, cwd=None, cpu=False):
    """Run a command; return its wall time (and, with ``cpu``, the CPU time of its processes)."""
    t0, c0 = time.perf_counter(), _children_cpu()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd)
    if out.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{out.stderr[-3000:]}")
    wall = time.perf_counter() - t0
    return (wall, _children_cpu() - c0) if cpu else wall


#: The conditions file every section draws its galaxies from (set by main()).
CONDITIONS = {"path": None, "rows": None}
N_CONDITIONS = 20000


def _write_conditions(work):
    """Mock-COSMOS conditions (the default model's training population) in a FITS table."""
    from astropy.table import Table

    path = work / "conditions.fits"
    if not path.exists() or len(Table.read(path)) < N_CONDITIONS:
        from galsim_deep.datasets.mock_cosmos import sample_conditions

        table = sample_conditions(N_CONDITIONS, seed=0)
        table.meta.clear()
        table.write(path, overwrite=True)
    CONDITIONS["path"] = path
    CONDITIONS["rows"] = {c: np.asarray(Table.read(path)[c], dtype=np.float64)
                          for c in ("mag_auto", "flux_radius", "zphot")}
    return path


def _catalog(n):
    """The first ``n`` rows of the conditions (repeated beyond the file's length)."""
    return {c: np.resize(v, n) for c, v in CONDITIONS["rows"].items()}


def _cli():
    return str(Path(sys.executable).with_name("galsim-deep"))


def _galsim():
    return str(Path(sys.executable).with_name("galsim"))


# ---------------------------------------------------------------------------- models
def _resolve_model(name, work):
    """Return (path or name, label) of the model to benchmark."""
    from galsim_deep import hub

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


# ---------------------------------------------------------------------------- sections
def bench_training(args, work):
    """Images per second of the CPU recipes: steady state from runs of two lengths."""
    data = work / "mock64.h5"
    if not data.exists():
        _run([_cli(), "dataset", "build", "--source", "mock-cosmos", "--n", "320",
              "--stamp-size", "64", "--pixel-scale", "0.03", "--seed", "3", "--processes", "1",
              "--no-progress", "--out", str(data)])
    n1, n2 = args.train_steps
    rows = []

    def run(label, cmd, recipe, part, steps_key, batch_key, sets, prepare=None):
        walls = []
        for n in (n1, n2):
            out = work / f"train-{recipe}-{part}-{n}"
            shutil.rmtree(out, ignore_errors=True)  # a fresh run, never a resumed one
            if prepare:
                prepare(out, n)
            full = [_cli(), *cmd, recipe, "--quiet", "--set", f"dataset.path={data}",
                    "--set", f"output_dir={out}", "--set", f"{steps_key}={n}", *sets]
            _run(full)
            log = json.loads((out / part / "training_log.json").read_text())
            walls.append(log["wall_time_s"])
        from galsim_deep.training.recipes import load_recipe

        batch = load_recipe(recipe)[batch_key.split(".")[0]][batch_key.split(".")[1]]
        steady = (walls[1] - walls[0]) / (n2 - n1)
        rows.append({"recipe": recipe, "part": label, "batch_size": batch,
                     "seconds_per_step": steady, "images_per_s": batch / steady,
                     "first_run_s_per_step_incl_tracing": walls[0] / n1})
        print(f"  {recipe} {label}: {steady:.3f} s/step, {batch / steady:.1f} images/s")

    common = ["--set", "vae.summary_every=5", "--set", "vae.checkpoint_every=1000"]
    run("Flow-VAE autoencoder", ["train", "flow-vae"], "mock-cosmos-64", "vae", "vae.steps",
        "vae.batch_size", common)

    def copy_vae(out, n):
        if not (out / "vae").exists():
            shutil.copytree(work / f"train-mock-cosmos-64-vae-{n2}" / "vae", out / "vae")

    run("latent flow", ["train", "flow"], "mock-cosmos-64", "flow", "flow.steps",
        "flow.batch_size", ["--set", "flow.summary_every=5", "--set",
                            "flow.checkpoint_every=1000"], prepare=copy_vae)
    proxy = work / "proxy64"
    shutil.rmtree(proxy, ignore_errors=True)
    run_dir = work / f"train-mock-cosmos-64-flow-{n2}"
    _run([_cli(), "export", "mock-cosmos-64", "--set", f"dataset.path={data}", "--set",
          f"output_dir={run_dir}", "--out", str(proxy)])
    try:
        run("MPCC (generator step; the discriminator takes d_steps batches per step)",
            ["train", "mpcc"], "mpcc-mock-cosmos-64", "mpcc", "mpcc.steps", "mpcc.batch_size",
            ["--set", "mpcc.summary_every=5", "--set", "mpcc.checkpoint_every=1000",
             "--set", "mpcc.standing_batches=2"])
    except (RuntimeError, KeyError, FileNotFoundError) as err:
        print(f"  MPCC not measured: {str(err).splitlines()[0]}")
    return {"steps": [n1, n2], "rows": rows}


def bench_load(args, model_path):
    """Model load and first-sample latency in a fresh process."""
    return _python(f"""
        import json, time
        t0 = time.perf_counter()
        import tensorflow as tf
        t_tf = time.perf_counter() - t0
        import galsim_deep
        t0 = time.perf_counter()
        m = galsim_deep.GenerativeGalaxyModel({model_path!r})
        t_meta = time.perf_counter() - t0
        t0 = time.perf_counter()
        m._signature("sample")
        t_graph = time.perf_counter() - t0
        cat = {{"mag_auto": [23.0], "flux_radius": [6.0], "zphot": [0.8]}}
        t0 = time.perf_counter()
        m.sample(cat, rng=0)
        t_first = time.perf_counter() - t0
        t0 = time.perf_counter()
        m.sample(cat, rng=1)
        t_second = time.perf_counter() - t0
        print(json.dumps({{"import_tensorflow_s": t_tf, "metadata_s": t_meta,
                          "graph_load_s": t_graph, "first_sample_s": t_first,
                          "warm_single_sample_s": t_second}}))
        """)


def _end_to_end_cases(model, n_gen, n_real, work):
    import galsim

    from galsim_deep.datasets.cosmos_example import (EXAMPLE_FILE_NAME,
                                                     build_example_directory,
                                                     load_example_catalog)
    from galsim_deep.datasets.format import sersic_from_parametric

    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    cat = _catalog(n_gen)
    fits_rows = load_example_catalog()
    params = np.stack([fits_rows[c] for c in ("sersic_flux", "sersic_hlr", "sersic_n",
                                              "sersic_q", "sersic_beta")], axis=1)
    cosmos = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME,
                                  dir=str(build_example_directory(work / "cosmos_example",
                                                                  seed=1)))

    def draw(gal):
        galsim.Convolve(gal, psf).drawImage(nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)

    def generated(calculate_maxk=False, pad_factor=4):
        for gal in model.sample(cat, rng=1, zero_point=ZERO_POINT,
                                calculate_maxk=calculate_maxk, pad_factor=pad_factor):
            draw(gal)

    def sersic(prec):
        for k in range(n_gen):
            row = params[k % len(params)].copy()
            if prec == 0:
                row[2] = row[2] + 1e-4 * (k + 1)  # a new index per galaxy
            draw(sersic_from_parametric(row, sersic_prec=prec))

    def cosmos_galaxies(kind, n):
        for k in range(n):
            draw(cosmos.makeGalaxy(k % cosmos.nobjects, gal_type=kind))

    return {
        "generated (this model)": (generated, n_gen),
        "generated, GalSim's per-image maxk (before)": (lambda: generated(True), n_gen),
        "generated, pad_factor=2 (an option)": (lambda: generated(pad_factor=2), n_gen),
        "galsim.Sersic, COSMOS fits, n rounded to 0.05 (as COSMOSCatalog)":
            (lambda: sersic(0.05), n_gen),
        "COSMOSCatalog gal_type='parametric' (Sersic or bulge+disk)":
            (lambda: cosmos_galaxies("parametric", n_real), n_real),
        "galsim.RealGalaxy (COSMOSCatalog gal_type='real')":
            (lambda: cosmos_galaxies("real", n_real), n_real),
        # last, on its own: its new Sersic tables would push the others out of GalSim's cache
        "galsim.Sersic, a new n per galaxy": (lambda: sersic(0.0), max(8, n_gen // 8)),
    }


def bench_end_to_end(args, model, work):
    cases = _end_to_end_cases(model, args.n, args.n_real, work)
    model.sample({k: v[:2] for k, v in _catalog(2).items()}, rng=0)  # loads the graph
    alone = "galsim.Sersic, a new n per galaxy"
    timed = _interleaved({name: fn for name, (fn, _) in cases.items() if name != alone},
                         args.rounds)
    timed[alone] = _best(cases[alone][0], 1)  # every galaxy is new: no warm-up to skip
    rows = []
    for name, (fn, n) in cases.items():
        best, median = timed[name]
        rows.append({"case": name, "n": n, "ms_per_galaxy": 1e3 * best / n,
                     "median_ms_per_galaxy": 1e3 * median / n})
    ref = {r["case"]: r["ms_per_galaxy"] for r in rows}
    gen = ref["generated (this model)"]
    sersic = ref["galsim.Sersic, COSMOS fits, n rounded to 0.05 (as COSMOSCatalog)"]
    real = ref["galsim.RealGalaxy (COSMOSCatalog gal_type='real')"]
    return {"rows": rows, "generated_over_sersic": gen / sersic,
            "generated_over_real": gen / real,
            "targets": {"within_2x_sersic": gen <= 2 * sersic, "faster_than_real": gen < real}}


def bench_breakdown(args, model):
    import galsim

    cat = _catalog(args.n)
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    arrays = np.concatenate(list(model.sample_arrays(cat, rng=1)))
    parts = {}
    parts["random normals"] = _best(lambda: model.random_normal(args.n, 1), args.rounds)[0]
    parts["network (sample signature, blocks of 16)"] = _best(
        lambda: [None for _ in model.sample_arrays(cat, rng=1)], args.rounds)[0]
    if "decode" in model.signatures:  # a Flow-VAE: the decoder's share of the network
        import tensorflow as tf

        decode = model._signature("decode")
        z = [tf.constant(np.random.default_rng(0).normal(size=(16, model.latent_size))
                         .astype(np.float32)) for _ in range(0, args.n, 16)]
        decode(z=z[0])
        parts["  of which the decoder (decode signature)"] = _best(
            lambda: [decode(z=b)["image"].numpy() for b in z], args.rounds)[0] * \
            args.n / (16 * len(z))
    parts["InterpolatedImage (band-limit maxk)"] = _best(
        lambda: [model.profile(a) for a in arrays], args.rounds)[0]
    parts["InterpolatedImage (GalSim maxk)"] = _best(
        lambda: [model.profile(a, calculate_maxk=True) for a in arrays], args.rounds)[0]
    draws = []
    for _ in range(args.rounds):
        profiles = [model.profile(a) for a in arrays]  # fresh: no cached Fourier image
        t0 = time.perf_counter()
        for p in profiles:
            galsim.Convolve(p, psf).drawImage(nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)
        draws.append(time.perf_counter() - t0)
    parts["convolve + draw 32x32 at 0.2\""] = min(draws)
    return {"ms_per_galaxy": {k: 1e3 * v / args.n for k, v in parts.items()}}


def bench_accuracy(args, model):
    """What the fast profile settings change in drawn images (noiseless, no network noise).

    For each setting, the largest pixel difference relative to the stamp's peak, the flux
    difference, and the differences of the HSM adaptive moments (ellipticity e1, e2 and size
    sigma) against the reference: GalSim's own per-image maxk with pad_factor 4.
    """
    import galsim

    n = min(args.n, 200)
    arrays = np.concatenate(list(model.sample_arrays(_catalog(n), rng=2)))
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    draws = {
        "Kolmogorov 0.7\", 0.2\"/pixel": lambda g: galsim.Convolve(g, psf).drawImage(
            nx=STAMP, ny=STAMP, scale=PIXEL_SCALE),
        "no PSF, model pixels (method='fft')": lambda g: g.drawImage(
            nx=2 * model.stamp_size, ny=2 * model.stamp_size, scale=model.pixel_scale,
            method="fft"),
    }
    settings = {"band-limit maxk (default)": dict(),
                "pad_factor=2 (option)": dict(pad_factor=2)}
    rows = []
    for dname, draw in draws.items():
        ref = [draw(model.profile(a, calculate_maxk=True)) for a in arrays]
        ref_mom = [im.FindAdaptiveMom(strict=False) for im in ref]
        for sname, kw in settings.items():
            diff, flux, de, ds = [], [], [], []
            for a, r, m in zip(arrays, ref, ref_mom):
                im = draw(model.profile(a, **kw))
                diff.append(np.abs(im.array - r.array).max() / np.abs(r.array).max())
                flux.append(abs(im.array.sum() / r.array.sum() - 1))
                mom = im.FindAdaptiveMom(strict=False)
                if mom.moments_status == 0 and m.moments_status == 0:
                    de.append(max(abs(mom.observed_shape.e1 - m.observed_shape.e1),
                                  abs(mom.observed_shape.e2 - m.observed_shape.e2)))
                    ds.append(abs(mom.moments_sigma / m.moments_sigma - 1))
            rows.append({"draw": dname, "setting": sname, "n": n,
                         "max_pixel_diff_over_peak": float(np.max(diff)),
                         "max_flux_diff": float(np.max(flux)),
                         "max_e_diff": float(np.max(de)) if de else None,
                         "max_sigma_diff": float(np.max(ds)) if ds else None})
    return {"reference": "calculate_maxk=True, pad_factor=4 (GalSim's defaults)", "rows": rows}


def bench_batch(args, model):
    rows = []
    for batch in args.batch_sizes:
        n = min(args.n, max(32, 32 * batch))  # small batches pad to 16-row blocks: slow
        cat = _catalog(n)
        net = _best(lambda: [None for _ in model.sample_arrays(cat, rng=1, batch_size=batch)],
                    args.rounds)[0]
        full = _best(lambda: model.sample(cat, rng=1, batch_size=batch), args.rounds)[0]
        rows.append({"batch_size": batch, "n": n, "network_ms_per_galaxy": 1e3 * net / n,
                     "sample_ms_per_galaxy": 1e3 * full / n})
    return {"rows": rows, "note": "the network always runs in blocks of 16 rows "
                                  "(GenerativeGalaxyModel.EVAL_ROWS); batch_size sets how many "
                                  "blocks one Python call handles"}


def _yaml_config(model_path, ntiles, nproc=1, out=None, nfiles=1):
    cfg = {
        "modules": ["galsim_deep"],
        "psf": {"type": "Kolmogorov", "fwhm": PSF_FWHM},
        "gal": {"type": "GenerativeModelGalaxy",
                "mag_auto": {"type": "Catalog", "col": "mag_auto"},
                "flux_radius": {"type": "Catalog", "col": "flux_radius"},
                "zphot": {"type": "Catalog", "col": "zphot"},
                "zero_point": ZERO_POINT},
        "image": {"type": "Tiled", "nx_tiles": ntiles, "ny_tiles": ntiles, "stamp_size": STAMP,
                  "pixel_scale": PIXEL_SCALE, "random_seed": 1234, "nproc": nproc},
        "input": {"generative_model": {"file_name": str(model_path), "range_policy": "clip"},
                  "catalog": {"file_name": str(CONDITIONS["path"])}},
    }
    if out is not None:
        cfg["output"] = {"file_name": str(out)}
        if nfiles > 1:
            cfg["output"] = {"nfiles": nfiles, "dir": str(Path(out).parent),
                             "file_name": {"type": "FormattedStr",
                                           "format": Path(out).stem + "_%d.fits",
                                           "items": [{"type": "Sequence", "nitems": nfiles}]}}
    return cfg


def bench_yaml(args, model, model_path, work):
    """The same Tiled image of generated galaxies through the config and the API."""
    import galsim
    import yaml

    import galsim_deep  # noqa: F401

    ntiles = int(round(np.sqrt(args.n)))
    n = ntiles * ntiles
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    cat = _catalog(n)

    def api():
        image = galsim.ImageF(STAMP * ntiles, STAMP * ntiles, scale=PIXEL_SCALE)
        for k, gal in enumerate(model.sample(cat, rng=1, zero_point=ZERO_POINT)):
            i, j = k % ntiles, k // ntiles
            b = galsim.BoundsI(1 + STAMP * i, STAMP * (i + 1), 1 + STAMP * j, STAMP * (j + 1))
            galsim.Convolve(gal, psf).drawImage(image=image[b])

    def config():
        galsim.config.BuildImage(_yaml_config(model_path, ntiles))

    galsim.config.BuildImage(_yaml_config(model_path, 2))  # warm-up
    timed = _interleaved({"api": api, "yaml": config}, args.rounds)
    # the galsim executable, start-up included: two sizes give the per-object cost
    walls = {}
    for size in (4, ntiles):
        path = work / f"yaml_{size}.yaml"
        path.write_text(yaml.safe_dump(_yaml_config(model_path, size, out=work / f"y{size}.fits")))
        walls[size] = _best(lambda: _run([_galsim(), "-v", "0", str(path)]), 1)[0]
    per_object = (walls[ntiles] - walls[4]) / (n - 16)
    api_ms, yaml_ms = (1e3 * timed[k][0] / n for k in ("api", "yaml"))
    return {"n": n, "api_ms_per_galaxy": api_ms, "yaml_in_process_ms_per_galaxy": yaml_ms,
            "yaml_over_api_throughput": api_ms / yaml_ms,
            "galsim_command_ms_per_galaxy": 1e3 * per_object,
            "galsim_command_startup_s": walls[4] - 16 * per_object,
            "target_yaml_at_least_0.8x_api": api_ms / yaml_ms >= 0.8}


_CONFIG_RUNNER = """
import json, resource, sys, time
import galsim, galsim_deep

def cpu():
    a, b = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime

out = []
for label, cfg in json.load(open(sys.argv[1])):
    t0, c0 = time.perf_counter(), cpu()
    if "output" in cfg:
        galsim.config.Process(cfg, logger=None)
    else:
        galsim.config.BuildImage(cfg)
    out.append([label, time.perf_counter() - t0, cpu() - c0])
print(json.dumps(out))
"""


def _run_configs(runs, path, env=None):
    """Run GalSim configs one after the other in one fresh process: {label: (wall, cpu)}."""
    path.write_text(json.dumps(runs))
    runner = path.with_name("config_runner.py")
    runner.write_text(_CONFIG_RUNNER)
    res = subprocess.run([sys.executable, str(runner), str(path)], capture_output=True,
                         text=True, env=None if env is None else {**os.environ, **env})
    if res.returncode:
        raise RuntimeError(f"config runs failed:\n{res.stderr[-3000:]}")
    return {label: (wall, cpu) for label, wall, cpu in
            json.loads(res.stdout.strip().splitlines()[-1])}


def bench_nproc(args, model_path, work):
    """GalSim's image.nproc and output.nproc = 1, 2, and `galsim-deep simulate` on 1, 2 workers.

    The image.nproc configs run in one fresh process (TensorFlow must not have run before
    GalSim forks, so the nproc = 2 runs come first); two image sizes give the per-galaxy
    cost without the start-up (each image.nproc worker loads TensorFlow and the model, for
    every image).  The output.nproc runs (4 files) each take a fresh process and include
    its start-up; so do the simulate runs, whose two sizes again separate it out.
    """
    big = int(round(np.sqrt(args.n_nproc)))
    small = max(4, big // 4)
    files, per_file = 4, big
    image_runs = []
    for nproc in (2, 1):
        if nproc == 1:  # load TensorFlow and the model first: both sizes then start warm
            image_runs.append(["warm-up", _yaml_config(model_path, 2, 1)])
        for size in (small, big):
            image_runs.append([f"image.nproc={nproc} {size}",
                               _yaml_config(model_path, size, nproc)])
    timed = _run_configs(image_runs, work / "image_runs.json")
    # one process on one core: TensorFlow (and OpenMP) single-threaded
    single = [["warm-up", _yaml_config(model_path, 2, 1)]] + [
        [f"image.nproc=1 single-threaded {size}", _yaml_config(model_path, size, 1)]
        for size in (small, big)]
    timed.update(_run_configs(single, work / "single_runs.json",
                              env={"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
                                   "OMP_NUM_THREADS": "1"}))
    for nproc in (2, 1):  # each in a fresh process: both include one start-up
        cfg = _yaml_config(model_path, per_file, 1, out=work / f"files_{nproc}.fits",
                           nfiles=files)
        cfg["output"]["nproc"] = nproc
        timed.update(_run_configs([[f"output.nproc={nproc}", cfg]],
                                  work / f"output_runs_{nproc}.json"))
    out = {"image_nproc": [], "output_nproc": [], "simulate": []}
    dn = big ** 2 - small ** 2
    for nproc in ("1 single-threaded", 1, 2):
        (w1, c1), (w2, c2) = (timed[f"image.nproc={nproc} {size}"] for size in (small, big))
        out["image_nproc"].append({
            "nproc": nproc, "n": big ** 2, "ms_per_galaxy": 1e3 * (w2 - w1) / dn,
            "cpu_ms_per_galaxy": 1e3 * (c2 - c1) / dn,
            "startup_s": w1 - small ** 2 * (w2 - w1) / dn})
        if nproc == "1 single-threaded":
            continue
        wall, cpu = timed[f"output.nproc={nproc}"]
        out["output_nproc"].append({"nproc": nproc, "n": files * per_file ** 2,
                                    "files": files, "wall_s": wall, "cpu_s": cpu,
                                    "ms_per_galaxy": 1e3 * wall / (files * per_file ** 2)})
    one, a, b = out["image_nproc"]
    out["image_speedup_2_over_1"] = a["ms_per_galaxy"] / b["ms_per_galaxy"]
    # against one process held to one core: the scaling per core
    out["image_speedup_2_over_1_single_threaded"] = one["ms_per_galaxy"] / b["ms_per_galaxy"]
    # CPU time per galaxy with 1 process over 2: the share of the work not duplicated by
    # the second process; 2 x this is the speed-up on 2 otherwise idle cores
    out["image_cpu_efficiency_2"] = a["cpu_ms_per_galaxy"] / b["cpu_ms_per_galaxy"]
    a, b = out["output_nproc"]
    out["output_speedup_2_over_1"] = a["wall_s"] / b["wall_s"]
    out["output_cpu_efficiency_2"] = a["cpu_s"] / b["cpu_s"]

    from galsim_deep.simulate import mock_catalog

    field = int(args.field_size)
    sizes = (args.n_simulate // 8, args.n_simulate)
    for workers in (0, 1, 2):
        walls = {}
        for n in sizes:
            cat = work / f"sim_{n}.ecsv"
            if not cat.exists():
                mock_catalog(n, (field, field), seed=1).write(cat, overwrite=True)
            d = work / f"sim_w{workers}_{n}"
            shutil.rmtree(d, ignore_errors=True)
            walls[n] = _run(
                [_cli(), "simulate", str(cat), "--out", str(d), "--model", str(model_path),
                 "--field-size", str(field), "--tile-size", str(field // 4), "--workers",
                 str(workers), "--quiet", "--range-policy", "clip", "--no-mosaic"])
        n1, n2 = sizes
        out["simulate"].append({"workers": workers, "n": n2, "tiles": 16,
                                "ms_per_galaxy": 1e3 * (walls[n2] - walls[n1]) / (n2 - n1),
                                "startup_s": walls[n1] - n1 * (walls[n2] - walls[n1]) / (n2 - n1),
                                "wall_s": walls[n2]})
    s = {r["workers"]: r for r in out["simulate"]}
    out["simulate_speedup_2_over_1"] = s[1]["ms_per_galaxy"] / s[2]["ms_per_galaxy"]
    out["target_2_processes_at_least_1.7x"] = max(
        out["image_speedup_2_over_1"], out["image_speedup_2_over_1_single_threaded"],
        out["output_speedup_2_over_1"], out["simulate_speedup_2_over_1"]) >= 1.7
    out["note"] = ("wall-time speed-ups need 2 otherwise idle cores; the CPU efficiencies "
                   "(CPU time with 1 process / with 2) do not depend on other load")
    return out


def bench_memory(args, model_path):
    """Peak RSS of a fresh process streaming galaxies through sample_arrays."""
    rows = []
    for n in (args.n_memory // 10, args.n_memory):
        res = _python(f"""
            import json, resource, time, numpy as np, galsim_deep
            from astropy.table import Table
            m = galsim_deep.GenerativeGalaxyModel({str(model_path)!r}, range_policy="clip")
            rows = Table.read({str(CONDITIONS["path"])!r})
            cat = {{c: np.resize(np.asarray(rows[c], float), {n})
                   for c in ("mag_auto", "flux_radius", "zphot")}}
            m.sample_arrays({{k: v[:16] for k, v in cat.items()}}, rng=0).__next__()
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            t0 = time.perf_counter()
            total = 0.0
            for batch in m.sample_arrays(cat, rng=1, batch_size=256):
                total += float(batch.sum())
            print(json.dumps({{"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                              / 1024, "after_first_batch_mb": base,
                              "seconds": time.perf_counter() - t0}}))
            """)
        rows.append({"n": n, **res})
        print(f"  {n} galaxies: peak {res['peak_rss_mb']:.0f} MB")
    return {"rows": rows,
            "growth_mb": rows[1]["peak_rss_mb"] - rows[0]["peak_rss_mb"],
            "target_flat": rows[1]["peak_rss_mb"] - rows[0]["peak_rss_mb"] < 50}


# ---------------------------------------------------------------------------- report
def print_report(res):
    print(f"\nmodel: {res['model']}\nmachine: {res['machine']}, {res['cpus']} CPUs")
    if "training" in res:
        print("\ntraining throughput (steady state)")
        for r in res["training"]["rows"]:
            print(f"  {r['recipe']:22s} {r['part'][:40]:40s} {r['seconds_per_step']:7.3f} s/step"
                  f"  {r['images_per_s']:7.1f} images/s")
    if "load" in res:
        r = res["load"]
        print(f"\nload: import tensorflow {r['import_tensorflow_s']:.2f} s, metadata "
              f"{1e3 * r['metadata_s']:.1f} ms, graph {r['graph_load_s']:.2f} s, first sample "
              f"{r['first_sample_s']:.2f} s, warm single sample "
              f"{1e3 * r['warm_single_sample_s']:.1f} ms")
    if "end_to_end" in res:
        r = res["end_to_end"]
        print(f"\nend to end (sample, Kolmogorov {PSF_FWHM}\", {STAMP}x{STAMP} at "
              f"{PIXEL_SCALE}\"/pixel)        ms/galaxy   median")
        for row in r["rows"]:
            print(f"  {row['case'][:62]:62s} {row['ms_per_galaxy']:8.2f} "
                  f"{row['median_ms_per_galaxy']:8.2f}")
        print(f"  generated / Sersic = {r['generated_over_sersic']:.2f} (target <= 2); "
              f"generated / real = {r['generated_over_real']:.2f} (target < 1)")
    if "breakdown" in res:
        print("\nwhere a generated galaxy's time goes (ms/galaxy)")
        for k, v in res["breakdown"]["ms_per_galaxy"].items():
            print(f"  {k:45s} {v:8.3f}")
    if "accuracy" in res:
        print(f"\naccuracy against {res['accuracy']['reference']}: largest |pixel diff| / peak, "
              f"|flux diff|, |e1, e2 diff|, |sigma diff| (relative)")
        for row in res["accuracy"]["rows"]:
            e = "-" if row["max_e_diff"] is None else f"{row['max_e_diff']:.1e}"
            sg = "-" if row["max_sigma_diff"] is None else f"{row['max_sigma_diff']:.1e}"
            print(f"  {row['draw'][:42]:42s} {row['setting']:26s} "
                  f"{row['max_pixel_diff_over_peak']:.1e} {row['max_flux_diff']:.1e} {e} {sg}")
    if "batch" in res:
        print("\nbatch size   network ms/gal   sample() ms/gal")
        for row in res["batch"]["rows"]:
            print(f"  {row['batch_size']:8d} {row['network_ms_per_galaxy']:14.3f} "
                  f"{row['sample_ms_per_galaxy']:15.3f}")
    if "yaml" in res:
        r = res["yaml"]
        print(f"\nYAML vs API ({r['n']} galaxies, Tiled image): API {r['api_ms_per_galaxy']:.2f}, "
              f"config {r['yaml_in_process_ms_per_galaxy']:.2f} ms/galaxy -> YAML throughput "
              f"{r['yaml_over_api_throughput']:.2f} x API (target >= 0.8); `galsim` command "
              f"{r['galsim_command_ms_per_galaxy']:.2f} ms/galaxy + "
              f"{r['galsim_command_startup_s']:.1f} s start-up")
    if "nproc" in res:
        r = res["nproc"]
        print("\nprocesses                     wall ms/galaxy   CPU ms/galaxy   start-up s")
        for row in r["image_nproc"]:
            print(f"  galsim image.nproc={str(row['nproc'])[:18]:18s} "
                  f"{row['ms_per_galaxy']:8.2f} {row['cpu_ms_per_galaxy']:14.2f} "
                  f"{row['startup_s']:11.1f}")
        print(f"    speed-up 2 / 1 = {r['image_speedup_2_over_1']:.2f} (2 / 1 single-threaded "
              f"{r['image_speedup_2_over_1_single_threaded']:.2f}); CPU efficiency "
              f"{r['image_cpu_efficiency_2']:.2f}")
        for row in r["output_nproc"]:
            print(f"  galsim output.nproc={row['nproc']} ({row['files']} files) "
                  f"{row['ms_per_galaxy']:8.2f} {1e3 * row['cpu_s'] / row['n']:14.2f}  "
                  f"(start-up included)")
        print(f"    speed-up 2 / 1 = {r['output_speedup_2_over_1']:.2f}; CPU efficiency "
              f"{r['output_cpu_efficiency_2']:.2f}")
        for row in r["simulate"]:
            label = "in-process" if row["workers"] == 0 else f"{row['workers']} Dask workers"
            print(f"  simulate, {label:18s} {row['ms_per_galaxy']:10.2f} {'':14s} "
                  f"{row['startup_s']:11.1f}")
        print(f"    speed-up 2 / 1 = {r['simulate_speedup_2_over_1']:.2f} (target >= 1.7)")
    if "memory" in res:
        print("\npeak memory streaming galaxies (sample_arrays, batch 256)")
        for row in res["memory"]["rows"]:
            print(f"  {row['n']:8d} galaxies: {row['peak_rss_mb']:7.0f} MB "
                  f"({row['seconds']:.0f} s)")


def rst_tables(paths):
    """reStructuredText tables of result files side by side (for docs/performance.rst)."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    names = [r["model"].split(":")[0] if ":" in r["model"] and not r["model"].startswith("hub")
             else r["model"] for r in runs]
    lines = []

    def table(title, header, rows):
        lines.extend([f".. list-table:: {title}", "   :header-rows: 1", ""])
        for row in [header] + rows:
            lines.append("   * - " + str(row[0]))
            lines.extend(f"     - {cell}" for cell in row[1:])
        lines.append("")

    def cell(run, *keys, fmt="{:.2f}"):
        value = run
        for k in keys:
            if not isinstance(value, dict) or k not in value:
                return "-"
            value = value[k]
        return fmt.format(value) if isinstance(value, (int, float)) else str(value)

    if any("end_to_end" in r for r in runs):
        cases = [row["case"] for row in next(r for r in runs if "end_to_end" in r)
                 ["end_to_end"]["rows"]]
        rows = []
        for case in cases:
            row = [case]
            for r in runs:
                found = [x for x in r.get("end_to_end", {}).get("rows", []) if x["case"] == case]
                row.append(f"{found[0]['ms_per_galaxy']:.2f}" if found else "-")
            rows.append(row)
        rows.append(["generated / Sersic (target <= 2)"] +
                    [cell(r, "end_to_end", "generated_over_sersic") for r in runs])
        rows.append(["generated / real (target < 1)"] +
                    [cell(r, "end_to_end", "generated_over_real") for r in runs])
        table("End to end, ms per galaxy (sample, Kolmogorov 0.7\", 32x32 stamp at 0.2\")",
              ["case"] + names, rows)
    if any("breakdown" in r for r in runs):
        keys = []
        for r in runs:
            for k in r.get("breakdown", {}).get("ms_per_galaxy", {}):
                if k not in keys:
                    keys.append(k)
        table("Where a generated galaxy's time goes, ms per galaxy", ["step"] + names,
              [[k.strip()] + [cell(r, "breakdown", "ms_per_galaxy", k, fmt="{:.3f}")
                              for r in runs] for k in keys])
    for r, name in zip(runs, names):
        if "accuracy" in r:
            table(f"Fast settings against GalSim's defaults ({name})",
                  ["drawn", "setting", "max pixel diff / peak", "flux diff", "e1, e2 diff",
                   "size diff"],
                  [[x["draw"], x["setting"], f"{x['max_pixel_diff_over_peak']:.1e}",
                    f"{x['max_flux_diff']:.1e}",
                    "-" if x["max_e_diff"] is None else f"{x['max_e_diff']:.1e}",
                    "-" if x["max_sigma_diff"] is None else f"{x['max_sigma_diff']:.1e}"]
                   for x in r["accuracy"]["rows"]])
    if any("batch" in r for r in runs):
        sizes = sorted({x["batch_size"] for r in runs for x in r.get("batch", {}).get("rows", [])})
        rows = []
        for b in sizes:
            row = [b]
            for r in runs:
                found = [x for x in r.get("batch", {}).get("rows", []) if x["batch_size"] == b]
                row.append(f"{found[0]['network_ms_per_galaxy']:.2f} / "
                           f"{found[0]['sample_ms_per_galaxy']:.2f}" if found else "-")
            rows.append(row)
        table("Batch size: network / sample() ms per galaxy", ["batch_size"] + names, rows)
    rows = [["API, ms/galaxy"] + [cell(r, "yaml", "api_ms_per_galaxy") for r in runs],
            ["config in-process, ms/galaxy"] +
            [cell(r, "yaml", "yaml_in_process_ms_per_galaxy") for r in runs],
            ["YAML / API throughput (target >= 0.8)"] +
            [cell(r, "yaml", "yaml_over_api_throughput") for r in runs],
            ["galsim command, ms/galaxy"] +
            [cell(r, "yaml", "galsim_command_ms_per_galaxy") for r in runs],
            ["galsim command start-up, s"] +
            [cell(r, "yaml", "galsim_command_startup_s", fmt="{:.1f}") for r in runs]]
    table("YAML against the API", ["", *names], rows)
    def find(r, key, field, value):
        found = [x for x in r.get("nproc", {}).get(key, []) if x.get(field) == value]
        return found[0] if found else None

    rows = []
    for value in ("1 single-threaded", 1, 2):
        row = [f"galsim image.nproc={value}, ms/galaxy (CPU ms)"]
        for r in runs:
            x = find(r, "image_nproc", "nproc", value)
            row.append("-" if x is None else
                       f"{x['ms_per_galaxy']:.2f} ({x['cpu_ms_per_galaxy']:.2f})")
        rows.append(row)
    rows.append(["speed-up image.nproc 2 / 1"] +
                [cell(r, "nproc", "image_speedup_2_over_1") for r in runs])
    rows.append(["speed-up image.nproc 2 / 1 single-threaded"] +
                [cell(r, "nproc", "image_speedup_2_over_1_single_threaded") for r in runs])
    rows.append(["speed-up output.nproc 2 / 1, 4 files"] +
                [cell(r, "nproc", "output_speedup_2_over_1") for r in runs])
    for k, label in ((0, "in-process"), (1, "1 Dask worker"), (2, "2 Dask workers")):
        row = [f"simulate, {label}, ms/galaxy"]
        for r in runs:
            x = find(r, "simulate", "workers", k)
            row.append("-" if x is None else f"{x['ms_per_galaxy']:.2f}")
        rows.append(row)
    rows.append(["speed-up simulate 2 / 1 workers"] +
                [cell(r, "nproc", "simulate_speedup_2_over_1") for r in runs])
    table("Processes (2-core machine)", ["", *names], rows)
    rows = []
    for i in range(2):
        rows.append([f"{runs[0].get('memory', {}).get('rows', [{}, {}])[i].get('n', '-')} "
                     "galaxies, peak MB"] + [
            "-" if "memory" not in r else f"{r['memory']['rows'][i]['peak_rss_mb']:.0f} "
            f"({r['memory']['rows'][i]['n']})" for r in runs])
    table("Peak memory streaming galaxies (sample_arrays), MB (galaxies)", ["", *names], rows)
    rows = [[k] + [cell(r, "load", key, fmt=fmt) for r in runs] for k, key, fmt in (
        ("import tensorflow, s", "import_tensorflow_s", "{:.2f}"),
        ("read metadata, ms", "metadata_s", "{:.4f}"),
        ("load the graph, s", "graph_load_s", "{:.2f}"),
        ("first sample (1 galaxy), s", "first_sample_s", "{:.2f}"),
        ("next single-galaxy sample, s", "warm_single_sample_s", "{:.3f}"))]
    table("Model load and first-sample latency (fresh process)", ["", *names], rows)
    for r in runs:
        if "training" in r:
            table("Training throughput (steady state, CPU recipes)",
                  ["recipe", "part", "batch", "s/step", "images/s"],
                  [[x["recipe"], x["part"], x["batch_size"], f"{x['seconds_per_step']:.3f}",
                    f"{x['images_per_s']:.1f}"] for x in r["training"]["rows"]])
            break
    return "\n".join(lines)


def plot(res, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in ("end_to_end", "batch") if k in res]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(7.5 * len(panels), 4.2), squeeze=False)
    for ax, key in zip(axes[0], panels):
        if key == "end_to_end":
            rows = res[key]["rows"]
            colours = ["C0" if r["case"].startswith("generated") else
                       "C2" if "real" in r["case"] else "C1" for r in rows]
            ax.barh([r["case"][:62] for r in rows], [r["ms_per_galaxy"] for r in rows],
                    color=colours)
            ax.set_xscale("log")
            ax.set_xlabel("ms per galaxy (sample + convolve + draw)")
            ax.invert_yaxis()
            ax.tick_params(axis="y", labelsize=7)
        else:
            rows = res[key]["rows"]
            b = [r["batch_size"] for r in rows]
            ax.plot(b, [r["network_ms_per_galaxy"] for r in rows], "o-", label="network")
            ax.plot(b, [r["sample_ms_per_galaxy"] for r in rows], "s-", label="sample()")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("batch size")
            ax.set_ylabel("ms per galaxy")
            ax.legend()
    fig.suptitle(f"galsim_deep benchmarks: {res['model'][:70]}", fontsize=9)
    fig.tight_layout()
    from galsim_deep._io import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def main(argv=None):
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
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[1, 4, 16, 64, 256])
    parser.add_argument("--train-steps", type=int, nargs=2, default=[5, 20])
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
        args.n_simulate = 160
        args.rounds, args.train_steps, args.field_size = 1, [2, 4], 256
        args.batch_sizes = [1, 16, 64]
    sections = [s for s in (args.only.split(",") if args.only else SECTIONS)
                if s not in args.skip.split(",")]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")

    import galsim_deep
    from galsim_deep._io import atomic_path

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
               "python": platform.python_version(), "galsim_deep": galsim_deep.__version__,
               "command": " ".join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])]),
               "started": time.strftime("%Y-%m-%d %H:%M:%S"), "loadavg": {}}

    def save():
        with atomic_path(args.out) as t:
            t.write_text(json.dumps(results, indent=2, default=float) + "\n")

    try:
        if "training" in sections:
            print("training ...", flush=True)
            results["loadavg"]["training"] = _loadavg()
            results["training"] = bench_training(args, work)
            save()
        model_path, label = _resolve_model(args.model, work)
        results["model"] = label
        if previous and previous.get("model") == label:
            for key in SECTIONS:
                if key in previous and key not in sections:
                    results[key] = previous[key]
                    results["loadavg"][key] = previous.get("loadavg", {}).get(key)
        _write_conditions(work)
        model = galsim_deep.GenerativeGalaxyModel(model_path, range_policy="clip")
        results["model_info"] = {"stamp_size": model.stamp_size,
                                 "pixel_scale": model.pixel_scale,
                                 "latent_size": model.latent_size,
                                 "family": model.metadata["family"]}
        for name in sections:
            if name == "training":
                continue
            print(f"{name} ...", flush=True)
            results["loadavg"][name] = _loadavg()
            t0 = time.perf_counter()
            if name == "load":
                results[name] = bench_load(args, model_path)
            elif name == "end_to_end":
                results[name] = bench_end_to_end(args, model, work)
            elif name == "breakdown":
                results[name] = bench_breakdown(args, model)
            elif name == "accuracy":
                results[name] = bench_accuracy(args, model)
            elif name == "batch":
                results[name] = bench_batch(args, model)
            elif name == "yaml":
                results[name] = bench_yaml(args, model, model_path, work)
            elif name == "nproc":
                results[name] = bench_nproc(args, model_path, work)
            elif name == "memory":
                results[name] = bench_memory(args, model_path)
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
