"""Scores of a training checkpoint's *samples* on an evaluation file (the long run's sample scores).

:func:`~galsim_deep.diagnostics.checkpoint_scores.score_checkpoint` scores a
checkpoint's reconstructions; what a user draws are *samples*: codes from a
latent flow given catalog rows, decoded.  A module's flow is fitted once, at
the end of a run, on MAP-refined codes (an hour on a CPU); to follow a long run
a checkpoint is scored with a **quick flow** instead
(:func:`quick_code_flow`: a small conditional MAF fitted in memory to
posterior samples of the encoder's codes of the first training stamps), which
is enough to see how the decoder's samples move, not to ship.

The samples of the evaluation file's galaxies (:class:`EvaluationGalaxies`:
one code per catalog row, drawn with a fixed seed, turned by a random angle as
the sampling engine turns them) are scored
against the same galaxies' analytic truths and their Sérsic rows, each
observed the same way (:func:`~galsim_deep.tools.validation.measures.survey_views.views.observe_in_view`,
a fresh noise stream per sample):

``views``
    the two-sample classifier test in each survey view (default: HST at
    COSMOS depth, the training stamps' own view, and HST noiseless), overall
    and per ``mag_auto`` bin of :data:`MAG_EDGES`; the verdict is the most
    accurate of a CNN and a gradient-boosted classifier on image features
    (:func:`~galsim_deep.tools.validation.measures.c2st.features.strongest_of_classifiers`);
``shapes``
    the mean HSM ``|g|``, size and flux of the samples over the truths' (the
    unconvolved profiles through the 0.1" round PSF of the checkpoint scores);
``shear``
    REGAUSS's multiplicative and additive biases on the samples minus those on
    the truths (``dm``, ``dc1``, ``dc2`` with errors), noiseless, through each
    named survey PSF (:data:`~galsim_deep.tools.validation.measures.shear.compute.SHEAR_PSFS`), on
    the galaxies brighter than ``shear_max_mag``.

The release table (:mod:`~galsim_deep.diagnostics.release_check`) adds two measures of
images against their truths, defined here beside :func:`shape_scores`: the shapes as a
survey observes them (:func:`observed_shape_scores`: samples and truths observed alike in
one view, the PSF left in, as Lanusse et al. (2020) compare them at COSMOS depth) and the
share of light far from the centre (:func:`outer_light`).

What does not depend on the checkpoint (the truths' and the Sérsic profiles'
observations, their classifier test and their shear) is computed once by
:func:`reference_scores` and kept in a cache folder.
"""
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from galsim_deep.core.errors import InputError
from galsim_deep.core.files import atomic_path
from galsim_deep.core.reporting import jsonable, write_json
from galsim_deep.tools.validation.measures.survey_views.views import (check_views,
                                                                      observed_shapes_view)

__all__ = ["EvaluationGalaxies", "quick_code_flow", "draw_samples", "truth_profiles",
           "reference_scores",
           "score_samples", "score_images", "shape_scores", "outer_light", "observed_shapes",
           "observed_shape_scores", "observed_shape_row", "MAG_EDGES", "SAMPLE_VIEWS",
           "SHEAR_PSF_NAMES", "OUTER_RADIUS", "OBSERVED_SHAPES_VIEW", "sample_views",
           "shear_psf_names"]

#: Edges of the ``mag_auto`` bins of the sample scores (AB mag): the issue's bright bin
#: (<= 22.5) and the fainter ones.
MAG_EDGES = (22.5, 23.5, 24.5)


def sample_views():
    """Survey views of the sample scores: those whose ``checks`` name ``samples`` in
    ``validation/survey_views.yaml`` (the module's ``SAMPLE_VIEWS``)."""
    return check_views("samples")


def shear_psf_names():
    """Survey PSFs of the shear scores: the shear measure's own Gaussian and the views whose
    ``checks`` name ``shear`` there (the module's ``SHEAR_PSF_NAMES``)."""
    return check_views("shear")


