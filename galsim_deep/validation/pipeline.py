"""The validation run: draw the samples, run every measure, write the report.

:func:`validate` is what ``galsim-deep validate report`` runs.  It draws the
real, parametric, generated and (mock data) twin samples of a dataset's
galaxies with matched PSF and noise (:mod:`~galsim_deep.validation.samples`)
and runs the measures of :data:`MEASURES` on them, each beside its
references (real, parametric, twin):

``morphology``
    HSM size and shape, flux, Gini, M20, M, I, D (statmorph) of the four
    samples, with differences of means, residuals and two-sample distances
    (:mod:`~galsim_deep.validation.summary`);
``isotropy``
    mean ellipticity of many generated galaxies, rotated and unrotated
    (:mod:`~galsim_deep.validation.isotropy`);
``shear``
    multiplicative and additive shear bias of REGAUSS on the galaxies
    (:mod:`~galsim_deep.validation.shear`);
``c2st``
    two-sample classifier tests against the real stamps
    (:mod:`~galsim_deep.validation.c2st`; needs a classifier trainer);
``profiles``
    flux in the stamp border and outside the truth's aperture, radial
    profiles (:mod:`~galsim_deep.validation.profiles`);
``reconstruction``
    observed-space chi-squared of the module's reconstructions beside
    Sérsic and bulge+disk fits (:mod:`~galsim_deep.validation.reconstruction`;
    modules with ``encode``/``decode``, mock data);
``clustering``
    both clustering accuracies of a mixture-prior module
    (:mod:`~galsim_deep.validation.clustering`; MPCC modules, labelled data).

With a twin sample the ``twin_check`` (:mod:`~galsim_deep.validation.twin`)
always runs: it tells whether a bias of the twins comes from how they are
drawn or from how they are matched.  A measure that does not apply (no
truth, no encoder, no clusters, no classifier) is skipped with its reason in
the report.

The statmorph measurements and the parametric fits run in a pool of worker
processes.  Every finished block of measurements and every finished measure
is saved under ``OUT/.cache-<fingerprint>/``, so an interrupted run resumes
where it stopped (the fingerprint covers the model, the dataset, the
selection, the seed and every setting, so a changed input never reuses stale
results); the cache is removed once the report is complete.

Length: the driver of ``galsim-deep validate report``: the measure registry, the caches
that let an interrupted run resume and let other models reuse the references, timing,
and one small runner per measure; the measures themselves live in their modules.
"""
import functools
import hashlib
import json
import pickle
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np

from .._io import atomic_path, sha256sum
from ..reporting import package_versions, write_json
from . import report as _report
from . import statistics as _stats
from .samples import SAMPLES, draw_samples
from .summary import summarize
from ..errors import InputError, MissingInputError

__all__ = ["REPORT_FILES", "MEASURES", "validate", "load_measurements",
           "default_reference_cache"]

#: Files of a finished report directory (besides the figures of ``report.FIGURES``).
REPORT_FILES = ("summary.json", "summary.md", "measurements.npz")

#: The measures of a validation report, in report order.
MEASURES = ("morphology", "isotropy", "shear", "c2st", "profiles", "reconstruction",
            "clustering")

_BLOCK_KEYS = tuple(_stats.STATISTICS) + ("flags", "statmorph_flag")


def _module_digest(module_dir):
    digest = hashlib.sha256()
    root = Path(module_dir)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(sha256sum(path).encode())
    return digest.hexdigest()


def _fingerprint(parts):
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _load_block(path, size):
    try:
        with np.load(path) as data:
            block = {k: np.array(data[k]) for k in _BLOCK_KEYS}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None  # corrupt or incomplete: measure again
    if any(len(v) != size for v in block.values()):
        return None
    return block


