"""Draw the real, parametric and generated samples with matched PSF and noise.

For every selected galaxy of a stamp dataset (``galsim_deep.data``), three
observed stamps are made, all at the dataset's pixel scale and stamp size,
convolved with the galaxy's own PSF and carrying noise with the galaxy's own
noise power spectrum (Lanusse et al. 2020, section 4.4):

``real``
    The dataset's ``stamp``: for the ``cosmos`` source the HST image, for the
    ``mock-cosmos`` source the mock truth convolved with the PSF plus noise.
``parametric``
    The galaxy's single-Sérsic ``parametric`` row (the COSMOS catalog fit for
    ``cosmos``, the smooth main component for ``mock-cosmos``), as
    :func:`galsim_deep.data.format.sersic_from_parametric` builds it but
    truncated far outside the stamp (:func:`parametric_profile`), convolved
    with the PSF, plus noise.
``generated``
    A model sample conditioned on the galaxy's own conditioning columns, as
    :meth:`galsim_deep.GenerativeGalaxyModel.sample` gives it: rotated by its
    own uniformly random angle (the sampling engine's draws and resampled
    rotation, :mod:`galsim_deep.engine`; ``rotate=False``: the network's own
    orientation), convolved with the PSF,
    plus noise.
``twin`` (datasets with a ``truth`` field: the mock sources)
    A *reference*, what a conditional generator that draws real galaxies
    would give: another real galaxy, the one of the training split nearest in
    the model's conditioning columns (:func:`select_twins`), observed with
    this galaxy's PSF and noise.  Its residuals against ``real`` show the
    spread of sizes, shapes and fluxes among galaxies that share a catalog
    row.  It is a reference with its own measured bias, not a floor: a model
    whose galaxies vary less than real ones at fixed conditions scores below
    it.  The twin is drawn from its **analytic** profile, rebuilt from the
    mock build (:mod:`~galsim_deep.tools.validation.mock_truth`), exactly as the
    real stamps were drawn; an ``InterpolatedImage`` of its pixel-sampled
    truth (``twin_rendering='truth'``, and the fallback when the profile
    cannot be rebuilt) is a fainter, less concentrated galaxy than the real
    stamp shows (the cusps of bulges fall between pixel centres), which
    biased the twin's flux and ellipticity (see the report's ``twin_check``).

The PSF is the dataset's ``psf`` image, an *effective* PSF (pixel response
included) centred on pixel ``(S//2, S//2)``, used as a
``galsim.InterpolatedImage`` with ``use_true_center=False`` so that it is
centred on the origin; the convolution is drawn with ``method='no_pixel'``
at the stamp's true centre.

Noise (:func:`noise_field`) is drawn from the stored ``noise_power``
(Gaussian, stationary, with that power spectrum; exact for the circular
correlation on the stamp), so correlated noise (COSMOS) is matched as well as
white noise; the noise already in the real stamps is left as it is.  Every
draw is seeded: the galaxy of example index ``j`` in the dataset gets the
noise of ``numpy.random.default_rng([seed, j, k])`` (``k`` = 1 parametric, 2
generated, 3 twin), and the ``i``-th selected galaxy the latent numbers and the
angle of row ``i`` of ``model.sample(..., rng=model_seed(seed))``, so a run is reproducible and its stamps do not depend on the batch
size or the number of worker processes.

The drawing itself (the PSF as a profile, the parametric and truth profiles,
the noise and :func:`~galsim_deep.tools.validation.observe.observe`) is
:mod:`~galsim_deep.tools.validation.observe`, shared with the survey views.
"""
from dataclasses import dataclass, field

import numpy as np
from ...core.errors import InputError, MissingFieldError
from .observe import (noise_field, observe, parametric_profile, psf_profile,  # noqa: F401
                      truth_profile)

# (psf_profile, parametric_profile, truth_profile, noise_field and observe, from
# :mod:`galsim_deep.tools.validation.observe`, stay importable from here)
__all__ = ["SAMPLES", "NOISE_STREAM", "TWIN_RENDERINGS", "ValidationSamples", "select_galaxies",
           "select_twins", "model_seed", "draw_samples"]

