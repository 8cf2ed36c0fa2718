"""``yaml`` section: the same job through GalSim's config (YAML) and the direct API, and a
YAML field of generated galaxies against the same field of ``COSMOSGalaxy`` parametric ones.

In this process (``galsim.config.BuildImage``) and through the ``galsim``
executable, whose two image sizes separate its start-up from the cost per
galaxy.
"""
import os
import tempfile
import time

import numpy as np

from _shared import (PIXEL_SCALE, PSF_FWHM, STAMP, ZERO_POINT, best_time, catalog,
                     galsim_path, interleaved_times, run_command, yaml_config)


#: The generated field run with an empty cache: a user's first run.
COLD = "generated, first run (empty cache)"


def run(args, model, model_path, work):
    """The same Tiled image of generated galaxies through the config and the API."""
    import galsim
    import yaml

    import galsim_deep  # noqa: F401

    ntiles = int(round(np.sqrt(args.n)))
    n = ntiles * ntiles
    psf = galsim.Kolmogorov(fwhm=PSF_FWHM)
    cat = catalog(n)

    def api():
        image = galsim.ImageF(STAMP * ntiles, STAMP * ntiles, scale=PIXEL_SCALE)
        for k, gal in enumerate(model.sample(cat, rng=1, zero_point=ZERO_POINT)):
            i, j = k % ntiles, k // ntiles
            b = galsim.BoundsI(1 + STAMP * i, STAMP * (i + 1), 1 + STAMP * j, STAMP * (j + 1))
            galsim.Convolve(gal, psf).drawImage(image=image[b])

    def config():
        galsim.config.BuildImage(yaml_config(model_path, ntiles))

    galsim.config.BuildImage(yaml_config(model_path, 2))  # warm-up
    timed = interleaved_times({"api": api, "yaml": config}, args.rounds)
    # the galsim executable, start-up included: two sizes give the per-object cost
    walls = {}
    for size in (4, ntiles):
        path = work / f"yaml_{size}.yaml"
        path.write_text(yaml.safe_dump(yaml_config(model_path, size,
                                                   out=work / f"y{size}.fits")))
        walls[size] = best_time(lambda: run_command([galsim_path(), "-v", "0", str(path)]),
                                1)[0]
    per_object = (walls[ntiles] - walls[4]) / (n - 16)
    api_ms, yaml_ms = (1e3 * timed[k][0] / n for k in ("api", "yaml"))
    return {"n": n, "api_ms_per_galaxy": api_ms, "yaml_in_process_ms_per_galaxy": yaml_ms,
            "yaml_over_api_throughput": api_ms / yaml_ms,
            "galsim_command_ms_per_galaxy": 1e3 * per_object,
            "galsim_command_startup_s": walls[4] - 16 * per_object,
            "target_yaml_at_least_0.8x_api": api_ms / yaml_ms >= 0.8,
            "field": run_field(args, model_path, work, variants=True),
            "field_drawing": run_field_drawing(args, model_path, work),
            "startup": run_startup(args, model_path)}


FIELD_OBJECTS = 1000


def field_config(gal, inputs, nobjects, out):
    """A ``Scattered`` 1024 x 1024 field at 0.2"/pixel, 32-pixel stamps, Kolmogorov 0.7"."""
    return {"modules": ["galsim_deep"], "psf": {"type": "Kolmogorov", "fwhm": PSF_FWHM},
            "gal": gal,
            "image": {"type": "Scattered", "size": 1024, "pixel_scale": PIXEL_SCALE,
                      "stamp_size": STAMP, "nobjects": nobjects, "random_seed": 1234,
                      "nproc": 1},
            "input": inputs, "output": {"file_name": str(out)}}


def _field_kinds(model_path, work):
    """The field's two galaxies: (gal, input) config pairs of the generated galaxies (their
    conditions from the benchmark catalog) and of ``COSMOSGalaxy`` parametric ones."""
    from _shared import CONDITIONS

    from galsim_deep.data.cosmos_example import EXAMPLE_FILE_NAME, build_example_directory

    cosmos_dir = build_example_directory(work / "cosmos_example", seed=1)
    return {
        "generated": ({"type": "GenerativeModelGalaxy",
                       **{q: {"type": "Catalog", "col": q}
                          for q in ("mag_auto", "flux_radius", "zphot")},
                       "zero_point": ZERO_POINT},
                      {"generative_model": {"file_name": str(model_path),
                                            "range_policy": "clip"},
                       "catalog": {"file_name": str(CONDITIONS["path"])}}),
        "COSMOSGalaxy parametric": ({"type": "COSMOSGalaxy", "gal_type": "parametric"},
                                    {"cosmos_catalog": {"file_name": EXAMPLE_FILE_NAME,
                                                        "dir": str(cosmos_dir)}}),
    }


