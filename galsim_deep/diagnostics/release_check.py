"""The release check: a candidate default's survey-view table beside the previous default's.

A default module ships only if no survey view tells its galaxies from the truth more
than the previous default's galaxies, beyond 2 sigma of the difference
(``docs/release.rst``).  Both are scored here in one run, alike, on the same
evaluation galaxies (:class:`~galsim_deep.diagnostics.sample_scores.EvaluationGalaxies`),
against the same observed truths (the references of
:func:`~galsim_deep.diagnostics.sample_scores.reference_scores`):

* a module row is the module's galaxies **as users get them**: drawn by
  :class:`~galsim_deep.GenerativeGalaxyModel` at the truths' catalog rows with one seed
  (the same latent normals and angles for every module), through everything the sampling
  engine applies (the module's window or wings, the rotation), observed in each survey
  view with the same noise stream as every other row;
* ``sersic`` is the mock's Sérsic rows (the references' own test), ``truth`` the truths
  observed again with a fresh noise stream (the test's 0.5);
* ``truth-stamps`` is the truths' own noiseless stamps, turned and drawn as the engine draws
  a network's (``truth-stamps@MODULE``: through that module's window or wings too), the
  floor of a decoder that drew every truth exactly in its stamp.

Each row holds, per view, the two-sample classifier test overall and per ``mag_auto``
bin (:data:`~galsim_deep.diagnostics.sample_scores.MAG_EDGES`; the brightest bin is the
first), the shapes against the truths (unrotated and noiseless,
:func:`~galsim_deep.diagnostics.sample_scores.shape_scores`; both observed at COSMOS depth,
:func:`~galsim_deep.diagnostics.sample_scores.observed_shape_scores`) and the share of light
far from the centre (:func:`~galsim_deep.diagnostics.sample_scores.outer_light`).  Rows are kept in
``OUT/rows/`` as each view finishes, so an interrupted table resumes; a row scored with
other settings (another evaluation file, number of galaxies, seed or classifier) is
refused rather than mixed in.
"""
import hashlib
import json
import time
import warnings
from pathlib import Path

import numpy as np

from galsim_deep.core.errors import InputError
from galsim_deep.core.reporting import jsonable, write_json, write_text
from galsim_deep.diagnostics.sample_scores import observed_shape_row
from galsim_deep.tools.validation.measures.survey_views.views import (check_views,
                                                                      observed_shapes_view)

__all__ = ["RELEASE_VIEWS", "release_views", "SIGMA", "score_release_row", "release_verdict",
           "table_cells", "table_lines", "table_rst", "write_release_table", "row_key", "texture_scores",
           "module_distortions", "psf_half_power_frequency"]



def release_views():
    """The survey views of the release check, in its table's order: those whose ``checks``
    name ``release`` in ``validation/survey_views.yaml`` (every view without ``checks``);
    the module's ``RELEASE_VIEWS``, and the default of every function here that takes
    ``views``."""
    return check_views("release")


def __getattr__(name):
    # RELEASE_VIEWS: derived from the survey views registry when read, so that a view added
    # to the file joins the release table with no other change.
    if name == "RELEASE_VIEWS":
        return release_views()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: How many sigma of the difference a candidate may be worse than the baseline by.
SIGMA = 2.0

# Noise stream of the truth row's second observation (as the prior table's).
_CONTROL_STREAM = 104


class _EngineProfiles:
    """The engine's profiles of sampled batches, built when asked for, one at a time; a
    colour module's in its reference band (F814W), the truths' band.

    A survey view draws each galaxy once; building its ``galsim.InterpolatedImage`` on
    demand keeps only one alive (8,000 kept profiles, each with its Fourier image once
    drawn, hold gigabytes)."""

    def __init__(self, batches):
        self.rows = [(batch, i) for batch in batches for i in range(len(batch))]

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, k):
        batch, i = self.rows[k]
        return batch.profiles(rows=[i])[0]  # a colour module's: its reference band, F814W