def _measure_all(samples, cache_dir, processes, settings, block_size, progress, pool=None,
                 reference_dir=None):
    """Measure every sample, block by block, reusing finished blocks in ``cache_dir``.

    The model-independent samples (all but ``generated``) are kept in
    ``reference_dir`` when given, so that other models' reports reuse them.
    """
    from tqdm.auto import tqdm

    n = len(samples.index)
    starts = list(range(0, n, block_size))
    blocks, todo = {}, []
    names = [name for name in SAMPLES if name in samples.stamps]
    for name in names:
        folder = cache_dir if name == "generated" or reference_dir is None else reference_dir
        folder.mkdir(parents=True, exist_ok=True)
        for start in starts:
            stop = min(n, start + block_size)
            path = folder / f"{name}-{start:07d}.npz"
            block = _load_block(path, stop - start) if path.exists() else None
            if block is None:
                todo.append((name, start, stop, path))
            else:
                blocks[name, start] = block
    done = sum(len(b["flags"]) for b in blocks.values())
    with tqdm(total=len(names) * n, initial=done, desc="measuring", unit="gal",
              disable=not progress) as bar:
        if todo:
            own_pool = pool is None and processes > 1
            workers = _stats.worker_pool(processes) if own_pool else pool
            try:
                for name, start, stop, path in todo:
                    block = _stats.measure_stamps(
                        samples.stamps[name][start:stop], samples.pixel_scale,
                        samples.noise_variance[start:stop],
                        noise_power=(None if samples.noise_power is None
                                     else samples.noise_power[start:stop]),
                        settings=settings, processes=processes, progress=bar, pool=workers)
                    with atomic_path(path) as tmp:
                        with open(tmp, "wb") as f:
                            np.savez(f, **block)
                    blocks[name, start] = block
            finally:
                if own_pool:
                    workers.shutdown(wait=True, cancel_futures=True)
    return {name: {k: np.concatenate([blocks[name, s][k] for s in starts]) for k in _BLOCK_KEYS}
            for name in names}


def _write_measurements(path, samples, measurements):
    arrays = {"index": samples.index}
    if samples.twin_index is not None:
        arrays["twin_index"] = samples.twin_index
    for cname, col in samples.conditions.items():
        arrays[f"conditions.{cname}"] = col
    for name, meas in measurements.items():
        for key, value in meas.items():
            arrays[f"{name}.{key}"] = value
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)


def load_measurements(path):
    """Read the per-galaxy ``measurements.npz`` of a report.

    Parameters
    ----------
    path : str or Path
        ``REPORT/measurements.npz``.

    Returns
    -------
    measurements : dict
        sample name -> statistic -> ndarray [N].
    conditions : dict
        conditioning column -> ndarray [N].
    index : ndarray [N]
        Example indices of the galaxies in the dataset file.
    """
    path = Path(path)
    if not path.exists():
        raise MissingInputError(f"{path} does not exist; run `galsim-deep validate` to make "
                                f"the report first")
    measurements, conditions = {}, {}
    with np.load(path) as data:
        index = np.array(data["index"])
        for key in data.files:
            if "." not in key:
                continue
            group, name = key.split(".", 1)
            if group == "conditions":
                conditions[name] = np.array(data[key])
            else:
                measurements.setdefault(group, {})[name] = np.array(data[key])
    return measurements, conditions, index


def _cached(cache_dir, name, fn):
    """``fn()``, or its result saved by an earlier run under ``cache_dir/name.pkl``."""
    path = cache_dir / f"{name}.pkl"
    if path.exists():
        try:
            with open(path, "rb") as f:
                return pickle.load(f)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ValueError):
            pass  # incomplete or stale: compute again
    result = fn()
    cache_dir.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
    return result


def _parse_measures(measures):
    if measures is None:
        return list(MEASURES)
    if isinstance(measures, str):
        measures = [m.strip() for m in measures.split(",") if m.strip()]
    unknown = [m for m in measures if m not in MEASURES]
    if unknown or not measures:
        raise InputError(f"unknown measure(s) {unknown or measures}; choose among "
                         f"{', '.join(MEASURES)} (comma separated)")
    return [m for m in MEASURES if m in measures]


def _applicability(measure, model, samples, classifier):
    """None if ``measure`` applies to this model and dataset, else the reason it does not."""
    truth = "truth" in samples.unconvolved
    if measure == "c2st" and classifier is None:
        return ("no classifier trainer was given: pass classifier=(fit, predict), e.g. "
                "galsim_deep.training.classifier.fit_two_sample_classifier and predict_classes "
                "(galsim-deep validate report does)")
    if measure == "reconstruction":
        missing = {"encode", "decode"} - set(model.signatures)
        if missing:
            return f"the module has no {sorted(missing)} signature"
        if not truth:
            return "the dataset has no truth (only mock datasets do)"
    if measure == "clustering":
        if "cluster" not in model.signatures:
            return "the module has no clusters (only mixture-prior MPCC modules do)"
        if samples.labels is None:
            return "the dataset has no labels (only mock datasets do)"
    if measure == "profiles" and model.stamp_size != samples.stamp_size:
        return (f"the module's {model.stamp_size}-pixel stamps differ from the dataset's "
                f"{samples.stamp_size}-pixel ones")
    return None