#: Names of the samples, in report order (``twin`` only for datasets with a truth).
SAMPLES = ("real", "parametric", "generated", "twin")

#: The stream of each sample's noise fields in their seeds ``[seed, index, stream]`` (the
#: twin check draws its renderings from the last three).
NOISE_STREAM = {"parametric": 1, "generated": 2, "twin": 3, "own_truth_image": 4,
                "own_analytic": 5, "twin_truth_image": 6}

#: How the twin sample is drawn: ``'analytic'`` (its rebuilt profile, as the real stamps
#: were drawn; the default) or ``'truth'`` (an InterpolatedImage of its stored truth).
TWIN_RENDERINGS = ("analytic", "truth")


@dataclass
class ValidationSamples:
    """The three samples of one validation run.

    Attributes
    ----------
    stamps : dict of str -> ndarray [N, S, S]
        Observed stamps (flux per pixel) of each sample drawn, in the order of
        :data:`SAMPLES` (``twin`` only when the dataset has a truth).
    noise_variance : ndarray [N]
        Pixel noise variance of each galaxy (flux per pixel squared).
    noise_power : ndarray [N, S, S // 2 + 1] or None
        Noise power spectra (rfft2 layout).
    conditions : dict of str -> ndarray [N]
        The dataset's conditioning columns of the galaxies.
    index : ndarray [N]
        Example indices of the galaxies in the dataset file.
    pixel_scale : float
        Arcsec per pixel.
    stamp_size : int
        Pixels.
    source : str
        The dataset's source (``'mock-cosmos'`` or ``'cosmos'``).
    failed_draws : dict of str -> int
        Galaxies whose parametric, generated or twin profile could not be
        drawn (stamp set to NaN, measured as failures).
    twin_index : ndarray [N] or None
        Example index of each galaxy's twin (None without a twin sample).
    twin_distance : ndarray [N] or None
        Distance of each twin in conditioning space (standard deviations).
    psfs : ndarray [N, S, S] or None
        Each galaxy's effective PSF image.
    parametric : ndarray [N, 5] or None
        Each galaxy's parametric row.
    labels : ndarray [N] or None
        Mock morphology class of each galaxy (None without labels).
    class_names : list of str
    unconvolved : dict of str -> ndarray [N, S, S]
        Noiseless, unconvolved stamps: ``generated`` (the network's output,
        before the rotation), ``truth`` and ``twin`` (stored truths, mock data).
    profiles : dict of str -> list
        Analytic profiles (``galsim.GSObject`` or None where not rebuilt) of the
        ``real`` galaxies and their ``twin`` s (mock data).
    rotated : bool
        Whether the generated galaxies were rotated.
    angles : ndarray [N] or None
        Their rotation angles (radians).
    twin_rendering : dict
        How the twins were drawn: ``method`` (``'analytic'``, ``'partial'`` or
        ``'truth'``) and the checks of
        :func:`~galsim_deep.tools.validation.mock_truth.analytic_profiles`.
    noiseless_real : ndarray [N, S, S] or None
        Mock data: each galaxy's observed stamp without its noise (its rebuilt
        profile through its PSF; the truth image through it where the
        profile could not be rebuilt).
    batches : list of galsim_deep.engine.batch.SampledBatch
        The sampling engine's batches of the generated galaxies, in order: their profiles
        come from here (:meth:`generated_profiles`), as the generated stamps did.
    """

    stamps: dict
    noise_variance: np.ndarray
    noise_power: np.ndarray
    conditions: dict
    index: np.ndarray
    pixel_scale: float
    stamp_size: int
    source: str
    failed_draws: dict = field(default_factory=dict)
    twin_index: np.ndarray = None
    twin_distance: np.ndarray = None
    psfs: np.ndarray = None
    parametric: np.ndarray = None
    labels: np.ndarray = None
    class_names: list = field(default_factory=list)
    unconvolved: dict = field(default_factory=dict)
    profiles: dict = field(default_factory=dict)
    rotated: bool = True
    angles: np.ndarray = None
    twin_rendering: dict = field(default_factory=dict)
    noiseless_real: np.ndarray = None
    batches: list = field(default_factory=list, repr=False, compare=False)

    def generated_profiles(self, n=None):
        """The generated galaxies' unconvolved profiles, as the sampling engine makes them.

        The profiles the ``generated`` stamps were drawn from (:meth:`SampledBatch.profiles
        <galsim_deep.engine.batch.SampledBatch.profiles>` of :attr:`batches`: rotated as
        :meth:`~galsim_deep.GenerativeGalaxyModel.sample` rotates them, or not with
        ``rotate=False``; a chromatic module's in its reference band), made anew at each
        call, so that callers can draw them without keeping every profile alive.

        Parameters
        ----------
        n : int, optional
            The first ``n`` galaxies (default: all).

        Returns
        -------
        list of galsim.InterpolatedImage
        """
        if not self.batches and len(self.unconvolved.get("generated", ())):
            raise InputError("these samples hold no sampling batches: draw them with "
                             "draw_samples to get the generated profiles")
        out = []
        for batch in self.batches:
            rows = len(batch) if n is None else min(len(batch), int(n) - len(out))
            if rows <= 0:
                break
            out += batch.profiles(range(rows))
        return out


