"""The validation run: draw the samples, run the registered measures, write the report.

:func:`validate` is what ``galsim-deep validation report`` runs.  It draws the
real, parametric, generated and (mock data) twin samples of a dataset's
galaxies with matched PSF and noise (:mod:`~galsim_deep.tools.validation.samples`)
and runs each measure of the registry
(:data:`galsim_deep.tools.validation.measures.MEASURES`, one file per measure) on
them, each beside its references (real, parametric, twin).  A measure that
does not apply (no truth, no encoder, no clusters, no classifier) is skipped
with its reason in the report.

The statmorph measurements and the parametric fits run in a pool of worker
processes shared by the measures.  Every finished block of measurements and
every finished measure is saved under ``OUT/.cache-<fingerprint>/``, so an
interrupted run resumes where it stopped (the fingerprint covers the model,
the dataset, the selection, the seed and every setting, so a changed input
never reuses stale results); the cache is removed once the report is
complete.  The model-independent results (the references' samples, measures
and fits) are kept in a second cache shared by every model's report on the
same galaxies (:func:`default_reference_cache`).
"""
import hashlib
import json
import pickle
import shutil
import time
from pathlib import Path

import numpy as np

from ...core.files import atomic_path, sha256sum
from ...core.parallel import cpu_count, worker_pool
from ...core.reporting import package_versions, write_json
from ...core.errors import InputError, MissingInputError
from . import report as _report
from .measures import MEASURES, MeasureContext, parse_measures, parse_options
from .measures.morphology.compute import DEFAULT_SETTINGS
from .measures.morphology.measurements import MEASUREMENTS_FILE, load_measurements
from .samples import draw_samples

__all__ = ["REPORT_FILES", "MEASURES", "validate", "load_measurements",
           "default_reference_cache"]

#: Files of a finished report directory (besides the figures of ``report.FIGURES``).
REPORT_FILES = ("summary.json", "summary.md", MEASUREMENTS_FILE)


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


def default_reference_cache():
    """Where the model-independent parts of validation reports are kept by default:
    ``validation-references`` in the galsim_deep cache (``GALSIM_DEEP_CACHE``)."""
    from ...data.hub import cache_dir

    return Path(cache_dir()) / "validation-references"