def row_key(spec):
    """The file name of a row: ``sersic``, ``truth``, ``truth-stamps``, a module's
    ``NAME-VERSION-HASH`` (the first 8 hex digits of its metadata's sha256, so that two
    variants with one version number never share a row), or ``truth-stamps-`` and that
    for ``truth-stamps@MODULE``."""
    if spec in ("sersic", "truth", "truth-stamps"):
        return spec
    if spec.startswith("truth-stamps@"):
        return "truth-stamps-" + row_key(spec[len("truth-stamps@"):])
    from galsim_deep.core.module_format import METADATA_FILE, read_metadata
    from galsim_deep.data.hub import resolve

    path = resolve(spec)
    meta = read_metadata(path)
    digest = hashlib.sha256((Path(path) / METADATA_FILE).read_bytes()).hexdigest()[:8]
    return f"{meta['name']}-{meta['version']}-{digest}"


def _settings(galaxies, seed, classifier_seeds, epochs):
    return {"eval": Path(galaxies.path).name, "n": int(len(galaxies.index)), "seed": int(seed),
            "classifier_seeds": [int(s) for s in classifier_seeds], "epochs": int(epochs)}


def _module_samples(spec, galaxies, seed, raw=False):
    """The module's engine batches at the galaxies' catalog rows (rotated as ``sample``
    turns them), its unrotated arrays and label; ``raw``: without its window or wings."""
    from galsim_deep import GenerativeGalaxyModel

    model = GenerativeGalaxyModel(spec)
    if raw:
        model.kind.window = model.kind.wings = None
    cat = {q: galaxies.column(q) for q in model.quantities}
    with warnings.catch_warnings():  # a few truths lie past the training box: as users do
        warnings.simplefilter("ignore")
        batches = list(model.batches(cat, rng=seed))
        arrays = np.concatenate(list(model.sample_arrays(cat, rng=seed, rotate=False)))
    return batches, arrays.astype(np.float64), "{name} {version}".format(**model.metadata)


def score_release_row(spec, galaxies, cache_dir, out_dir, seed=0, views=None,
                      classifier_seeds=(0,), epochs=12, label=None, progress=False):
    """Score one row of the release table into ``OUT/rows/<row_key>.json``.

    Parameters
    ----------
    spec : str
        ``sersic``, ``truth``, or a model name (``hub:NAME[@VERSION]``, a module
        directory or archive).
    galaxies : EvaluationGalaxies
    cache_dir : str or Path
        The references (:func:`~galsim_deep.diagnostics.sample_scores.reference_scores`,
        with the same ``views``, ``seed``, ``classifier_seeds`` and ``epochs``).
    out_dir : str or Path
        The table's folder.
    seed : int
        The samples' object seed (latent normals and angles) and the noise's.
    views : sequence of str, optional
        Default :func:`release_views`.
    classifier_seeds, epochs
        The classifier test's (:func:`~galsim_deep.diagnostics.sample_scores.score_images`).
    label : str, optional
        The row's name in the table (default: ``NAME VERSION`` of a module).
    progress : bool

    Returns
    -------
    dict
        ``spec``, ``label``, ``settings``, ``views`` (per view ``generated``: the test),
        ``shapes``, ``outer_light``, ``texture`` (:func:`texture_scores`) and, for a
        module, ``seconds_per_galaxy`` (sampling its galaxies through the engine).
    """
    from galsim_deep.diagnostics.sample_scores import _c2st, _observed

    views = release_views() if views is None else views
    cache = Path(cache_dir)
    reference = json.loads((cache / "reference.json").read_text()) \
        if (cache / "reference.json").is_file() else None
    if reference is None or any(v not in reference["views"] for v in views):
        raise InputError(f"no reference scores of views {list(views)} in {cache}; run "
                         f"reference_scores first (galsim-deep validation release-table does)")
    settings = _settings(galaxies, seed, classifier_seeds, epochs)
    path = Path(out_dir) / "rows" / f"{row_key(spec)}.json"
    row = json.loads(path.read_text()) if path.is_file() else None
    if row is not None and row["settings"] != settings:
        raise InputError(f"{path} was scored with {row['settings']}, not {settings}: a table "
                         f"compares rows of one run; use another --out folder")
    todo = [v for v in views if row is None or v not in row["views"]]
    if row is not None and not todo and "holes" in row.get("texture", {}) \
            and "observed_shapes" in row:
        return row
    images, profiles, stream_seed, first = _row_images(spec, galaxies, seed)
    row = row or {"spec": spec, "label": label or first.pop("label"), "settings": settings,
                  "views": {}, **_image_scores(images, galaxies), **first}
    if "axis_power" not in row.get("texture", {}):  # rows scored before the measure
        row["texture"] = texture_scores(images, galaxies)
    if "holes" not in row["texture"]:  # rows scored before the hole measure
        row["texture"]["holes"] = hole_scores(images, galaxies)
    groups, labels = galaxies.magnitude_bins()
    kept, shapes_view = {}, observed_shapes_view()  # that view's stamps, if observed below
    for view in todo:
        if profiles is None:  # the Sérsic rows: the references' own test
            row["views"][view] = {"generated": reference["views"][view]["parametric"]}
            continue
        with np.load(cache / f"{view}-truth.npz") as ref:
            truth = {k: ref[k] for k in ("stamps", "psfs", "variance")}
        observed = _observed(galaxies, view, profiles, "generated", stream_seed)[0]
        if view == shapes_view:
            kept["observed"] = observed
        row["views"][view] = {"generated": _c2st(
            truth["stamps"], observed, truth["psfs"], truth["variance"], groups, len(labels),
            classifier_seeds, epochs)}
        write_json(jsonable(row), path)  # each view kept as it finishes
        if progress:
            test = row["views"][view]["generated"]
            print(f"  {row['label']}, {view}: {test['accuracy']:.3f} ± {test['error']:.3f}",
                  flush=True)
    if "observed_shapes" not in row:
        row["observed_shapes"] = observed_shape_row(profiles, galaxies, cache, stream_seed,
                                                    seed, **kept)
    write_json(jsonable(row), path)
    return json.loads(path.read_text())  # as a rerun reads it back