def model_seed(seed):
    """The GalSim seed of the model's latent numbers for a validation ``seed``.

    GalSim seeds a ``BaseDeviate(0)`` from the system clock, so the seed is
    derived (``numpy.random.SeedSequence([seed, 1])``) into 1 .. 2**31 - 1:
    every ``seed``, 0 included, gives reproducible samples.

    Parameters
    ----------
    seed : int
        The run's seed.

    Returns
    -------
    int
    """
    state = np.random.SeedSequence([int(seed), 1]).generate_state(1, dtype=np.uint32)[0]
    return 1 + int(state) % (2 ** 31 - 1)


def select_galaxies(n_available, n, seed):
    """Indices of ``n`` galaxies out of ``n_available``, a seeded random subset in order.

    Parameters
    ----------
    n_available : int
        Galaxies in the split.
    n : int or None
        How many to take; None (or more than available) takes all.
    seed : int
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    ndarray of int
        Sorted indices.
    """
    if n is None or n >= n_available:
        return np.arange(n_available)
    if n < 1:
        raise InputError(f"the number of galaxies must be >= 1, got {n}")
    rng = np.random.default_rng([int(seed), 0])
    return np.sort(rng.choice(n_available, size=int(n), replace=False))


def select_twins(conditions, pool_conditions, pool_index, exclude=None):
    """Each galaxy's nearest neighbour in conditioning space among a pool of galaxies.

    Distances are Euclidean after dividing each column by its standard
    deviation over the pool, so that magnitudes (AB mag), radii (pixels) and
    redshifts weigh alike.

    Parameters
    ----------
    conditions : ndarray [N, C]
        Conditioning columns of the galaxies.
    pool_conditions : ndarray [M, C]
        The same columns of the candidate twins (M >= 2).
    pool_index : ndarray [M]
        Example indices of the candidates.
    exclude : ndarray [N], optional
        Example index of each galaxy, never its own twin (for a galaxy that is
        also in the pool).

    Returns
    -------
    twin_index : ndarray [N] of int64
        Example index of each galaxy's twin.
    distance : ndarray [N]
        Its distance in standard deviations.
    """
    from scipy.spatial import cKDTree

    conditions = np.asarray(conditions, dtype=np.float64)
    pool = np.asarray(pool_conditions, dtype=np.float64)
    pool_index = np.asarray(pool_index, dtype=np.int64)
    if pool.ndim != 2 or conditions.ndim != 2 or pool.shape[1] != conditions.shape[1]:
        raise InputError(f"conditions {conditions.shape} and pool {pool.shape} must be [N, C] "
                         f"and [M, C] with the same columns")
    if len(pool) < 2 or len(pool_index) != len(pool):
        raise InputError(f"a pool of at least 2 galaxies with one index each is needed, got "
                         f"{len(pool)} rows and {len(pool_index)} indices")
    scale = pool.std(axis=0)
    scale[~(scale > 0)] = 1.0
    tree = cKDTree(pool / scale)
    dist, pos = tree.query(conditions / scale, k=2)
    first = pool_index[pos[:, 0]]
    own = np.zeros(len(first), bool) if exclude is None else first == np.asarray(exclude)
    twin = np.where(own, pool_index[pos[:, 1]], first)
    return twin, np.where(own, dist[:, 1], dist[:, 0])