def _reference_profiles(samples, which, sersic_prec=0.05):
    """Unconvolved references of the selected galaxies for isotropy and shear.

    ``real``: each galaxy's rebuilt analytic profile (else its truth image);
    ``twin``: the same for its twin; ``parametric``: its Sérsic row.
    """
    from .samples import parametric_profile, truth_profile

    scale, size = samples.pixel_scale, samples.stamp_size
    n = len(samples.index)
    if which == "parametric":
        out = []
        for row in samples.parametric:
            try:
                out.append(parametric_profile(row, size, scale, sersic_prec=sersic_prec))
            except ValueError:
                out.append(None)
        return out
    key = {"real": "truth", "twin": "twin"}[which]
    if key not in samples.unconvolved:
        return None
    rebuilt = samples.profiles.get(which) or [None] * n
    return [p if p is not None else truth_profile(samples.unconvolved[key][k], scale)
            for k, p in enumerate(rebuilt)]


def _isotropy_references(samples, psf_fwhm, quantities, pool, progress):
    """Isotropy of the real, parametric and twin galaxies (model-independent)."""
    from . import isotropy as iso

    conds = {q: samples.conditions[q] for q in quantities}
    out = {}
    if "truth" in samples.unconvolved:
        note = ("real: the analytic truths" if samples.profiles.get("real")
                else "real: the truth images")
        refs = {"real": _reference_profiles(samples, "real")}
    else:
        note = "real: PSF-corrected REGAUSS shapes of the real stamps"
        refs = {}
        out["real"] = iso.isotropy_summary(iso.regauss_shapes(
            samples.stamps["real"], samples.psfs, samples.noise_variance, samples.pixel_scale,
            progress=progress, desc="isotropy: real (REGAUSS)"), conds)
    refs["parametric"] = _reference_profiles(samples, "parametric")
    if samples.twin_index is not None:
        refs["twin"] = _reference_profiles(samples, "twin")
    for label, profiles in refs.items():
        out[label] = iso.isotropy_summary(iso.profile_shapes(
            profiles, samples.stamp_size, samples.pixel_scale, psf_fwhm, progress=progress,
            desc=f"isotropy: {label}", pool=pool), conds)
    return {"samples": {k: out[k] for k in ("real", "parametric", "twin") if k in out},
            "note": f"{note}; {len(samples.index)} galaxies each"}


def _run_isotropy(model, samples, dataset_path, split, seed, n_model, psf_fwhm, batch_size,
                  progress, pool, reference):
    from ..datasets.reader import StampDataset
    from . import isotropy as iso

    with StampDataset(dataset_path) as data:
        pool_split = "train" if split != "all" and len(data.indices("train")) else "all"
        names = list(data.condition_names)
        cond = data.read(data.indices(pool_split), ["conditions"])["conditions"]
    population = {q: np.asarray(cond[:, names.index(q)], np.float64) for q in model.quantities}
    model_conditions = iso.resample_conditions(population, n_model, seed)
    shapes = iso.model_shapes(model, model_conditions, seed, psf_fwhm, batch_size, progress,
                              pool=pool)
    refs = reference(f"isotropy_references psf{psf_fwhm:g}", lambda: _isotropy_references(
        samples, psf_fwhm, model.quantities, pool, progress))
    out = {"psf_fwhm": psf_fwhm, "threshold": iso.THRESHOLD, "n_model": int(n_model),
           "conditions_from": pool_split, "reference_note": refs["note"], "samples": {}}
    out["samples"]["generated (rotated)"] = iso.isotropy_summary(shapes["rotated"],
                                                                 model_conditions)
    out["samples"]["generated (unrotated)"] = iso.isotropy_summary(shapes["unrotated"],
                                                                   model_conditions)
    out["samples"].update(refs["samples"])
    return out


def _shear_references(samples, n, psf_fwhm, seed, pool, progress):
    from . import shear as sh

    out = {}
    for label in ("real", "parametric", "twin"):
        if label == "twin" and samples.twin_index is None:
            continue
        refs = _reference_profiles(samples, label)
        if refs is None:
            continue
        out[label] = sh.shear_response(refs[:n], samples.stamp_size, samples.pixel_scale,
                                       psf_fwhm, seed=seed, progress=progress,
                                       desc=f"shear response: {label}", pool=pool)
    return out