def _row_images(spec, galaxies, seed, raw=False):
    """A row's unrotated images, its profiles to observe (None for the Sérsic rows, whose
    test is the references'), the noise seed and what the row records first (its label, a
    module's sampling time)."""
    if spec == "sersic":
        return galaxies.parametric_images(), None, seed, {"label": "Sérsic rows"}
    if spec == "truth":
        from galsim_deep.diagnostics.sample_scores import truth_profiles

        return (galaxies.truth.astype(np.float64), truth_profiles(galaxies)[0],
                seed + _CONTROL_STREAM, {"label": "truth, observed again"})
    if spec.startswith("truth-stamps"):
        images = galaxies.truth.astype(np.float64)
        module = spec.partition("@")[2]
        return (images, _stamp_profiles(images, galaxies.pixel_scale, seed, module), seed,
                {"label": "truth stamps" + (f", drawn as {module} draws" if module else "")})
    start = time.perf_counter()
    batches, images, name = _module_samples(spec, galaxies, seed, raw)
    seconds = (time.perf_counter() - start) / max(len(images), 1)
    return images, _EngineProfiles(batches), seed, {"label": name,
                                                    "seconds_per_galaxy": seconds}


class _StampProfiles:
    """Profiles of stamps rotated on the rotated grid, built when asked for, one at a time
    (as :class:`_EngineProfiles`)."""

    def __init__(self, grids, pixel_scale, stamp_size):
        self.grids, self.pixel_scale, self.stamp_size = grids, pixel_scale, stamp_size

    def __len__(self):
        return len(self.grids)

    def __getitem__(self, k):
        from galsim_deep.engine import galaxy_profile

        grid = self.grids[k]
        if not (np.all(np.isfinite(grid)) and grid.sum() > 0):
            return None
        return galaxy_profile(grid, self.pixel_scale, stamp_size=self.stamp_size)