def draw_samples(dataset_path, model, n=None, split="test", seed=0, batch_size=None,
                 sersic_prec=0.05, twin=None, progress=True, rotate=True,
                 twin_rendering="analytic", cache=None):
    """Draw the real, parametric, generated (and twin) samples of a dataset split.

    Parameters
    ----------
    dataset_path : str or Path
        A stamp dataset (HDF5, see ``docs/dataset_format.rst``).
    model : galsim_deep.GenerativeGalaxyModel
        The generative model; its conditions must be among the dataset's.
    n : int, optional
        Number of galaxies (a seeded random subset of the split); all by default.
    split : {'test', 'train', 'all'}
        Dataset split to use.
    seed : int
        Seed of the selection, the model samples and the noise.
    batch_size : int, optional
        Galaxies per model evaluation.
    sersic_prec : float
        Sérsic index rounding used to speed up GalSim (as ``galsim.COSMOSCatalog``);
        0 for exact indices.
    twin : bool, optional
        Draw the ``twin`` sample (twins from the training split, or from the
        whole dataset when the split is ``'all'``); default: when the dataset
        has a ``truth`` field.
    progress : bool
        Show tqdm progress bars.
    rotate : bool
        Rotate each generated galaxy by its own random angle, as
        :meth:`~galsim_deep.GenerativeGalaxyModel.sample` does by default
        (False: the network's own orientation).
    twin_rendering : {'analytic', 'truth'}
        Draw the twins from their rebuilt analytic profiles (as the real stamps
        were drawn; falls back to the truth image galaxy by galaxy where the
        profile cannot be rebuilt) or from InterpolatedImages of their stored
        truths.
    cache : callable, optional
        ``cache(name, fn)`` returns ``fn()`` or its saved result: the
        model-independent draws (parametric and twin stamps, rebuilt profiles,
        noiseless real stamps) go through it, so that the validation of
        several models on the same galaxies draws them once.

    Returns
    -------
    ValidationSamples
    """
    if twin_rendering not in TWIN_RENDERINGS:
        raise InputError(f"twin_rendering must be one of {TWIN_RENDERINGS}, got "
                         f"{twin_rendering!r}")
    sel = _read_selection(dataset_path, model, n, split, seed, twin)
    idx, arrays, names = sel["idx"], sel["arrays"], sel["names"]
    size, scale, has_truth = sel["size"], sel["scale"], sel["has_truth"]
    twin_index, twin_truth = sel["twin_index"], sel["twin_truth"]
    stamps = np.asarray(arrays["stamp"], dtype=np.float64)
    psfs = np.asarray(arrays["psf"], dtype=np.float64)
    noise_variance = np.asarray(arrays["noise_variance"], dtype=np.float64)
    noise_power = np.asarray(arrays["noise_power"], dtype=np.float64)
    parametric = np.asarray(arrays["parametric"], dtype=np.float64)
    conditions = {name: np.asarray(arrays["conditions"][:, k], dtype=np.float64)
                  for k, name in enumerate(names)}

    def references():
        return _reference_draws(dataset_path, idx, psfs, noise_power, parametric, size, scale,
                                seed, sersic_prec, has_truth, twin_index,
                                twin_truth if twin_index is not None else None,
                                twin_rendering, progress)

    refs = references() if cache is None else cache("reference_draws", references)
    out = {"real": stamps, "parametric": refs["parametric"]}
    failed = {"parametric": refs["failed"]["parametric"]}
    unconvolved, profiles = {}, dict(refs["profiles"])
    cat = {q: conditions[q] for q in model.quantities}
    out["generated"], unconvolved["generated"], angles, batches, failed["generated"] = \
        _draw_generated(model, cat, idx, psfs, noise_power, size, scale, seed, batch_size,
                        progress, rotate)
    if has_truth:
        unconvolved["truth"] = np.asarray(arrays["truth"], np.float64)
    if twin_index is not None:
        unconvolved["twin"] = np.asarray(twin_truth, np.float64)
        out["twin"] = refs["twin"]
        failed["twin"] = refs["failed"]["twin"]
    rendering = refs["rendering"]

    return ValidationSamples(stamps=out, noise_variance=noise_variance,
                             noise_power=noise_power, conditions=conditions, index=idx,
                             pixel_scale=scale, stamp_size=size, source=sel["source"],
                             failed_draws=failed, twin_index=twin_index,
                             twin_distance=sel["twin_distance"], psfs=psfs,
                             parametric=parametric,
                             labels=(np.asarray(arrays["label"], np.int64) if sel["has_label"]
                                     else None),
                             class_names=sel["class_names"], unconvolved=unconvolved,
                             profiles=profiles, rotated=bool(rotate),
                             angles=angles if rotate else None,
                             twin_rendering=rendering, noiseless_real=refs["noiseless_real"],
                             batches=batches)