def _run_shear(model, samples, seed, psf_fwhm, n_shear, progress, pool, reference):
    from . import shear as sh

    n = len(samples.index) if n_shear is None else min(int(n_shear), len(samples.index))
    # The report's generated galaxies (rotated as the user gets them), the first n.
    angles = samples.angles
    generated = [model.profile(a, angle=None if angles is None else angles[k])
                 for k, a in enumerate(samples.unconvolved["generated"][:n])]
    out = {"shear": sh.SHEAR, "psf_fwhm": psf_fwhm, "psf_shear": list(sh.PSF_SHEAR),
           "rotations": list(sh.ROTATIONS), "n": n, "samples": {}}
    out["samples"]["generated"] = sh.shear_response(
        generated, model.stamp_size, model.pixel_scale, psf_fwhm, seed=seed, progress=progress,
        desc="shear response: generated", pool=pool)
    out["samples"].update(reference(
        f"shear_references n{n} psf{psf_fwhm:g}",
        lambda: _shear_references(samples, n, psf_fwhm, seed, pool, progress)))
    if "real" not in out["samples"]:
        out["note"] = "no real reference: the dataset has no truth to shear"
    gen, real = out["samples"]["generated"], out["samples"].get("real")
    if real and gen["m"] is not None and real["m"] is not None:
        out["generated_minus_real"] = {
            "m": gen["m"] - real["m"],
            "m_error": float(np.hypot(gen["m_error"], real["m_error"]))}
    return out


def _run_c2st(samples, classifier, seed, epochs, n_classifiers, out_dir, progress, reference,
              parametric_images):
    from . import c2st

    fit, predict = classifier
    real = samples.stamps["real"]
    comparisons = [(name, samples.stamps[name], real)
                   for name in ("generated", "parametric", "twin") if name in samples.stamps]
    if "truth" in samples.unconvolved and \
            samples.unconvolved["generated"].shape == samples.unconvolved["truth"].shape:
        # Noiseless and unconvolved: the network's own stamps against the truths (mock data).
        truth = samples.unconvolved["truth"]
        comparisons.append(("noiseless generated", samples.unconvolved["generated"], truth))
        # A smooth reference: the mock's own single Sersic of each galaxy (drawn only
        # when the reference is not cached yet).
        comparisons.append(("noiseless parametric",
                            lambda: parametric_images()["parametric"], truth))
        if "twin" in samples.unconvolved:
            comparisons.append(("noiseless twin", samples.unconvolved["twin"], truth))
    tests, figures = {}, []
    for label, other, ref in comparisons:
        def run(label=label, other=other, ref=ref):
            other = other() if callable(other) else other
            return c2st.strongest_two_sample_test(
                ref, other, samples.psfs, samples.noise_variance, fit, predict,
                seeds=range(seed, seed + n_classifiers), epochs=epochs, progress=progress,
                desc=f"C2ST: {label}")
        trainer = getattr(fit, "__qualname__", type(fit).__name__)
        r = run() if "generated" in label else \
            reference(f"c2st {label} e{epochs} k{n_classifiers} {trainer}", run)
        r = dict(r)
        arrays = r.pop("arrays")
        tests[f"{label} vs {'truth' if label.startswith('noiseless') else 'real'}"] = r
        if label in ("generated", "noiseless generated"):
            name = "c2st_most_fake.png" if label == "generated" else \
                "c2st_most_fake_noiseless.png"
            c2st.plot_most_fake(ref, other, dict(r, arrays=arrays), out_dir / name, label=label)
            figures.append(name)
    return {"classifier": f"{getattr(fit, '__module__', '')}.{getattr(fit, '__qualname__', fit)}",
            "epochs": int(epochs), "classifiers": int(n_classifiers), "tests": tests,
            "figures": figures}


