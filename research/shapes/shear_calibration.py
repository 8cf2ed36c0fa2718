"""Shear calibration of the default's galaxies against the truth, with shapes from the catalog.

Issue 94's fourth item: the multiplicative shear bias of REGAUSS (the project's shear
measure, :mod:`galsim_deep.tools.validation.measures.shear`) on generated galaxies minus on
their mock truths, ``dm``, through the lab's 0.1" Gaussian, Euclid VIS and the LSST 10-year
coadd, and where it comes from.  The same galaxies (mock-COSMOS to F814W 25.2, a seed no
build uses) in five forms:

``truth``              the mock truths' own profiles;
``generated``          the default model's galaxies for the truths' catalog rows, as drawn;
``catalog shapes``     the same galaxies given the truths' catalog shapes (the parametric
                       fit's q and beta): what a user with a catalog gets;
``truth's shapes``     the same galaxies given the truths' own measured shapes (HSM of the
                       truth drawn as the engine measures a stamp): what is left is the
                       profile's part of ``dm``;
``truth, generated shapes``  the truths mapped to the generated galaxies' own shapes:
                       what is left is the shape's part.

Each ``dm`` is paired (the same galaxies in both forms, bootstrapped together:
:func:`~galsim_deep.tools.validation.measures.shear.paired.paired_shear_difference`).

Usage (about 20 minutes for 3,000 galaxies on the 2-core machine)::

    python research/shapes/shear_calibration.py --galaxies 3000 \\
        --out docs/_static/shapes_shear.json
"""
import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))


def views():
    """The views, as the shear measure names them: the shear check's of the survey views
    file (the measure's own 0.1" Gaussian, then the views whose ``checks`` name shear)."""
    from galsim_deep.tools.validation.measures.survey_views.views import check_views

    return check_views("shear")


#: The measure's seed: a catalog no training or evaluation build of the project uses.
SEED = 94_3001


def truths(n, seed):
    """The catalog rows, catalog shapes (q, beta in degrees) and truth profiles."""
    from galsim_deep.data.mock_cosmos import sample_conditions
    from galsim_deep.data.mock_galaxies import galaxy_rng, make_mock_galaxy

    table = sample_conditions(n, seed=seed, population="cosmos-25.2")
    cat = {c: np.asarray(table[c], np.float64) for c in ("mag_auto", "flux_radius", "zphot")}
    made = [make_mock_galaxy(*(cat[c][i] for c in cat), galaxy_rng(seed + 1, i),
                             population="cosmos-25.2") for i in range(n)]
    cat["q"] = np.array([m.parametric[3] for m in made])
    cat["beta"] = np.degrees([m.parametric[4] for m in made])
    return cat, [m.profile for m in made]


def own_shapes(profiles, pixel_scale, side):
    """Each profile's shape as the engine measures a stamp's (``g1, g2`` [N, 2]): HSM of
    it drawn without a pixel on the model's grid."""
    from galsim_deep.engine.shapes import measured_shapes

    images = np.stack([p.drawImage(nx=side, ny=side, scale=pixel_scale, method="no_pixel")
                       .array for p in profiles])
    return measured_shapes(images)


def as_shapes(g):
    """``(q, beta in degrees)`` of reduced shears ``[N, 2]``."""
    from galsim_deep.engine.shapes import axis_ratios

    q, beta = axis_ratios(g[:, 0], g[:, 1])
    return q, np.degrees(beta)


#: The forms of the galaxies, in the order the module docstring gives them.
FORMS = ("truth", "generated", "catalog shapes", "truth's shapes", "truth, generated shapes")