def _read_selection(dataset_path, model, n, split, seed, twin):
    """The selected galaxies' rows of a dataset and, when the twin sample is drawn, their
    twins and the twins' truths, as a dict; a model condition the dataset lacks, an empty
    split or a twin sample without truths is refused."""
    from ...data.reader import StampDataset

    fields = ["stamp", "psf", "noise_variance", "noise_power", "parametric", "conditions"]
    with StampDataset(dataset_path) as dataset:
        names = list(dataset.condition_names)
        missing = [q for q in model.quantities if q not in names]
        if missing:
            raise MissingFieldError(f"the model is conditioned on {missing}, which the dataset "
                           f"{dataset_path} does not have (it has {names}); validate the "
                           f"model on a dataset built with those conditions")
        split_index = dataset.indices(split)
        if len(split_index) == 0:
            raise InputError(f"the {split!r} split of {dataset_path} is empty; use --split all "
                             f"or another split")
        idx = split_index[select_galaxies(len(split_index), n, seed)]
        has_truth = "truth" in dataset.fields
        has_label = "label" in dataset.fields
        arrays = dataset.read(idx, fields + (["truth"] if has_truth else [])
                              + (["label"] if has_label else []))
        size, scale = int(dataset.stamp_size), float(dataset.pixel_scale)
        source = str(dataset.source)
        class_names = list(dataset.class_names) if has_label else []
        if twin and not has_truth:
            raise InputError(f"the twin sample needs the noiseless truth, which {dataset_path} "
                             f"(source {source}) does not have; only mock datasets do: "
                             f"validate without the twin sample")
        twin_index = twin_distance = twin_truth = None
        if has_truth if twin is None else twin:
            pool_index = dataset.indices("all" if split == "all" else "train")
            cols = [names.index(q) for q in model.quantities]
            pool = dataset.read(pool_index, ["conditions"])["conditions"][:, cols]
            twin_index, twin_distance = select_twins(arrays["conditions"][:, cols], pool,
                                                     pool_index, exclude=idx)
            twin_truth = dataset.read(twin_index, ["truth"])["truth"]
    return {"names": names, "idx": idx, "has_truth": has_truth, "has_label": has_label,
            "arrays": arrays, "size": size, "scale": scale, "source": source,
            "class_names": class_names, "twin_index": twin_index,
            "twin_distance": twin_distance, "twin_truth": twin_truth}