def _stamp_profiles(images, pixel_scale, seed, module=""):
    """The truths' own stamps drawn as a module draws its network's (its window or wings;
    none without ``module``), turned by random angles on the rotated grid: a decoder that
    drew every truth exactly, in its stamp."""
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.data.hub import resolve
    from galsim_deep.engine import rotate_stamps
    from galsim_deep.engine.window import module_window
    from galsim_deep.engine.wings import module_wings, render_with_wings

    stamps = np.asarray(images, np.float32)
    angles = np.random.default_rng([int(seed), 1]).uniform(0.0, 2 * np.pi, len(stamps))
    meta = read_metadata(resolve(module)) if module else {}
    window, wings = module_window(meta), module_wings(meta)
    if window is not None:
        stamps = window(stamps)
    grids = (render_with_wings(wings, stamps, angles, np.ones(len(stamps), bool))
             if wings is not None else rotate_stamps(stamps, angles))
    return _StampProfiles(grids, pixel_scale, stamps.shape[-1])


def _image_scores(images, galaxies):
    """The shapes against the truths' and the light far from the centre."""
    from galsim_deep.diagnostics.sample_scores import outer_light, shape_scores

    return {"shapes": shape_scores(images, galaxies), "outer_light": outer_light(images),
            "truth_outer_light": outer_light(galaxies.truth)}


def module_distortions(spec, profiles, galaxies, chosen, psf, seed, path, raw=False,
                       pool=None):
    """The shear measure's distortions of a module's galaxies ``chosen`` (evaluation
    indices) through ``psf``, kept in ``path`` with what computed them (the module, its
    seed, the galaxies, the PSF's definition), so that a rerun reads them back and
    nothing else does (the student check's shear lines,
    :func:`~galsim_deep.diagnostics.student_check.paired_shear_scores`).

    Parameters
    ----------
    spec : str
        The module (its row key, with a digest of its files, tags the kept arrays).
    profiles : callable
        Returns the module's profiles of every evaluation galaxy (called only when the
        distortions are not kept).
    galaxies : EvaluationGalaxies
    chosen : ndarray of int
    psf : str
    seed : int
    path : str or Path
    raw : bool
        Whether the profiles are the network's own pixels (recorded in the key).
    pool : concurrent.futures.Executor, optional

    Returns
    -------
    ndarray [N, R, 5, 2]
    """
    from galsim_deep.core.files import read_keyed_arrays, write_keyed_arrays
    from galsim_deep.diagnostics.sample_scores import _shear_definition, _shear_e

    chosen = np.asarray(chosen, np.int64)
    key = json.dumps({"module": row_key(str(spec)), "raw": bool(raw), "seed": int(seed),
                      "psf": _shear_definition(psf), "eval": Path(galaxies.path).name,
                      "galaxies": hashlib.sha256(chosen.tobytes()).hexdigest()[:16]},
                     sort_keys=True)
    kept = read_keyed_arrays(path, key, ("e",))
    if kept is not None:
        return kept["e"]
    every = profiles()
    e = _shear_e([every[i] for i in chosen], galaxies, psf, pool)
    write_keyed_arrays(path, key, {"e": e})
    return e


def psf_half_power_frequency(psfs):
    """The frequency (cycles per pixel) where the median PSF's azimuthal power spectrum
    falls to half its value at zero frequency: above it, the PSF passes less than half of
    a profile's power, so the data constrain the profile there less and less.

    Parameters
    ----------
    psfs : ndarray [N, S, S]
        PSF images (each normalised to unit sum by the power spectrum).

    Returns
    -------
    float
    """
    from galsim_deep.tools.validation.measures.texture.compute import azimuthal_power

    k, power = azimuthal_power(np.asarray(psfs, np.float64))
    median = np.nanmedian(power, axis=0)
    below = np.flatnonzero(median < 0.5 * median[0])
    return float(k[below[0]]) if len(below) else float(k[-1])