def _parametric_images(samples):
    """Unconvolved smooth references of the selected galaxies, drawn like the truths.

    ``parametric``: each galaxy's Sérsic row; ``exponential`` and ``de Vaucouleurs``:
    circular profiles of its half-light radius and flux.  NaN where a row cannot be drawn.
    """
    import galsim

    from galsim_deep.datasets.format import sersic_from_parametric

    size, scale = samples.stamp_size, samples.pixel_scale
    par = np.full((len(samples.index), size, size), np.nan)
    expo, dev = par.copy(), par.copy()
    draw = {"nx": size, "ny": size, "scale": scale, "method": "no_pixel"}
    for k, row in enumerate(samples.parametric):
        try:
            par[k] = sersic_from_parametric(row).drawImage(**draw).array
            flux, hlr = float(row[0]), float(row[1])
            expo[k] = galsim.Exponential(half_light_radius=hlr, flux=flux).drawImage(**draw).array
            dev[k] = galsim.DeVaucouleurs(half_light_radius=hlr, flux=flux).drawImage(**draw).array
        except (ValueError, galsim.GalSimError):
            continue
    return {"parametric": par, "exponential": expo, "de Vaucouleurs": dev}


def _run_profiles(samples, out_dir, seed, parametric_images):
    from . import profiles as pr

    scale = samples.pixel_scale
    images = {}
    if "truth" in samples.unconvolved:
        images["truth"] = samples.unconvolved["truth"]
    images["generated"] = np.asarray(samples.unconvolved["generated"], np.float64)
    if "twin" in samples.unconvolved:
        images["twin"] = samples.unconvolved["twin"]
    images.update(parametric_images())
    section = pr.profile_report(images, images.get("truth"), samples.labels,
                                samples.class_names, seed=seed)
    section.pop("arrays")
    section["references"] = ("parametric: the dataset's Sérsic row; exponential and de "
                             "Vaucouleurs: circular profiles of its half-light radius and flux")
    pr.plot_radial_profiles(images, out_dir / "radial_profiles.png", samples.labels,
                            samples.class_names, scale)
    return section


def _run_reconstruction(model, dataset_path, samples, processes, seed, out_dir, progress, pool,
                        reference):
    from .reconstruction import reconstruction_report, write_reconstruction_report
    from .sersic_fit import fit_parametric

    fits = reference("parametric_fits", lambda: fit_parametric(
        samples.stamps["real"], samples.psfs, samples.noise_variance, samples.pixel_scale,
        processes=processes, progress=progress, pool=pool))
    rec = reconstruction_report(model, dataset_path, indices=samples.index, processes=processes,
                                seed=seed, progress=progress, fits=fits,
                                truth_observed=(samples.noiseless_real,
                                                samples.twin_rendering.get("real", {})))
    write_reconstruction_report(rec, out_dir)
    return {k: v for k, v in rec.items() if k != "arrays"}


def _run_clustering(model, dataset_path, split, seed):
    from ..datasets.reader import StampDataset
    from .clustering import cluster_summary

    with StampDataset(dataset_path) as data:
        idx = data.indices(split)
        a = data.read(idx, ["stamp", "psf", "label", "conditions"])
        names, classes = list(data.condition_names), list(data.class_names)
    probs = model.cluster(a["stamp"], a["psf"])
    k = probs.shape[1]
    mags = a["conditions"][:, names.index("mag_auto")] if "mag_auto" in names else None
    assigned = probs.argmax(axis=1)
    out = cluster_summary(assigned, a["label"].astype(np.int64), k, len(classes) or None, mags,
                          seed=seed)
    out.update(n_clusters=int(k), class_names=classes, split=split,
               cluster_counts=np.bincount(assigned, minlength=k).tolist())
    return out


def _twin_pool_sample(dataset_path, split, seed, n):
    """Real stamps of a seeded random sample of the pool the twins come from."""
    from ..datasets.reader import StampDataset

    with StampDataset(dataset_path) as data:
        pool = data.indices("all" if split == "all" else "train")
        if len(pool) > n:
            pool = np.sort(np.random.default_rng([int(seed), 0x7A]).choice(pool, n,
                                                                           replace=False))
        a = data.read(pool, ["stamp", "noise_power"])
    return {"stamps": a["stamp"], "noise_power": a["noise_power"],
            "description": f"random real stamps of the {split if split == 'all' else 'train'!r} "
                           f"split"}


def default_reference_cache():
    """Where the model-independent parts of validation reports are kept by default:
    ``validation-references`` in the galsim_deep cache (``GALSIM_DEEP_CACHE``)."""
    from ..hub import cache_dir

    return Path(cache_dir()) / "validation-references"