def _draw_generated(model, cat, idx, psfs, noise_power, size, scale, seed, batch_size,
                    progress, rotate):
    """``(stamps, native stamps, angles, batches, failed draws)`` of the generated sample.

    The stamps are drawn batch by batch as model.sample makes them (the same object
    seeds, so the same latent numbers and rotation angles), so that only one batch of
    InterpolatedImage profiles is alive at a time.  The network's own (unrotated)
    stamps are kept for the clean-profile measures, and the batches for the measures
    that draw the generated profiles again (ValidationSamples.generated_profiles).
    """
    from ...engine import object_seeds

    count = len(idx)
    seeds = object_seeds(model_seed(seed), count)
    gen = np.empty((count, size, size))
    native = np.empty((count, model.stamp_size, model.stamp_size), np.float32)
    angles = np.empty(count)
    batches, i, failed = [], 0, 0
    for batch in model.batches(cat, rng=seeds, batch_size=batch_size, progress=progress,
                               rotate=rotate):
        batches.append(batch)
        angles[i:i + len(batch)] = batch.angles
        for array, prof in zip(batch.stamps, batch.profiles()):
            native[i] = array
            gen[i] = observe(prof, psf_profile(psfs[i], scale), size, scale, noise_power[i],
                             [int(seed), int(idx[i]), NOISE_STREAM["generated"]])
            failed += int(np.isnan(gen[i, 0, 0]))
            i += 1
    return gen, native, angles, batches, failed


def _reference_draws(dataset_path, idx, psfs, noise_power, parametric, size, scale, seed,
                     sersic_prec, has_truth, twin_index, twin_truth, twin_rendering, progress):
    """The model-independent part of :func:`draw_samples` (see its ``cache``)."""
    from tqdm.auto import tqdm

    from .mock_truth import analytic_profiles, render_observed

    count = len(idx)
    failed = {"parametric": 0}
    par = np.empty((count, size, size))
    for i in tqdm(range(count), desc="parametric", unit="gal", disable=not progress):
        try:
            gal = parametric_profile(parametric[i], size, scale, sersic_prec=sersic_prec)
        except ValueError:
            par[i] = np.nan
            failed["parametric"] += 1
            continue
        par[i] = observe(gal, psf_profile(psfs[i], scale), size, scale, noise_power[i],
                         [int(seed), int(idx[i]), NOISE_STREAM["parametric"]])
        failed["parametric"] += int(np.isnan(par[i, 0, 0]))
    refs = {"parametric": par, "failed": failed, "profiles": {}, "rendering": {},
            "noiseless_real": None, "twin": None}
    if has_truth:
        profs, refs["rendering"]["real"] = analytic_profiles(
            dataset_path, idx, progress=progress, desc="analytic profiles (real)")
        refs["profiles"]["real"] = profs
        from ...data.reader import StampDataset

        with StampDataset(dataset_path) as data:
            truth = data.read(idx, ["truth"])["truth"]
        noiseless = np.empty((count, size, size))
        for k in tqdm(range(count), desc="noiseless real", unit="gal", disable=not progress):
            prof = profs[k] if profs[k] is not None else truth_profile(truth[k], scale)
            noiseless[k] = render_observed(prof, psf_profile(psfs[k], scale), size, scale)
        refs["noiseless_real"] = noiseless
    if twin_index is not None:
        profs, info = analytic_profiles(dataset_path, twin_index, progress=progress,
                                        desc="analytic profiles (twins)")
        refs["profiles"]["twin"] = profs
        refs["rendering"]["twin"] = info
        tw = np.empty((count, size, size))
        failed["twin"] = 0
        used = 0
        for k in tqdm(range(count), desc="twin", unit="gal", disable=not progress):
            prof = profs[k] if twin_rendering == "analytic" else None
            used += prof is not None
            if prof is None:
                prof = truth_profile(twin_truth[k], scale)
            tw[k] = observe(prof, psf_profile(psfs[k], scale), size, scale, noise_power[k],
                            [int(seed), int(idx[k]), NOISE_STREAM["twin"]])
            failed["twin"] += int(np.isnan(tw[k, 0, 0]))
        refs["twin"] = tw
        refs["rendering"]["method"] = ("truth" if used == 0 else
                                       "analytic" if used == count else "partial")
        refs["rendering"]["n_analytic"] = int(used)
    return refs