def texture_scores(images, galaxies, n_boot=200):
    """The power of the noiseless profiles above the PSF's half-power frequency, over the
    truths', overall and per ``mag_auto`` bin.

    The median over galaxies of each unit-flux image's mean power at ``k >= k_half``
    (:func:`psf_half_power_frequency` of the galaxies' PSFs) up to 0.5 cycles per pixel,
    over the truths' median (1: the truth's texture; more: structure the PSF hides from
    the training stamps), with bootstrap errors (galaxies resampled in both).

    Returns
    -------
    dict
        ``k_half`` and ``ratio``, ``error``, with the same per bin under ``bins``.
    """
    from galsim_deep.tools.validation.measures.texture.compute import (median_ratio_error,
                                                                       azimuthal_power,
                                                                       band_power)

    k_half = psf_half_power_frequency(galaxies.psfs)
    k, power = azimuthal_power(images)
    _, truth_power = azimuthal_power(galaxies.truth)
    values, reference = (band_power(k, p, k_half, 0.51) for p in (power, truth_power))
    groups, labels = galaxies.magnitude_bins()
    rng = np.random.default_rng([0, 0x7E7])

    def ratio(which):
        r, e = median_ratio_error(values[which], reference[which], rng, n_boot)
        return {"ratio": r, "error": e}

    out = {"k_half": k_half, **ratio(np.ones(len(values), bool))}
    out["bins"] = {label: ratio(groups == b) for b, label in enumerate(labels)}
    out["axis_power"] = axis_scores(images, galaxies.truth, rng, n_boot)
    out["holes"] = hole_scores(images, galaxies)
    return out


def hole_scores(images, galaxies):
    """The share of the brightest bin's noiseless, unrotated images with a dark hole that
    their light encloses (:func:`~galsim_deep.tools.validation.measures.texture.holes.
    hole_share`), beside the truths' share, each with its binomial error."""
    from galsim_deep.tools.validation.measures.texture.holes import hole_share

    groups, labels = galaxies.magnitude_bins()
    brightest = groups == 0

    def share(which):
        scores = hole_share(np.asarray(which, np.float64)[brightest])
        return {k: scores[k] for k in ("share", "error", "n")}

    return {"bin": labels[0], **share(images), "truth": share(galaxies.truth)}


def axis_scores(images, truth, rng, n_boot=200):
    """:func:`axis_power_ratio
    <galsim_deep.tools.validation.measures.texture.compute.axis_power_ratio>` (the
    population's power along the pixel axes over the diagonals, 0.2-0.5 cycles per
    pixel) of the unrotated images and of the truths, each with its bootstrap error
    (galaxies resampled): cross-hatching on the network's grid shows as a ratio far
    above the truths'."""
    from galsim_deep.tools.validation.measures.texture.compute import (axis_power,
                                                                       axis_power_ratio)

    def scores(images):
        power = axis_power(images)
        boots = [axis_power_ratio(power[rng.integers(0, len(power), len(power))])
                 for _ in range(n_boot)]
        return {"ratio": axis_power_ratio(power), "error": float(np.std(boots))}

    return {"band": [0.2, 0.51], **scores(images), "truth": scores(truth)}


def _test(row, view, bin_index=None):
    """``(accuracy, error)`` of a row's test in a view, overall or in one magnitude bin."""
    test = row["views"][view]["generated"]
    if bin_index is not None:
        test = test["bins"][bin_index]
    return float(test["accuracy"]), float(test["error"])