# The view lists of the survey views file, derived from its registry when read (not at
# import, and following the file): SAMPLE_VIEWS, SHEAR_PSF_NAMES and OBSERVED_SHAPES_VIEW,
# the one view of the like-for-like shapes (``observed-shapes`` there: HST at COSMOS depth,
# the training stamps').
_DERIVED = {"SAMPLE_VIEWS": sample_views, "SHEAR_PSF_NAMES": shear_psf_names,
            "OBSERVED_SHAPES_VIEW": observed_shapes_view}


def __getattr__(name):
    if name in _DERIVED:
        return _DERIVED[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _view_defaults(views, shear_psfs):
    """``views`` and ``shear_psfs``, each None replaced by the survey views file's lists."""
    return (sample_views() if views is None else views,
            shear_psf_names() if shear_psfs is None else shear_psfs)

# Noise streams of observe_in_view, one per sample (as the survey-views measure).
_STREAMS = {"truth": 101, "generated": 102, "parametric": 103}


@dataclass
class EvaluationGalaxies:
    """The galaxies of an evaluation file, as the survey views observe them.

    Holds what :func:`~galsim_deep.tools.validation.measures.survey_views.views.observe_in_view` reads
    (``index``, ``pixel_scale``, ``stamp_size``, ``psfs``, ``noise_variance``,
    ``noise_power``), the catalog ``conditions`` with their
    ``condition_names``, the Sérsic rows ``parametric``, the unconvolved
    ``truth`` images and the observed ``stamps``.  Build it with :meth:`load`.
    """

    path: str
    index: np.ndarray
    pixel_scale: float
    stamp_size: int
    psfs: np.ndarray
    noise_variance: np.ndarray
    noise_power: np.ndarray
    conditions: np.ndarray
    condition_names: list
    parametric: np.ndarray
    truth: np.ndarray
    stamps: np.ndarray = None
    _shapes: tuple = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def load(cls, path, n=None):
        """The first ``n`` galaxies (default all) of the test split of the mock dataset
        ``path`` (an evaluation file built with ``--n-test`` equal to ``--n``)."""
        from galsim_deep.data.reader import StampDataset

        path = Path(path)
        if not path.is_file():
            raise InputError(f"no evaluation file {path}; build one with a new seed, e.g.\n    "
                             f"galsim-deep dataset build --source mock-cosmos --population "
                             f"cosmos-25.2 --n 8000 --n-test 8000 --stamp-size 64 "
                             f"--pixel-scale 0.06 --seed 55 --out {path}")
        with StampDataset(path) as data:
            if "truth" not in data.fields:
                raise InputError(f"{path} has no truth field: an evaluation file is a mock "
                                 f"dataset (--source mock-cosmos)")
            index = data.indices("test")
            if not len(index):
                raise InputError(f"{path} has no test galaxies; build it with --n-test N")
            index = index[:n] if n is not None else index
            a = data.read(index, ["psf", "noise_variance", "noise_power", "conditions",
                                  "parametric", "truth", "stamp"])
            return cls(str(path), np.asarray(index), float(data.pixel_scale),
                       int(data.stamp_size), a["psf"], a["noise_variance"], a["noise_power"],
                       a["conditions"], list(data.condition_names), a["parametric"], a["truth"],
                       a["stamp"])

    def truth_shapes(self):
        """HSM ``|g|`` and size (pixels) of the truths through the 0.1" round PSF
        (:func:`~galsim_deep.diagnostics.checkpoint_scores.hsm_g_sigma`), measured once."""
        from galsim_deep.diagnostics.checkpoint_scores import hsm_g_sigma

        if self._shapes is None:
            self._shapes = hsm_g_sigma(self.truth, self.pixel_scale)
        return self._shapes

    def parametric_images(self):
        """The mock's Sérsic rows drawn unconvolved on the galaxies' stamps (flux per pixel;
        zeros where a row has no profile)."""
        from galsim_deep.tools.validation.references import reference_profiles

        size = self.stamp_size
        return np.stack([np.zeros((size, size)) if p is None else
                         p.drawImage(nx=size, ny=size, scale=self.pixel_scale,
                                     method="no_pixel").array
                         for p in reference_profiles(self, "parametric")])

    def column(self, name):
        """A catalog column (``mag_auto``) of every galaxy.

        Raises
        ------
        InputError
            For a column the file does not hold; a band magnitude (``mag_f606w``, which a
            colour module is conditioned on) is added by ``galsim-deep dataset
            add-bands``.
        """
        if name not in self.condition_names:
            fix = (f"; add it with: galsim-deep dataset add-bands {self.path} --bands "
                   f"{name[len('mag_'):].upper()}") if name.startswith("mag_") else ""
            raise InputError(f"the evaluation file {self.path} has no column {name!r} (it "
                             f"holds {self.condition_names}){fix}")
        return self.conditions[:, self.condition_names.index(name)]

    def magnitude_bins(self):
        """``(bin of each galaxy, labels)`` of :data:`MAG_EDGES` in ``mag_auto``."""
        from galsim_deep.core.catalog import magnitude_bins

        return magnitude_bins(self.column("mag_auto"), MAG_EDGES)


def quick_code_flow(model, recipe, n_codes=20000, steps=2000, seed=0, progress=False):
    """A small conditional flow on the encoder's codes of the first ``n_codes`` training
    stamps (posterior samples, as a module's flow with ``posterior: sample``).

    Returns
    -------
    galsim_deep.training.maf.FittedLatentFlow
    """
    import tensorflow as tf

    from galsim_deep.data.reader import StampDataset
    from galsim_deep.training.latent_flow import fit_code_flow

    with StampDataset(recipe["dataset"]["path"]) as data:
        index = data.indices("train")[:int(n_codes)]
        columns = [list(data.condition_names).index(c) for c in recipe["flow"]["conditions"]]
        means, stds, conds = [], [], []
        encode = tf.function(model.encode)
        for i in range(0, len(index), 256):
            a = data.read(index[i:i + 256], ["stamp", "psf", "conditions"])
            mean, std = encode(tf.constant(a["stamp"], tf.float32),
                               tf.constant(a["psf"], tf.float32))
            means.append(mean.numpy())
            stds.append(std.numpy())
            conds.append(a["conditions"][:, columns])
    return fit_code_flow(np.concatenate(means), np.concatenate(conds), np.concatenate(stds),
                         steps=steps, seed=seed, progress=progress)


def draw_samples(model, flow, galaxies, conditions, seed, batch_size=200):
    """Unconvolved samples ``[N, S, S]`` (flux per pixel, unrotated) of the galaxies'
    catalog rows: one code each from ``flow`` (seeded), decoded.

    ``conditions`` names the flow's columns (the recipe's ``flow.conditions``).
    """
    import tensorflow as tf

    rows = np.stack([galaxies.column(c) for c in conditions], axis=1)
    codes = flow.sample(rows, seed)
    decode = tf.function(model.decode)
    out = [decode(tf.constant(codes[i:i + batch_size], tf.float32)).numpy()
           for i in range(0, len(codes), batch_size)]
    return np.concatenate(out).astype(np.float64)


def _profiles(images, pixel_scale, angles=None):
    """``galsim.InterpolatedImage`` of each image (None where it is empty or not finite),
    rotated by ``angles`` (radians) if given."""
    import galsim

    from galsim_deep.tools.validation.observe import truth_profile

    out = [truth_profile(im, pixel_scale) if np.all(np.isfinite(im)) and im.sum() > 0
           else None for im in images]
    if angles is not None:
        out = [None if p is None else p.rotate(float(a) * galsim.radians)
               for p, a in zip(out, angles)]
    return out


def _observed(galaxies, view_name, profiles, sample, seed):
    from galsim_deep.tools.validation.measures.survey_views.views import (load_views,
                                                                          observe_in_view)

    view = load_views(names=[view_name])[view_name]
    return observe_in_view(view, profiles, galaxies, seed, _STREAMS[sample])


def _c2st(real, other, psfs, variance, groups, n_groups, seeds, epochs):
    from galsim_deep.tools.validation.measures.c2st.compute import accuracy_in_groups
    from galsim_deep.tools.validation.measures.c2st.features import (fit_feature_classifier,
                                                                     predict_feature_classes,
                                                                     strongest_of_classifiers)
    from galsim_deep.training.classifier import fit_two_sample_classifier, predict_classes

    classifiers = {"cnn": (fit_two_sample_classifier, predict_classes),
                   "features": (fit_feature_classifier, predict_feature_classes)}
    r = strongest_of_classifiers(real, other, psfs, variance, classifiers, seeds=seeds,
                                 epochs=epochs, progress=False)
    out = {k: r[k] for k in ("accuracy", "error", "n_test", "collapsed", "classifier",
                             "by_classifier")}
    out["bins"] = accuracy_in_groups(r, groups, n_groups)
    return out


def _shear_sample(galaxies, shear_max_mag, n_shear):
    """Indices (into the evaluation galaxies) of the shear measure's galaxies."""
    bright = np.flatnonzero(galaxies.column("mag_auto") <= shear_max_mag)
    return bright[:int(n_shear)]


def _shear_e(profiles, galaxies, psf, pool):
    from galsim_deep.tools.validation.measures.shear.compute import shear_measurements

    return shear_measurements(profiles, galaxies.stamp_size, galaxies.pixel_scale, psf=psf,
                              pool=pool)


def truth_profiles(galaxies):
    """The truths as the sample scores observe them: each mock galaxy's rebuilt analytic
    profile, or its truth image (an ``InterpolatedImage``) where it cannot be rebuilt.

    Returns
    -------
    profiles : list of galsim.GSObject
    info : dict
        :func:`~galsim_deep.tools.validation.mock_truth.analytic_profiles`'s ``info``.
    """
    from galsim_deep.tools.validation.mock_truth import analytic_profiles

    analytic, info = analytic_profiles(galaxies.path, galaxies.index)
    return [p if p is not None else q
            for p, q in zip(analytic, _profiles(galaxies.truth, galaxies.pixel_scale))], info


def reference_scores(galaxies, cache_dir, seed=0, views=None,
                     shear_psfs=None, shear_max_mag=24.0, n_shear=3000,
                     classifier_seeds=(0,), epochs=12, pool=None):
    """What the sample scores compare with, computed once and kept in ``cache_dir``.

    Each view and each shear PSF is kept in ``reference.json`` as it finishes:
    an interrupted computation resumes with the parts it lacks, and a later
    call that asks for more views or PSFs adds only those (the truths'
    observations are in ``<view>-truth.npz`` and ``shear-<psf>-truth.npz``).

    Parameters
    ----------
    views, shear_psfs : sequence of str, optional
        Survey views and shear PSFs; default (None) those of the survey views file's
        ``samples`` and ``shear`` checks (:func:`sample_views`, :func:`shear_psf_names`).

    Returns
    -------
    dict
        ``truth_profile``: how the truths were made (``analytic`` profiles, or
        the truth images); per view the Sérsic rows' classifier test against
        the truths (``views``); per shear PSF the truths' and the Sérsic rows'
        ``m``, ``c`` (``shear``) and the Sérsic minus the truth (``difference``).
    """
    import json

    from galsim_deep.tools.validation.references import reference_profiles
    from galsim_deep.tools.validation.measures.shear.compute import (shear_bias,
                                                                     shear_bias_difference)

    views, shear_psfs = _view_defaults(views, shear_psfs)
    cache, summary_path = Path(cache_dir), Path(cache_dir) / "reference.json"
    out = json.loads(summary_path.read_text()) if summary_path.is_file() else None
    chosen = _shear_sample(galaxies, shear_max_mag, n_shear)
    definitions = {p: _shear_definition(p) for p in shear_psfs}
    if out is not None:
        views = [v for v in views if v not in out["views"]]
        shear_psfs = [p for p in shear_psfs if p not in out["shear"]]
        if out.get("shear_galaxies", len(chosen)) != len(chosen):
            raise InputError(f"{cache} holds shear references of {out['shear_galaxies']} "
                             f"galaxies, not {len(chosen)}; use another cache folder")
        kept = out.get("shear_definitions", {})
        changed = [p for p in out["shear"] if p in definitions
                   and kept.get(p) != definitions[p]]
        if changed:
            raise InputError(f"{cache} holds shear references through "
                             f"{', '.join(changed)} as defined before (now "
                             f"{'; '.join(str(definitions[p]) for p in changed)}); use "
                             f"another cache folder")
        if not views and not shear_psfs:
            return out
    cache.mkdir(parents=True, exist_ok=True)
    truth, info = truth_profiles(galaxies)
    sersic = reference_profiles(galaxies, "parametric")
    groups, labels = galaxies.magnitude_bins()
    if out is None:
        out = {"truth_profile": info["method"], "mag_bins": labels,
               "bin_counts": np.bincount(groups, minlength=len(labels)).tolist(),
               "views": {}, "shear": {}, "n": int(len(galaxies.index)),
               "shear_galaxies": int(len(chosen)), "shear_definitions": {}}
    for view in views:
        kept = cache / f"{view}-truth.npz"
        if kept.is_file():  # observed before an interruption
            with np.load(kept) as f:
                stamps, psfs, variance = f["stamps"], f["psfs"], f["variance"]
        else:
            stamps, psfs, variance = _observed(galaxies, view, truth, "truth", seed)
            _save(kept, stamps=stamps, psfs=psfs, variance=variance)
        sersic_obs = _observed(galaxies, view, sersic, "parametric", seed)[0]
        out["views"][view] = {"parametric": _c2st(stamps, sersic_obs, psfs, variance, groups,
                                                  len(labels), classifier_seeds, epochs)}
        write_json(out, summary_path)
    for psf in shear_psfs:
        e_truth = _shear_e([truth[i] for i in chosen], galaxies, psf, pool)
        e_sersic = _shear_e([sersic[i] for i in chosen], galaxies, psf, pool)
        _save(cache / f"shear-{psf}-truth.npz", e=e_truth)
        out["shear"][psf] = {"truth": shear_bias(e_truth), "parametric": shear_bias(e_sersic),
                             "difference": shear_bias_difference(e_sersic, e_truth)}
        out.setdefault("shear_definitions", {})[psf] = definitions[psf]
        write_json(out, summary_path)
    return json.loads(summary_path.read_text())


def score_samples(model, recipe, galaxies, cache_dir, seed=0, n_codes=20000, flow_steps=2000,
                  views=None, shear_psfs=None, shear_max_mag=24.0,
                  n_shear=3000, classifier_seeds=(0,), epochs=12, pool=None, progress=False):
    """Score a checkpoint's samples of the evaluation galaxies (see the module's docstring).

    Parameters
    ----------
    model : FlowVAE
        The checkpoint's autoencoder.
    recipe : dict
        Its recipe (the training dataset of the quick flow, ``flow.conditions``).
    galaxies : EvaluationGalaxies
    cache_dir : str or Path
        Where :func:`reference_scores` kept the truths' observations.
    seed : int
        Seeds the quick flow, the codes and the noise.
    n_codes, flow_steps : int
        Training stamps and steps of :func:`quick_code_flow`.
    views, shear_psfs, shear_max_mag, n_shear, classifier_seeds, epochs, pool
        As :func:`reference_scores` (the same values: the comparisons share its cache).
    progress : bool

    Returns
    -------
    dict
        :func:`score_images` of the samples, with the quick flow's settings.
    """
    flow = quick_code_flow(model, recipe, n_codes, flow_steps, seed, progress)
    images = draw_samples(model, flow, galaxies, recipe["flow"]["conditions"], seed)
    out = score_images(images, galaxies, cache_dir, seed, views, shear_psfs, shear_max_mag,
                       n_shear, classifier_seeds, epochs, pool)
    return {"quick_flow": {"n_codes": int(n_codes), "steps": int(flow_steps)}, **out}


def score_images(images, galaxies, cache_dir, seed=0, views=None,
                 shear_psfs=None, shear_max_mag=24.0, n_shear=3000,
                 classifier_seeds=(0,), epochs=12, pool=None, rotate=True):
    """Score generated images of the evaluation galaxies against their truths.

    Parameters
    ----------
    images : ndarray [N, S, S]
        One unconvolved, unrotated image per evaluation galaxy (flux per
        pixel, the galaxies' stamp size and pixel scale): samples at the
        truths' catalog rows, or reconstructions of their stamps.
    galaxies : EvaluationGalaxies
    cache_dir : str or Path
        Where :func:`reference_scores` kept the truths' observations.
    seed : int
        Seeds the rotations and the noise.
    views, shear_psfs, shear_max_mag, n_shear, classifier_seeds, epochs, pool
        As :func:`reference_scores` (the same values: the comparisons share its
        cache); an empty ``shear_psfs`` skips the shear measure.
    rotate : bool
        Turn each image by a random angle before it is observed, as the
        sampling engine turns what users draw (the truths' orientations are
        random): a decoder's preferred orientation is the isotropy measure's
        business, not this test's.

    Returns
    -------
    dict
        ``views`` (per view ``generated``: the classifier test against the
        truths, with ``bins``), ``shapes`` (:func:`shape_scores`) and ``shear``
        (per PSF the images' ``m``, ``c`` and ``difference`` from the truths).
    """
    import json

    from galsim_deep.tools.validation.measures.shear.compute import (shear_bias,
                                                                     shear_bias_difference)

    views, shear_psfs = _view_defaults(views, shear_psfs)
    cache = Path(cache_dir)
    if not (cache / "reference.json").is_file():
        raise InputError(f"no reference scores in {cache}; run reference_scores first")
    angles = (np.random.default_rng([seed, 1]).uniform(0.0, 2 * np.pi, len(images))
              if rotate else None)
    profiles = _profiles(images, galaxies.pixel_scale, angles)
    groups, labels = galaxies.magnitude_bins()
    out = {"mag_bins": labels, "views": {}, "shear": {}}
    for view in views:
        ref = np.load(cache / f"{view}-truth.npz")
        generated = _observed(galaxies, view, profiles, "generated", seed)[0]
        out["views"][view] = {"generated": _c2st(ref["stamps"], generated, ref["psfs"],
                                                 ref["variance"], groups, len(labels),
                                                 classifier_seeds, epochs)}
    out["shapes"] = shape_scores(images, galaxies)
    chosen = _shear_sample(galaxies, shear_max_mag, n_shear)
    for psf in shear_psfs:
        e = _shear_e([profiles[i] for i in chosen], galaxies, psf, pool)
        e_truth = np.load(cache / f"shear-{psf}-truth.npz")["e"]
        out["shear"][psf] = {"generated": shear_bias(e),
                             "difference": shear_bias_difference(e, e_truth)}
    reference = json.loads((cache / "reference.json").read_text())
    out["reference"] = {"shear_galaxies": reference["shear_galaxies"]}
    return jsonable(out)


def _shear_definition(psf):
    """What a cached shear reference was measured through: the view's PSF and pixels."""
    from galsim_deep.tools.validation.measures.shear.compute import shear_psf

    spec = shear_psf(psf)
    return {"psf": spec.psf, "pixel_scale": spec.pixel_scale, "stamp_size": spec.stamp_size}


def shape_scores(images, galaxies, n_boot=200):
    """Mean ``|g|``, HSM size and flux of images over the truths' (minus 1), overall and per
    ``mag_auto`` bin, and the Wasserstein distance of their ``|g|`` to the truths'.

    The images and the truths are paired by catalog row; errors are bootstrap
    standard deviations over galaxies (seed 0).  ``|g|`` and size are HSM's
    through the 0.1" round PSF of the checkpoint scores
    (:func:`~galsim_deep.diagnostics.checkpoint_scores.hsm_g_sigma`).

    Parameters
    ----------
    images : ndarray [N, S, S]
        Unconvolved images of the galaxies (flux per pixel).
    galaxies : EvaluationGalaxies
    n_boot : int
        Bootstrap resamplings.

    Returns
    -------
    dict
        ``g``, ``size``, ``flux``: ``ratio``, ``error``, ``n`` and ``bins`` (the
        same per bin of :meth:`EvaluationGalaxies.magnitude_bins`);
        ``g_wasserstein``: ``distance`` and ``error``.
    """
    from scipy.stats import wasserstein_distance

    from galsim_deep.diagnostics.checkpoint_scores import hsm_g_sigma
    from galsim_deep.tools.validation.statistics import paired_mean_ratio

    g, size = hsm_g_sigma(images, galaxies.pixel_scale)
    g_t, size_t = galaxies.truth_shapes()
    flux, flux_t = images.sum(axis=(1, 2)), galaxies.truth.sum(axis=(1, 2)).astype(np.float64)
    groups, labels = galaxies.magnitude_bins()
    rng = np.random.default_rng(0)
    out = {}
    for name, a, b in (("g", g, g_t), ("size", size, size_t), ("flux", flux, flux_t)):
        out[name] = paired_mean_ratio(a, b, rng, n_boot)
        out[name]["bins"] = {label: paired_mean_ratio(a[groups == k], b[groups == k], rng, n_boot)
                             for k, label in enumerate(labels)}
    ok_g, ok_t = g[np.isfinite(g)], g_t[np.isfinite(g_t)]
    boots = [wasserstein_distance(rng.choice(ok_g, len(ok_g)), rng.choice(ok_t, len(ok_t)))
             for _ in range(n_boot // 4)]
    out["g_wasserstein"] = {"distance": float(wasserstein_distance(ok_g, ok_t)),
                            "error": float(np.std(boots))}
    return out


#: Radius (pixels of a 64-pixel stamp) beyond which :func:`outer_light` counts the light.
OUTER_RADIUS = 28.0


def outer_light(images, radius=OUTER_RADIUS, n_boot=200):
    """Share of each image's flux beyond ``radius`` of the stamp's centre, and in its border.

    Parameters
    ----------
    images : ndarray [N, S, S]
        Unconvolved images (flux per pixel).
    radius : float
        Pixels from the stamp's true centre.
    n_boot : int
        Bootstrap resamplings for the errors.

    Returns
    -------
    dict
        ``beyond_radius`` and ``border`` (the outer frame of
        :func:`~galsim_deep.tools.validation.measures.profiles.compute.border_fraction`):
        ``median`` and ``p90`` of the per-image fractions (images with no positive flux left
        out), with ``median_error`` and ``p90_error``: their standard deviations over
        ``n_boot`` bootstrap resamplings of the images (seeded: the same images give the
        same errors).
    """
    from galsim_deep.tools.validation.measures.profiles import compute as light

    out = {"radius": float(radius)}
    for name, share in (("beyond_radius", light.outside_fraction(images, radius)),
                        ("border", light.border_fraction(images))):
        share = share[np.isfinite(share)]
        if not len(share):
            out[name] = dict.fromkeys(("median", "p90", "median_error", "p90_error"), np.nan)
            continue
        resampled = share[np.random.default_rng(0).integers(0, len(share),
                                                            (n_boot, len(share)))]
        out[name] = {"median": float(np.median(share)), "p90": float(np.percentile(share, 90)),
                     "median_error": float(np.std(np.median(resampled, axis=1))),
                     "p90_error": float(np.std(np.percentile(resampled, 90, axis=1)))}
    return out


def observed_shapes(stamps):
    """HSM ``|g|`` and adaptive-moments size (pixels) of observed stamps, as observed (the
    PSF left in); NaN where the moments fail, as on a noisy faint galaxy.

    Parameters
    ----------
    stamps : ndarray [N, S, S]

    Returns
    -------
    g, sigma : ndarray [N]
    """
    from galsim_deep.tools.validation.measures.isotropy.compute import measure_shape

    g, sigma = np.full(len(stamps), np.nan), np.full(len(stamps), np.nan)
    for i, stamp in enumerate(stamps):
        shape = measure_shape(stamp)
        g[i], sigma[i] = np.hypot(shape["g1"], shape["g2"]), shape["sigma"]
    return g, sigma


def observed_shape_scores(stamps, truth_stamps, groups, labels, n_boot=200):
    """Mean observed ``|g|`` and size of a sample's stamps over its truths' in the same view.

    Parameters
    ----------
    stamps, truth_stamps : ndarray [N, S, S]
        The same galaxies' sample and truth, each observed in one survey view (its PSFs
        and noise, :func:`~galsim_deep.tools.validation.measures.survey_views.views.observe_in_view`).
    groups : ndarray [N] of int
        Each galaxy's ``mag_auto`` bin; ``labels`` names them.
    labels : sequence of str
    n_boot : int

    Returns
    -------
    dict
        ``g`` and ``size``: ``ratio``, ``error``, ``n`` and ``bins`` (per bin label);
        ``measured``: the share of galaxies whose moments succeeded, sample and truth.
    """
    from galsim_deep.tools.validation.statistics import paired_mean_ratio

    rng = np.random.default_rng(0)
    g, size = observed_shapes(stamps)
    g_t, size_t = observed_shapes(truth_stamps)
    out = {}
    for name, a, b in (("g", g, g_t), ("size", size, size_t)):
        out[name] = paired_mean_ratio(a, b, rng, n_boot)
        out[name]["bins"] = {label: paired_mean_ratio(a[groups == k], b[groups == k], rng, n_boot)
                             for k, label in enumerate(labels)}
    out["measured"] = {"sample": float(np.mean(np.isfinite(g))),
                       "truth": float(np.mean(np.isfinite(g_t)))}
    return out


def observed_shape_row(profiles, galaxies, cache_dir, stream_seed, seed, observed=None):
    """A release-table row's like-for-like shapes (:func:`observed_shape_scores` in the
    survey view of the ``observed-shapes`` check, ``OBSERVED_SHAPES_VIEW``), or None where
    the references hold no truths observed in that view.

    Parameters
    ----------
    profiles : sequence of galsim.GSObject or None
        The row's profiles as the views observe them; None for the Sérsic rows, observed
        here as the references observe them.
    galaxies : EvaluationGalaxies
    cache_dir : Path
        The references' folder.
    stream_seed, seed : int
        The row's noise seed and the table's.
    observed : ndarray [N, S, S], optional
        The row's stamps in that view, when the classifier test just observed them.
    """
    view = observed_shapes_view()
    kept = cache_dir / f"{view}-truth.npz"
    if not kept.is_file():
        return None
    with np.load(kept) as ref:
        truth = ref["stamps"]
    if observed is None and profiles is None:
        from galsim_deep.tools.validation.references import reference_profiles

        observed = _observed(galaxies, view, reference_profiles(galaxies, "parametric"),
                             "parametric", seed)[0]
    elif observed is None:
        observed = _observed(galaxies, view, profiles, "generated", stream_seed)[0]
    groups, labels = galaxies.magnitude_bins()
    return {"view": view,
            **observed_shape_scores(observed, truth, groups, labels)}


def _save(path, **arrays):
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)