def run_field_drawing(args, model_path, work, nobjects=FIELD_OBJECTS):
    """The same field in this process, block drawing on and off, what is not the network
    (``Network.run_blocks`` timed apart and taken off), beside the parametric field's
    whole cost, ms per object (best of ``args.rounds``): the drawing's own gain, which the
    network's run-to-run spread hides in the ``galsim`` command's totals."""
    import galsim

    from galsim_deep.api.config import batching
    from galsim_deep.engine import network

    kinds = _field_kinds(model_path, work)
    gal, inputs = kinds["generated"]
    configs = {label: field_config(gal, {**inputs, "generative_model": {
        **inputs["generative_model"], "block_drawing": block}}, nobjects, work / "d.fits")
        for label, block in (("generated, blocks", True), ("generated, GalSim drawing", False))}
    configs["COSMOSGalaxy parametric"] = field_config(*kinds["COSMOSGalaxy parametric"],
                                                      nobjects, work / "p.fits")
    spent = [0.0]
    original = network.Network.run_blocks

    def timed(self, *a, **k):
        t0 = time.perf_counter()
        try:
            return original(self, *a, **k)
        finally:
            spent[0] += time.perf_counter() - t0

    best = {label: float("inf") for label in configs}
    network.Network.run_blocks = timed
    try:
        for label, cfg in configs.items():   # warm-up: loads the inputs and the network
            galsim.config.BuildImage(galsim.config.CopyConfig(cfg))
        for _ in range(args.rounds):
            for label, cfg in configs.items():
                batching._GROUPS.clear()
                spent[0] = 0.0
                t0 = time.perf_counter()
                galsim.config.BuildImage(galsim.config.CopyConfig(cfg))
                best[label] = min(best[label], time.perf_counter() - t0 - spent[0])
    finally:
        network.Network.run_blocks = original
    reference = best["COSMOSGalaxy parametric"]
    return {"nobjects": nobjects, "ms_per_object": {k: 1e3 * v / nobjects
                                                    for k, v in best.items()},
            "ratio_to_parametric": {k: v / reference for k, v in best.items()}}


def run_field(args, model_path, work, nobjects=FIELD_OBJECTS, variants=False):
    """The ``galsim`` executable on a field of ``nobjects`` generated galaxies and on the same
    field of ``COSMOSGalaxy`` parametric ones, start-up included (best of ``args.rounds``,
    interleaved); a field of 1 object of each gives the start-up, the difference the cost per
    object.  ``variants`` adds the generated field in ONNX Runtime, with and without block
    drawing (``runtime: onnx``, ``block_drawing: false``), to see what each lever gives.
    The generated field is also run with an empty cache each time (``GALSIM_DEEP_CACHE`` a
    new folder): a user's first run, which compiles the network for OpenVINO, where later
    runs read it compiled from the cache."""
    import yaml

    kinds = _field_kinds(model_path, work)
    kinds[COLD] = kinds["generated"]
    if variants:
        gal, inputs = kinds["generated"]
        for label, extra in (("generated, ONNX Runtime, blocks", {"runtime": "onnx"}),
                             ("generated, ONNX Runtime, GalSim drawing",
                              {"runtime": "onnx", "block_drawing": False})):
            kinds[label] = (gal, {**inputs, "generative_model": {**inputs["generative_model"],
                                                                  **extra}})
    commands = {}
    for number, (kind, (gal, inputs)) in enumerate(kinds.items()):
        for n in (1, nobjects):
            path = work / f"field_{number}_{n}.yaml"
            path.write_text(yaml.safe_dump(field_config(gal, inputs, n, path.with_suffix(
                ".fits"))))
            commands[(kind, n)] = [galsim_path(), "-v", "0", str(path)]

    def cold_env():
        return {**os.environ, "GALSIM_DEEP_CACHE": tempfile.mkdtemp(dir=work)}

    timed = interleaved_times({key: (lambda c=cmd, k=key[0]: run_command(
        c, env=cold_env() if k == COLD else None)) for key, cmd in commands.items()},
        args.rounds)
    rows = {}
    for kind in kinds:
        total, startup = timed[(kind, nobjects)][0], timed[(kind, 1)][0]
        rows[kind] = {"wall_s": total, "startup_s": startup,
                      "ms_per_object": 1e3 * (total - startup) / (nobjects - 1)}
    ratio = rows["generated"]["wall_s"] / rows["COSMOSGalaxy parametric"]["wall_s"]
    return {"nobjects": nobjects, "rows": rows, "generated_over_parametric": ratio,
            "per_object_ratio": rows["generated"]["ms_per_object"]
            / rows["COSMOSGalaxy parametric"]["ms_per_object"],
            "target_within_1.5x_parametric": ratio <= 1.5}


_STARTUP = """
import json, time
t = [time.perf_counter()]
import galsim  # noqa: F401
t.append(time.perf_counter())
import tensorflow  # noqa: F401
t.append(time.perf_counter())
import galsim_deep
t.append(time.perf_counter())
model = galsim_deep.GenerativeGalaxyModel({model!r})
t.append(time.perf_counter())
model.network.runner("sample")
t.append(time.perf_counter())
cat = {{q: [0.5 * (lo + hi)] for q, (lo, hi) in model.condition_ranges.items()}}
model.sample(cat, rng=1)
t.append(time.perf_counter())
model.sample(cat, rng=2)
t.append(time.perf_counter())
print(json.dumps([b - a for a, b in zip(t, t[1:])]))
"""


def run_startup(args, model_path):
    """Where a fresh process's start-up goes (s, best of ``args.rounds`` fresh processes):
    imports, the module's metadata (and archive unpacking, on a first use), loading its
    graph, the first call (TensorFlow optimises the graph) and a warm call of one galaxy."""
    from _shared import run_python

    names = ["import galsim", "import tensorflow", "import galsim_deep (the rest)",
             "GenerativeGalaxyModel(): resolve the module, read its metadata",
             "load the graph (tensorflow_hub.load)",
             "first sample() of one galaxy (graph optimisation + one block)",
             "a second sample() of one galaxy (one block, warm)"]
    runs = [run_python(_STARTUP.format(model=str(model_path))) for _ in range(args.rounds)]
    best = np.min(np.array(runs), axis=0)
    return {"steps_s": dict(zip(names, (float(v) for v in best))),
            "total_s": float(np.min(np.sum(runs, axis=1)))}