def release_verdict(candidate, baseline, views=None, bins=(None, 0), sigma=SIGMA):
    """Whether a candidate default passes the release check against the previous default.

    Parameters
    ----------
    candidate, baseline : dict
        Rows of one table (:func:`score_release_row`, the same settings).
    views : sequence of str, optional
        Default :func:`release_views`.
    bins : sequence of (int or None)
        None for all galaxies, else a magnitude bin's index (0: the brightest,
        ``mag_auto`` <= 22.5).
    sigma : float
        The allowed margin, in standard errors of the difference (the two accuracies'
        binomial errors added in quadrature).

    Returns
    -------
    dict
        ``passed`` and per view and bin (``all`` or the bin's index) the ``candidate`` and
        ``baseline`` accuracies, their ``difference``, its ``error``, and ``worse``
        (more than ``sigma`` errors above the baseline: the candidate is easier to tell
        from the truth), ``better`` (as far below) or neither.
    """
    if candidate["settings"] != baseline["settings"]:
        raise InputError(f"the candidate and the baseline were scored with other settings "
                         f"({candidate['settings']} against {baseline['settings']}); score "
                         f"both in one table")
    checks = {}
    for view in release_views() if views is None else views:
        for b in bins:
            c, ec = _test(candidate, view, b)
            r, er = _test(baseline, view, b)
            diff, error = c - r, float(np.hypot(ec, er))
            checks[f"{view} {'all' if b is None else b}"] = {
                "view": view, "bin": b, "candidate": [c, ec], "baseline": [r, er],
                "difference": diff, "error": error,
                "worse": bool(diff > sigma * error), "better": bool(diff < -sigma * error)}
    return {"passed": not any(v["worse"] for v in checks.values()), "sigma": sigma,
            "candidate": candidate["label"], "baseline": baseline["label"], "checks": checks}


def table_cells(rows, views=None, bin_labels=None):
    """The survey-view table, one column per row of the release table: the classifier
    accuracy against the truth in each view (all galaxies, then the brightest bin), then
    ``|g|`` (and the Wasserstein-1 distance of its distribution to the truths'), size and
    flux against the truths', the light beyond 28 pixels and the power above the PSF's
    half-power frequency over the truths'.

    Returns
    -------
    head : list of str
    body : list of list of str
    """
    bright = (bin_labels or ["<= 22.5"])[0]
    head = ["measure"] + [row["label"] for row in rows]
    body = []
    for view in release_views() if views is None else views:
        for b, which in ((None, "all"), (0, f"mag_auto {bright}")):
            body.append([f"C2ST {view}, {which}"] + [
                "" if view not in row["views"] else "{:.3f} ± {:.3f}".format(*_test(row, view, b))
                for row in rows])
    observed = f", both observed in {observed_shapes_view()}"
    for part, key, name in [("shapes", "g", "mean |g|"), ("shapes", "size", "size"),
                            ("shapes", "flux", "flux"), ("observed_shapes", "g", "mean |g|"),
                            ("observed_shapes", "size", "size")]:
        body.append([f"{name} against the truth's" + (observed if part != "shapes" else "")] + [
            "" if not r.get(part) else f"{100 * r[part][key]['ratio']:+.1f} ± "
            f"{100 * r[part][key]['error']:.1f}%" for r in rows])
        if (part, key) == ("shapes", "g"):
            body.append(["W1 of |g| to the truth's"] + [
                "" if not (r.get("shapes") or {}).get("g_wasserstein") else
                "{distance:.4f} ± {error:.4f}".format(**r["shapes"]["g_wasserstein"])
                for r in rows])
    truth = next((r["truth_outer_light"]["beyond_radius"] for r in rows
                  if "truth_outer_light" in r), None)
    body.append([f"light beyond r = {rows[0]['outer_light']['radius']:g} px, median (p90)"
                 + ("" if truth is None else
                    f"; truth {100 * truth['median']:.3f}% ({100 * truth['p90']:.2f}%)")] + [
        "{:.3f}% ({:.2f}%)".format(100 * r["outer_light"]["beyond_radius"]["median"],
                                   100 * r["outer_light"]["beyond_radius"]["p90"])
        for r in rows])
    for b, which in ((None, "all"), (bright, f"mag_auto {bright}")):
        cells = []
        for r in rows:
            t = r.get("texture")
            t = t if t is None or b is None else t["bins"][b]
            cells.append("" if t is None else f"{t['ratio']:.2f} ± {t['error']:.2f}")
        body.append([f"power above the PSF's half power over the truth's, {which}"] + cells)
    axis = [r.get("texture", {}).get("axis_power") for r in rows]
    truth = next((a["truth"] for a in axis if a is not None), None)
    body.append(["power along the pixel axes over the diagonals, 0.2-0.5 cycles/px"
                 + ("" if truth is None else f"; truth {truth['ratio']:.2f}")] + [
        "" if a is None else f"{a['ratio']:.2f} ± {a['error']:.2f}" for a in axis])
    holes = [r.get("texture", {}).get("holes") for r in rows]
    truth = next((h["truth"] for h in holes if h is not None), None)
    body.append([f"share with a dark hole, mag_auto {bright}, noiseless"
                 + ("" if truth is None else
                    f"; truth {100 * truth['share']:.1f} ± {100 * truth['error']:.1f}%")] + [
        "" if h is None else f"{100 * h['share']:.1f} ± {100 * h['error']:.1f}%"
        for h in holes])
    return head, body