def validate(model, dataset_path, out_dir, n=2000, split="test", seed=0, processes=None,
             batch_size=None, settings=None, block_size=256, n_boot=1000, twin=None,
             progress=True, measures=None, classifier=None, rotate=True,
             twin_rendering="analytic", reference_cache=None, command=None, **options):
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
        :data:`galsim_deep.tools.validation.measures.morphology.compute.DEFAULT_SETTINGS`.
    block_size : int
        Galaxies per saved block of measurements (the unit of resumption).
    n_boot : int
        Bootstrap resamples for the errors of means.
    twin : bool, optional
        Add the ``twin`` sample (see :mod:`galsim_deep.tools.validation.samples`);
        default: when the dataset has a ``truth`` field (mock sources).
    progress : bool
        Show progress bars.
    measures : sequence of str or str, optional
        Measures to run, among :data:`~galsim_deep.tools.validation.measures.MEASURES`
        (a comma-separated string works); default all.  Those that do not
        apply are skipped with their reason in the report.
    classifier : (callable, callable), optional
        ``(fit, predict)`` for the two-sample classifier tests, e.g.
        ``(galsim_deep.training.classifier.fit_two_sample_classifier,
        galsim_deep.training.classifier.predict_classes)``; without it the
        measures that train classifiers are skipped.
    rotate : bool
        Rotate the generated galaxies as ``model.sample`` does by default
        (False: the network's own orientations).
    twin_rendering : {'analytic', 'truth'}
        How the twins are drawn (:func:`~galsim_deep.tools.validation.samples.draw_samples`).
    reference_cache : str, Path or False, optional
        Folder where the model-independent results (the real, parametric and
        twin samples and their measures, the parametric fits) are kept, keyed
        by the dataset, the galaxies, the seed and the settings, so that the
        reports of other models on the same galaxies reuse them; default
        :func:`default_reference_cache`; False: kept only until the report is
        done.
    command : str, optional
        The command line that made the report, quoted in it.
    **options
        The measures' settings (:func:`~galsim_deep.tools.validation.measures.measure_options`):
        ``isotropy_n`` (10000 generated galaxies), ``psf_fwhm`` (0.1 arcsec,
        the isotropy and shear PSF), ``shear_n`` (300 galaxies; None: all),
        ``c2st_epochs`` (20), ``c2st_classifiers`` (3), ...

    Returns
    -------
    dict
        The report (what ``summary.json`` holds).
    """
    from ...core.extras import require

    require("validate", "galsim_deep.tools.validation.validate")

    from ... import GenerativeGalaxyModel

    t0 = time.time()
    cpu0 = _cpu_seconds()
    dataset_path, out_dir, processes = _checked_paths(dataset_path, out_dir, processes, n,
                                                      block_size)
    options = parse_options(options)
    measures = parse_measures(measures)
    cfg = _measurement_settings(settings)
    model_arg = str(model) if not isinstance(model, GenerativeGalaxyModel) else model.file_name
    if not isinstance(model, GenerativeGalaxyModel):
        model = GenerativeGalaxyModel(model)

    dataset_sha, fingerprint, cache_dir, reference_dir = _cache_folders(
        model, dataset_path, out_dir, split, n, seed, cfg, block_size, twin, twin_rendering,
        n_boot, rotate, options, reference_cache)

    def reference(name, fn):
        return _cached(reference_dir, name, fn)

    samples = draw_samples(dataset_path, model, n=n, split=split, seed=seed,
                           batch_size=batch_size, twin=twin, progress=progress, rotate=rotate,
                           twin_rendering=twin_rendering, cache=reference)
    t_draw = time.time()
    out_dir.mkdir(parents=True, exist_ok=True)
    timings = {"draw": t_draw - t0}
    pool = worker_pool(processes) if processes > 1 else None
    ctx = MeasureContext(
        model=model, samples=samples, dataset_path=dataset_path, split=split, seed=int(seed),
        options=options, settings=cfg, processes=processes, pool=pool, batch_size=batch_size,
        n_boot=int(n_boot), block_size=int(block_size), out_dir=out_dir, cache_dir=cache_dir,
        reference=reference, reference_dir=reference_dir, classifier=classifier,
        progress=progress)
    report, skipped = _run_measures(measures, ctx, cache_dir, timings)

    report["run"] = _run_record(ctx, model_arg, dataset_sha, n, seed, measures, skipped,
                                timings, fingerprint, reference_cache, command, rotate)
    report["run"]["total_seconds"] = time.time() - t0
    report["run"]["cpu_seconds"] = _cpu_seconds() - cpu0
    write_json(report, out_dir / "summary.json")
    _report.write_markdown(report, out_dir / "summary.md")
    shutil.rmtree(cache_dir, ignore_errors=True)
    return report


def _checked_paths(dataset_path, out_dir, processes, n, block_size):
    """``(dataset_path, out_dir, processes)`` of a report, checked: a missing dataset, an
    output that is a file or a count below one stops the run before anything is drawn."""
    dataset_path = Path(dataset_path)
    if not dataset_path.is_file():
        raise MissingInputError(f"dataset {dataset_path} does not exist; build one with "
                                f"galsim_deep.data.build or give the right --dataset path")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"--out {out_dir} is a file; give a directory for the report")
    processes = cpu_count() if processes is None else int(processes)
    if processes < 1:
        raise InputError(f"processes must be >= 1, got {processes}")
    if n is not None and int(n) < 1:
        raise InputError(f"n must be >= 1 galaxies, got {n}")
    if int(block_size) < 1:
        raise InputError(f"block_size must be >= 1, got {block_size}")
    return dataset_path, out_dir, processes


def _measurement_settings(settings):
    """The measurement settings: :data:`DEFAULT_SETTINGS` with ``settings``' overrides, an
    unknown name refused (a typo would otherwise be silently ignored)."""
    cfg = dict(DEFAULT_SETTINGS)
    cfg.update(settings or {})
    unknown = set(cfg) - set(DEFAULT_SETTINGS)
    if unknown:
        raise InputError(f"unknown measurement settings {sorted(unknown)}; known: "
                         f"{sorted(DEFAULT_SETTINGS)}")
    return cfg


def _cache_folders(model, dataset_path, out_dir, split, n, seed, cfg, block_size, twin,
                   twin_rendering, n_boot, rotate, options, reference_cache):
    """``(dataset sha256, fingerprint, cache_dir, reference_dir)`` of a report.

    Two caches: this model's (removed when the report is done) and the references', shared
    by every model validated on the same galaxies with the same settings.
    """
    from ..._version import __version__
    import statmorph

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
                                    rotate=bool(rotate), options=options))
    cache_dir = out_dir / f".cache-{fingerprint}"
    if reference_cache is None:
        reference_cache = default_reference_cache()
    reference_dir = (cache_dir / "references" if reference_cache is False
                     else Path(reference_cache) / reference_fp)
    return dataset_sha, fingerprint, cache_dir, reference_dir


def _run_measures(measures, ctx, cache_dir, timings):
    """``(report, skipped)``: each measure's section (saved under ``cache_dir`` as it
    finishes, so a rerun resumes) or its reason not to apply; ``timings`` gets each
    measure's seconds.  The worker pool is shut down however the loop ends."""
    report, skipped = {"run": {}}, {}
    try:
        for name in measures:
            measure = MEASURES[name]
            reason = measure.applies(ctx)
            if reason:
                skipped[name] = reason
                continue
            t = time.time()
            section = _cached(cache_dir, name, lambda: measure.run(ctx))
            timings[name] = time.time() - t
            if measure.key is None:
                report.update(section)
            else:
                report[measure.key] = section
    finally:
        if ctx.pool is not None:
            ctx.pool.shutdown(wait=True, cancel_futures=True)
    return report, skipped