def validate(model, dataset_path, out_dir, n=2000, split="test", seed=0, processes=None,
             batch_size=None, settings=None, block_size=256, n_boot=1000, twin=None,
             progress=True, measures=None, classifier=None, isotropy_n=10000, rotate=True,
             psf_fwhm=0.1, c2st_epochs=20, c2st_classifiers=3, shear_n=300,
             twin_rendering="analytic",
             reference_cache=None, command=None):
    """Compare real, parametric, generated (and twin) galaxies by every measure; write the report.

    Parameters
    ----------
    model : str, Path or galsim_deep.GenerativeGalaxyModel
        The generative model (``hub:NAME``, a module directory or archive).
    dataset_path : str or Path
        Stamp dataset (HDF5) whose galaxies condition the model.
    out_dir : str or Path
        Report directory (created; existing report files are replaced).
    n : int or None
        Number of galaxies (a seeded random subset of the split); None for all.
    split : str
        Dataset split: ``'test'``, ``'train'`` or ``'all'``.
    seed : int
        Seed of the selection, model samples, noise, classifiers and bootstraps.
    processes : int, optional
        Worker processes for the statmorph measurements, the parametric fits and
        the isotropy and shear drawings (default: every available core).
    batch_size : int, optional
        Galaxies per model evaluation.
    settings : dict, optional
        Measurement settings, overrides of
        :data:`galsim_deep.validation.statistics.DEFAULT_SETTINGS`.
    block_size : int
        Galaxies per saved block of measurements (the unit of resumption).
    n_boot : int
        Bootstrap resamples for the errors of means.
    twin : bool, optional
        Add the ``twin`` sample (see :mod:`galsim_deep.validation.samples`);
        default: when the dataset has a ``truth`` field (mock sources).
    progress : bool
        Show progress bars.
    measures : sequence of str or str, optional
        Measures to run, among :data:`MEASURES` (a comma-separated string
        works); default all.  Those that do not apply are skipped with their
        reason in the report.
    classifier : (callable, callable), optional
        ``(fit, predict)`` for the two-sample classifier test, e.g.
        ``(galsim_deep.training.classifier.fit_two_sample_classifier,
        galsim_deep.training.classifier.predict_classes)``; without it the
        ``c2st`` measure is skipped.
    isotropy_n : int
        Generated galaxies of the isotropy measure.
    rotate : bool
        Rotate the generated galaxies as ``model.sample`` does by default
        (False: the network's own orientations).
    psf_fwhm : float
        FWHM (arcsec) of the Gaussian PSF of the isotropy and shear measures.
    c2st_epochs : int
        Training epochs of each two-sample classifier.
    c2st_classifiers : int
        Classifiers per two-sample test (seeds ``seed ..``); the most accurate
        is the test's verdict (:func:`~galsim_deep.validation.c2st.strongest_two_sample_test`).
    shear_n : int or None
        Galaxies of the shear-response measure (the report's first ones;
        None: all of them).
    twin_rendering : {'analytic', 'truth'}
        How the twins are drawn (:func:`~galsim_deep.validation.samples.draw_samples`).
    reference_cache : str, Path or False, optional
        Folder where the model-independent results (the real, parametric and
        twin samples and their measures, the parametric fits) are kept, keyed
        by the dataset, the galaxies, the seed and the settings, so that the
        reports of other models on the same galaxies reuse them; default
        :func:`default_reference_cache`; False: kept only until the report is
        done.
    command : str, optional
        The command line that made the report, quoted in it.

    Returns
    -------
    dict
        The report (what ``summary.json`` holds).
    """
    import statmorph

    from .. import GenerativeGalaxyModel
    from .._version import __version__

    t0 = time.time()
    cpu0 = _cpu_seconds()
    dataset_path = Path(dataset_path)
    if not dataset_path.is_file():
        raise MissingInputError(f"dataset {dataset_path} does not exist; build one with "
                                f"galsim_deep.datasets.build or give the right --dataset path")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file; give a directory for the report")
    processes = _stats.default_processes() if processes is None else int(processes)
    if processes < 1:
        raise InputError(f"processes must be >= 1, got {processes}")
    if n is not None and int(n) < 1:
        raise InputError(f"n must be >= 1 galaxies, got {n}")
    if int(block_size) < 1:
        raise InputError(f"block_size must be >= 1, got {block_size}")
    for name, value in (("isotropy_n", isotropy_n), ("c2st_epochs", c2st_epochs),
                        ("c2st_classifiers", c2st_classifiers)):
        if int(value) < 1:
            raise InputError(f"{name} must be >= 1, got {value}")
    if shear_n is not None and int(shear_n) < 3:
        raise InputError(f"shear_n must be >= 3 galaxies, got {shear_n}")
    if not float(psf_fwhm) > 0:
        raise InputError(f"psf_fwhm must be > 0 arcsec, got {psf_fwhm}")
    measures = _parse_measures(measures)
    cfg = dict(_stats.DEFAULT_SETTINGS)
    cfg.update(settings or {})
    unknown = set(cfg) - set(_stats.DEFAULT_SETTINGS)
    if unknown:
        raise InputError(f"unknown measurement settings {sorted(unknown)}; known: "
                         f"{sorted(_stats.DEFAULT_SETTINGS)}")
    model_arg = str(model) if not isinstance(model, GenerativeGalaxyModel) else model.file_name
    if not isinstance(model, GenerativeGalaxyModel):
        model = GenerativeGalaxyModel(model)

    # Two caches: this model's (removed when the report is done) and the references', shared
    # by every model validated on the same galaxies with the same settings.
    dataset_sha = sha256sum(dataset_path)
    index = np.asarray(_selected_indices(dataset_path, split, n, seed), np.int64)
    # The references' folder is keyed by what every reference depends on; a reference that
    # also depends on a measure's own settings carries them in its name.
    common = {"dataset": dataset_sha, "split": split,
              "index": hashlib.sha256(index.tobytes()).hexdigest(), "seed": int(seed),
              "settings": cfg, "block_size": int(block_size), "version": __version__,
              "statmorph": statmorph.__version__, "twin": twin,
              "twin_rendering": twin_rendering, "n_boot": int(n_boot),
              "conditions": list(model.quantities)}
    reference_fp = _fingerprint(common)
    fingerprint = _fingerprint(dict(common, module=_module_digest(model.module_dir),
                                    rotate=bool(rotate), isotropy_n=int(isotropy_n),
                                    psf_fwhm=float(psf_fwhm), c2st_epochs=int(c2st_epochs),
                                    c2st_classifiers=int(c2st_classifiers), shear_n=shear_n))
    cache_dir = out_dir / f".cache-{fingerprint}"
    if reference_cache is None:
        reference_cache = default_reference_cache()
    reference_dir = (cache_dir / "references" if reference_cache is False
                     else Path(reference_cache) / reference_fp)

    def reference(name, fn):
        return _cached(reference_dir, name, fn)

    samples = draw_samples(dataset_path, model, n=n, split=split, seed=seed,
                           batch_size=batch_size, twin=twin, progress=progress, rotate=rotate,
                           twin_rendering=twin_rendering, cache=reference)
    t_draw = time.time()
    out_dir.mkdir(parents=True, exist_ok=True)
    timings = {"draw": t_draw - t0}
    report = {"run": {}}
    skipped = {}

    def timed(name, fn):
        t = time.time()
        result = _cached(cache_dir, name, fn)
        timings[name] = time.time() - t
        return result

    pool = _stats.worker_pool(processes) if processes > 1 else None
    try:
        measurements = None
        if "morphology" in measures:
            t = time.time()
            measurements = _measure_all(samples, cache_dir, processes, cfg, int(block_size),
                                        progress, pool=pool, reference_dir=reference_dir)
            timings["morphology"] = time.time() - t
            report.update(summarize(measurements, samples.conditions,
                                    list(_report.SUMMARY_STATISTICS), reference="real",
                                    n_boot=n_boot, seed=seed))
        if samples.twin_index is not None:
            from .twin import twin_check

            t = time.time()
            report["twin_check"] = reference("twin_check", lambda: twin_check(
                samples, seed=seed, n_boot=n_boot, settings=cfg, progress=progress,
                population=_twin_pool_sample(dataset_path, split, seed, 3000)))
            timings["twin_check"] = time.time() - t
        # The smooth references' images, drawn once for the C2ST and the profiles.
        parametric_images = functools.cache(lambda: _parametric_images(samples))
        for measure in measures:
            if measure == "morphology":
                continue
            reason = _applicability(measure, model, samples, classifier)
            if reason:
                skipped[measure] = reason
                continue
            if measure == "isotropy":
                report["isotropy"] = timed("isotropy", lambda: _run_isotropy(
                    model, samples, dataset_path, split, seed, int(isotropy_n),
                    float(psf_fwhm), batch_size, progress, pool, reference))
            elif measure == "shear":
                report["shear_response"] = timed("shear", lambda: _run_shear(
                    model, samples, seed, float(psf_fwhm), shear_n, progress, pool, reference))
            elif measure == "c2st":
                report["c2st"] = timed("c2st", lambda: _run_c2st(
                    samples, classifier, seed, int(c2st_epochs), int(c2st_classifiers), out_dir,
                    progress, reference, parametric_images))
            elif measure == "profiles":
                report["profiles"] = timed("profiles", lambda: _run_profiles(
                    samples, out_dir, seed, parametric_images))
            elif measure == "reconstruction":
                report["reconstruction"] = timed("reconstruction", lambda: _run_reconstruction(
                    model, dataset_path, samples, processes, seed, out_dir, progress, pool,
                    reference))
            elif measure == "clustering":
                report["clustering"] = timed("clustering", lambda: _run_clustering(
                    model, dataset_path, split, seed))
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)

    report["run"] = {
        "model": model_arg, "model_name": model.metadata["name"],
        "model_version": model.metadata["version"], "model_family": model.metadata["family"],
        "dataset": str(dataset_path), "dataset_sha256": dataset_sha,
        "source": samples.source, "split": split, "n_requested": n,
        "n_galaxies": int(len(samples.index)), "seed": int(seed),
        "pixel_scale": samples.pixel_scale, "stamp_size": samples.stamp_size,
        "conditions": list(samples.conditions), "model_conditions": list(model.quantities),
        "processes": processes, "settings": cfg, "failed_draws": samples.failed_draws,
        "rotated": samples.rotated, "twin_rendering": samples.twin_rendering,
        "twin_median_distance": (None if samples.twin_distance is None
                                 else float(np.median(samples.twin_distance))),
        "measures": measures, "skipped": skipped, "isotropy_n": int(isotropy_n),
        "psf_fwhm": float(psf_fwhm), "c2st_epochs": int(c2st_epochs),
        "c2st_classifiers": int(c2st_classifiers), "shear_n": shear_n,
        "draw_seconds": t_draw - t0, "measure_seconds": timings.get("morphology"),
        "seconds": timings, "total_seconds": None, "fingerprint": fingerprint,
        "reference_cache": None if reference_cache is False else str(reference_dir),
        "command": command or _command(model_arg, dataset_path, out_dir, n, split, seed,
                                       measures, isotropy_n, rotate),
        "versions": package_versions(),
    }
    if measurements is not None:
        _write_measurements(out_dir / "measurements.npz", samples, measurements)
        _report.write_figures(measurements, samples.conditions, report, samples.stamps, out_dir)
    if "isotropy" in report:
        from .isotropy import plot_isotropy

        plot_isotropy(report["isotropy"]["samples"], out_dir / "isotropy.png")
    report["run"]["total_seconds"] = time.time() - t0
    report["run"]["cpu_seconds"] = _cpu_seconds() - cpu0
    write_json(report, out_dir / "summary.json")
    _report.write_markdown(report, out_dir / "summary.md")
    shutil.rmtree(cache_dir, ignore_errors=True)
    return report


def _cpu_seconds():
    """CPU seconds of this process and its finished child processes (the worker pool)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Unix
        return float("nan")
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _selected_indices(dataset_path, split, n, seed):
    """The example indices a report selects (as :func:`~galsim_deep.validation.samples.draw_samples`)."""
    from ..datasets.reader import StampDataset
    from .samples import select_galaxies

    with StampDataset(dataset_path) as data:
        idx = data.indices(split)
    return idx[select_galaxies(len(idx), n, seed)] if len(idx) else idx


def _command(model, dataset, out_dir, n, split, seed, measures, isotropy_n, rotate):
    parts = ["galsim-deep validate report", str(model), "--dataset", str(dataset), "--out",
             str(out_dir), "--n", str(n or 0), "--seed", str(seed)]
    if split != "test":
        parts += ["--split", split]
    if list(measures) != list(MEASURES):
        parts += ["--measures", ",".join(measures)]
    if int(isotropy_n) != 10000:
        parts += ["--isotropy-n", str(isotropy_n)]
    if not rotate:
        parts.append("--unrotated")
    return " ".join(parts)