def table_lines(rows, views=None, bin_labels=None):
    """Markdown lines of :func:`table_cells`."""
    head, body = table_cells(rows, views, bin_labels)
    return (["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
            + ["| " + " | ".join(c.replace("|g|", "\\|g\\|") for c in cells) + " |"
               for cells in body])


def table_rst(rows, views=None, bin_labels=None):
    """reStructuredText ``list-table`` lines of :func:`table_cells` (for the docs)."""
    head, body = table_cells(rows, views, bin_labels)
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for cells in [head] + body:
        lines += [f"   {'*' if k == 0 else ' '} - " + (c.replace("|", "\\|") or "..")
                  for k, c in enumerate(cells)]
    return lines


def verdict_lines(verdict):
    """Markdown lines of :func:`release_verdict`."""
    word = "PASSED" if verdict["passed"] else "FAILED"
    lines = [f"Release check {word}: {verdict['candidate']} against {verdict['baseline']} "
             f"(worse = more than {verdict['sigma']:g} sigma of the difference above it).", "",
             "| view | galaxies | candidate | baseline | difference | verdict |",
             "|---|---|---|---|---|---|"]
    for check in verdict["checks"].values():
        which = "all" if check["bin"] is None else "brightest bin"
        state = "worse" if check["worse"] else "better" if check["better"] else "within"
        lines.append(f"| {check['view']} | {which} | "
                     + "{:.3f} ± {:.3f} | {:.3f} ± {:.3f} | ".format(*check["candidate"],
                                                                      *check["baseline"])
                     + f"{check['difference']:+.3f} ± {check['error']:.3f} | {state} |")
    return lines


def write_release_table(out_dir, specs, views=None, command=None, verdict=None,
                        bin_labels=None, labels=None, name="release", verdict_text=None):
    """Write ``NAME.md``, ``NAME.json`` and the docs' ``NAME.inc`` of the rows of ``specs``
    (in that order) kept in ``OUT/rows``, with the command that made them and a verdict if
    given (its Markdown ``verdict_text`` lines; default :func:`verdict_lines`'s);
    ``labels`` (spec -> name) renames rows in the table (two variants of one version,
    say), not in their kept files; ``views`` default :func:`release_views`.  Returns the
    Markdown text."""
    views = release_views() if views is None else views
    out = Path(out_dir)
    labels = labels or {}
    rows = [json.loads((out / "rows" / f"{row_key(s)}.json").read_text()) for s in specs]
    rows = [dict(r, label=labels.get(s, r["label"])) for s, r in zip(specs, rows)]
    text = ["# The release check's survey-view table", ""]
    if command:
        text += ["Reproduce with", "", "    " + command, ""]
    text += [f"Classifier two-sample accuracy against the truth (0.5: indistinguishable), "
             f"{rows[0]['settings']['n']} galaxies of {rows[0]['settings']['eval']}, "
             f"± one binomial standard error; shapes against the truths' (noiseless, "
             f"through a 0.1\" Gaussian), ± bootstrap error.", ""]
    text += table_lines(rows, views, bin_labels) + [""]
    if verdict is not None:
        text += (verdict_text or verdict_lines(verdict)) + [""]
    write_text("\n".join(text), out / f"{name}.md")
    write_text("\n".join(table_rst(rows, views, bin_labels)) + "\n", out / f"{name}.inc")
    write_json(jsonable({"command": command, "views": list(views), "rows": rows,
                         "verdict": verdict}), out / f"{name}.json")
    return "\n".join(text)