def _run_record(ctx, model_arg, dataset_sha, n, seed, measures, skipped, timings,
                fingerprint, reference_cache, command, rotate):
    """The report's ``run`` section: what was validated on which galaxies, with which
    settings, how long it took and the command that makes it again."""
    model, samples = ctx.model, ctx.samples
    return {
        "model": model_arg, "model_name": model.metadata["name"],
        "model_version": model.metadata["version"], "model_family": model.metadata["family"],
        "dataset": str(ctx.dataset_path), "dataset_sha256": dataset_sha,
        "source": samples.source, "split": ctx.split, "n_requested": n,
        "n_galaxies": int(len(samples.index)), "seed": int(seed),
        "pixel_scale": samples.pixel_scale, "stamp_size": samples.stamp_size,
        "conditions": list(samples.conditions), "model_conditions": list(model.quantities),
        "processes": ctx.processes, "settings": ctx.settings,
        "failed_draws": samples.failed_draws,
        "rotated": samples.rotated, "twin_rendering": samples.twin_rendering,
        "twin_median_distance": (None if samples.twin_distance is None
                                 else float(np.median(samples.twin_distance))),
        "measures": measures, "skipped": skipped, **ctx.options,
        "draw_seconds": timings["draw"], "measure_seconds": timings.get("morphology"),
        "seconds": timings, "total_seconds": None, "fingerprint": fingerprint,
        "reference_cache": None if reference_cache is False else str(ctx.reference_dir),
        "command": command or _command(model_arg, ctx.dataset_path, ctx.out_dir, n, ctx.split,
                                       seed, measures, ctx.options, rotate),
        "versions": package_versions(),
    }


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
    """The example indices a report selects (as
    :func:`~galsim_deep.tools.validation.samples.draw_samples`)."""
    from ...data.reader import StampDataset
    from .samples import select_galaxies

    with StampDataset(dataset_path) as data:
        idx = data.indices(split)
    return idx[select_galaxies(len(idx), n, seed)] if len(idx) else idx


def _command(model, dataset, out_dir, n, split, seed, measures, options, rotate):
    from .measures import measure_options

    parts = ["galsim-deep validation report", str(model), "--dataset", str(dataset), "--out",
             str(out_dir), "--n", str(n or 0), "--seed", str(seed)]
    if split != "test":
        parts += ["--split", split]
    if list(measures) != list(MEASURES):
        parts += ["--measures", ",".join(measures)]
    for name, option in measure_options().items():
        if options[name] != option.default:
            parts += [option.flag, str(0 if options[name] is None else options[name])]
    if not rotate:
        parts.append("--unrotated")
    return " ".join(parts)