def forms(model, n, seed, names=FORMS):
    """The forms of the galaxies (module docstring) named by ``names``."""
    from galsim_deep.engine.shapes import shape_jacobians

    cat, truth = truths(n, seed)
    conditions = {k: cat[k] for k in ("mag_auto", "flux_radius", "zphot")}
    side = model.rotated_stamp_size
    generated = model.sample(conditions, rng=seed)
    if set(names) <= {"truth", "generated"}:
        return {name: {"truth": truth, "generated": generated}[name] for name in names}
    truth_g = own_shapes(truth, model.pixel_scale, side)
    generated_g = own_shapes(generated, model.pixel_scale, side)
    truth_q, truth_beta = as_shapes(truth_g)
    gen_q, gen_beta = as_shapes(generated_g)
    maps = shape_jacobians(truth_g[:, 0], truth_g[:, 1], gen_q, np.radians(gen_beta))
    made = {"truth": truth, "generated": generated,
            "catalog shapes": model.sample(cat, rng=seed),
            "truth's shapes": model.sample(dict(conditions, q=truth_q, beta=truth_beta),
                                           rng=seed),
            "truth, generated shapes": [t.transform(*m.ravel()) for t, m in zip(truth, maps)]}
    return {name: made[name] for name in names}


def measure(model, galaxies, pool, cache=None):
    """REGAUSS distortions of every form through every view; with ``cache`` (a folder), each
    view and form is kept there as it finishes (``MODEL-VERSION-N-SEED/VIEW--FORM.npy``) and
    read back by a rerun, so that an interrupted run loses nothing it measured."""
    from galsim_deep.core.files import atomic_path
    from galsim_deep.tools.validation.measures.shear.compute import shear_measurements

    out = {}
    for view in views():
        out[view] = {}
        for name, profiles in galaxies.items():
            path = None if cache is None else (
                Path(cache) / f"{model.metadata['name']}-{model.metadata['version']}-"
                f"{len(profiles)}-{SEED}" / f"{view}--{name}.npy")
            if path is not None and path.is_file():
                out[view][name] = np.load(path)
                continue
            out[view][name] = shear_measurements(profiles, model.stamp_size,
                                                 model.pixel_scale, psf=view, pool=pool,
                                                 progress=True, desc=f"{view}: {name}")
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                with atomic_path(path) as tmp:
                    with open(tmp, "wb") as fh:
                        np.save(fh, out[view][name])
    return out


def differences(measured):
    """Paired dm of each form minus the truth, and the splits, per view."""
    from galsim_deep.tools.validation.measures.shear.paired import paired_shear_difference

    pairs = {"generated - truth": ("generated", "truth"),
             "catalog shapes - truth": ("catalog shapes", "truth"),
             "truth's shapes - truth (profile part)": ("truth's shapes", "truth"),
             "truth, generated shapes - truth (shape part)": ("truth, generated shapes",
                                                              "truth")}
    return {view: {label: paired_shear_difference(e[a], e[b], seed=SEED)
                   for label, (a, b) in pairs.items() if a in e and b in e}
            for view, e in measured.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="hub:flow-vae-mock-cosmos-25.2")
    parser.add_argument("--galaxies", type=int, default=3000)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--forms", default=",".join(FORMS),
                        help="the forms to measure, comma separated (default all; 'truth,"
                             "generated' gives the model's dm as drawn alone)")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--cache", type=Path, default=None,
                        help="a folder keeping each view's and form's measurements as they "
                             "finish (a rerun with the same arguments reads them back)")
    args = parser.parse_args(argv)
    from concurrent.futures import ProcessPoolExecutor

    from _shared import write_json
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(args.model, range_policy="clip")
    names = [name.strip() for name in args.forms.split(",")]
    unknown = sorted(set(names) - set(FORMS))
    if unknown or "truth" not in names:
        sys.exit(f"--forms: unknown {unknown} or no 'truth'; choose among {list(FORMS)}")
    galaxies = forms(model, args.galaxies, SEED, names)
    with ProcessPoolExecutor(args.processes) as pool:
        result = differences(measure(model, galaxies, pool, args.cache))
    for view, rows in result.items():
        for label, d in rows.items():
            (dm, err), n = d["dm"], d["n"]
            print(f"{view:14s} {label:46s} dm = {1e3 * dm:+6.2f} +- {1e3 * err:4.2f} e-3 "
                  f"({n} galaxies)")
    if args.out is not None:
        write_json({"model": model.metadata["name"], "version": model.metadata["version"],
                    "galaxies": args.galaxies, "seed": SEED,
                    "command": "python research/shapes/shear_calibration.py "
                    + " ".join(argv if argv is not None else sys.argv[1:]),
                    "dm": result}, args.out)


if __name__ == "__main__":
    main()
