"""Survey views: how a galaxy is observed before a classifier looks at it.

A user asks whether generated galaxies are realistic *at the resolution and
depth they simulate*.  A :class:`SurveyView` is that resolution and depth: a
pixel scale (arcsec), a PSF and a noise level.  The shipped views
(``galsim_deep/tools/validation/survey_views.yaml``; figures and sources in
``docs/validation.rst``) are HST noiseless and at COSMOS depth, Euclid VIS
wide, LSST 10-year i coadd and LSST single i visit; a user adds one in a
YAML file of the same form (:func:`load_views`).  The shipped file is the registry
:data:`SURVEY_VIEWS`, read at its first use, and every list of view names the project
keeps (the release table's, the sample scores', the shear scores', the command line's
choices) is derived from it (:func:`check_views`): a new survey is its entry in the file
and nothing else.

A view's YAML entry::

    lsst-10yr-i:
      title: LSST 10-year i coadd
      pixel_scale: 0.2                       # arcsec, or 'dataset'
      psf: {type: Kolmogorov, fwhm: 0.71}    # a GalSim config dict, or 'dataset'
      noise: {mag: 26.8, nsigma: 5}          # 'none', 'dataset', or a depth
      checks: [release, shear]               # the project's checks it joins (CHECKS)

``checks`` is optional: a view without it joins the release check only.

``psf: dataset`` is each galaxy's own effective PSF image from the stamp
dataset and needs ``pixel_scale: dataset``; so does ``noise: dataset``, each
galaxy's own noise power spectrum (COSMOS's correlated noise).  A depth is
the AB magnitude detected at ``nsigma``: as a point source with PSF-optimal
photometry (white noise of variance ``(F / nsigma)**2 * sum(p**2)`` per pixel
for a PSF image ``p`` of unit sum), or inside a circular aperture of
``aperture_diameter`` arcsec (``(F / nsigma)**2 / n_pixels``).  Fluxes are
in the dataset's units (HST F814W counts/s, :data:`~galsim_deep.data.format.ZERO_POINT`),
and a galaxy keeps its catalog magnitude in every view: no colour term
between F814W and the view's band.
"""
import dataclasses
import math
from pathlib import Path

import numpy as np

from .....core.errors import InputError, MissingInputError, chosen_names
from .....core.registry import Registry


__all__ = ["SurveyView", "VIEWS_FILE", "SURVEY_VIEWS", "CHECKS", "view_registry",
           "load_views", "check_views", "observed_shapes_view", "observe_in_view",
           "view_stamp_size"]

#: The shipped survey views.
# (in the validation package, whose data it is: setup.cfg's package_data)
VIEWS_FILE = Path(__file__).parents[2] / "survey_views.yaml"

_KEYS = {"title", "pixel_scale", "psf", "noise", "checks"}

#: The project's checks a survey view joins (its entry's ``checks``), each with what it
#: is; :func:`check_views` lists a check's views in the file's order.
CHECKS = {
    "release": "the release check's survey-view table (docs/release.rst); every view's "
               "default",
    "samples": "the sample scores of a training run's checkpoints",
    "shear": "the shear scores' PSFs, after the measure's own round Gaussian (a view "
             "with its own PSF and pixels)",
    "observed-shapes": "the one view of the release table's like-for-like shapes (the "
                       "training stamps' own)",
}

#: The checks a view joins when its entry names none.
DEFAULT_CHECKS = ("release",)

_DEPTH_KEYS = {"mag", "nsigma", "aperture_diameter"}


@dataclasses.dataclass(frozen=True)
class SurveyView:
    """A pixel scale, PSF and noise level to observe galaxies with (see the module doc).

    Attributes
    ----------
    name : str
    title : str
    pixel_scale : float or 'dataset'
        Arcsec per pixel.
    psf : dict or 'dataset'
        GalSim config of the PSF (without the pixel response).
    noise : 'none', 'dataset' or dict
        A depth: ``mag`` (AB), ``nsigma``, optional ``aperture_diameter`` (arcsec).
    checks : tuple of str
        The project's checks that observe through the view (names of :data:`CHECKS`).
    """

    name: str
    title: str
    pixel_scale: object
    psf: object
    noise: object
    checks: tuple = DEFAULT_CHECKS

    def __post_init__(self):
        where = f"survey view {self.name!r}"
        self._check_checks(where)
        if self.pixel_scale != "dataset" and not (
                isinstance(self.pixel_scale, (int, float)) and self.pixel_scale > 0):
            raise InputError(f"{where}: pixel_scale must be a positive number of arcsec or "
                             f"'dataset', got {self.pixel_scale!r}")
        if self.psf != "dataset" and not (isinstance(self.psf, dict) and "type" in self.psf):
            raise InputError(f"{where}: psf must be a GalSim config dict with a 'type' (e.g. "
                             f"{{type: Kolmogorov, fwhm: 0.7}}) or 'dataset', got {self.psf!r}")
        if "dataset" in (self.psf, self.noise) and self.pixel_scale != "dataset":
            raise InputError(f"{where}: psf or noise 'dataset' are the dataset's own images, "
                             f"at its pixels: set pixel_scale: dataset")
        if isinstance(self.noise, dict):
            unknown = set(self.noise) - _DEPTH_KEYS
            if unknown or not {"mag", "nsigma"} <= set(self.noise):
                raise InputError(f"{where}: a depth is {{mag: AB, nsigma: N[, "
                                 f"aperture_diameter: arcsec]}}, got {self.noise!r}")
            if not all(isinstance(v, (int, float)) and v > 0 for v in self.noise.values()):
                raise InputError(f"{where}: the depth's values must be positive numbers, got "
                                 f"{self.noise!r}")
        elif self.noise not in ("none", "dataset"):
            raise InputError(f"{where}: noise must be 'none', 'dataset' or a depth {{mag: AB, "
                             f"nsigma: N}}, got {self.noise!r}")

    def _check_checks(self, where):
        """InputError for checks that are not a list of names of :data:`CHECKS`, or the
        shear check of a view without its own PSF and pixels."""
        checks = self.checks
        if not isinstance(checks, (list, tuple)) or not set(checks) <= set(CHECKS):
            raise InputError(f"{where}: checks must be a list of {', '.join(CHECKS)}, got "
                             f"{checks!r}")
        object.__setattr__(self, "checks", tuple(checks))  # a YAML list, kept as a tuple
        if "shear" in checks and "dataset" in (self.pixel_scale, self.psf):
            raise InputError(f"{where}: the shear check draws through a view's own PSF and "
                             f"pixels, not the dataset's: drop shear from its checks")

    def scale(self, dataset_scale):
        """Arcsec per pixel of the view, given the dataset's."""
        return float(dataset_scale if self.pixel_scale == "dataset" else self.pixel_scale)

    def psf_profile(self):
        """The view's PSF convolved with its pixel (draw with ``method='no_pixel'``)."""
        import copy

        import galsim
        import galsim.config

        # (GalSim's config builder writes into the dicts it reads: give it a copy)
        psf, _ = galsim.config.BuildGSObject({"psf": copy.deepcopy(self.psf)}, "psf")
        return galsim.Convolve(psf, galsim.Pixel(float(self.pixel_scale)))

    def noise_sigma(self, psf_image):
        """White-noise pixel sigma of a depth (dataset flux units), given the PSF image."""
        from .....data.format import flux_from_mag

        flux = float(flux_from_mag(self.noise["mag"])) / float(self.noise["nsigma"])
        if "aperture_diameter" in self.noise:
            n_pixels = math.pi * (0.5 * self.noise["aperture_diameter"] / self.pixel_scale) ** 2
            return flux / math.sqrt(n_pixels)
        p = np.asarray(psf_image, np.float64)
        p = p / p.sum()
        return flux * math.sqrt(float(np.sum(p ** 2)))


def load_views(path=None, names=None):
    """Survey views from a YAML file (default: the shipped ones).

    Parameters
    ----------
    path : str or Path, optional
        A YAML file with a ``views`` mapping (see the module doc).
    names : sequence of str or str, optional
        The views to keep, in this order (comma-separated string works); default all.

    Returns
    -------
    dict
        name -> :class:`SurveyView` (the shipped ones: those of :data:`SURVEY_VIEWS`).
    """
    if path is None:
        views, path = dict(SURVEY_VIEWS.items()), VIEWS_FILE
    else:
        path = Path(path)
        views = _parse(path)
    if names is None:
        return views
    return {n: views[n] for n in chosen_names(names, views, f"survey view of {path.name}")}


def _parse(path):
    """The :class:`SurveyView` of each entry of a survey views file, in its order."""
    data = _read(path)
    if not isinstance(data, dict) or not isinstance(data.get("views"), dict) or \
            not data["views"]:
        raise InputError(f"survey views file {path} needs a non-empty 'views' mapping of "
                         f"name -> {{title, pixel_scale, psf, noise}}")
    views = {}
    for name, spec in data["views"].items():
        if not isinstance(spec, dict) or set(spec) - _KEYS or \
                not {"pixel_scale", "psf", "noise"} <= set(spec):
            raise InputError(f"survey view {name!r} in {path} must have pixel_scale, psf and "
                             f"noise (and optionally title and checks), got {spec!r}")
        views[str(name)] = SurveyView(name=str(name), title=str(spec.get("title", name)),
                                      pixel_scale=spec["pixel_scale"], psf=spec["psf"],
                                      noise=spec["noise"],
                                      checks=spec.get("checks", DEFAULT_CHECKS))
    return views


def view_registry(path=None):
    """The survey views of a YAML file as a :class:`~galsim_deep.core.registry.Registry`,
    the file read at the registry's first use.

    Parameters
    ----------
    path : str or Path, optional
        A survey views file (default: the shipped one, :data:`VIEWS_FILE`).

    Returns
    -------
    galsim_deep.core.registry.Registry
        name -> :class:`SurveyView`, in the file's order.
    """
    path = VIEWS_FILE if path is None else Path(path)
    return Registry("survey view", load=lambda: _parse(path))


#: The shipped survey views (:data:`VIEWS_FILE`): name -> :class:`SurveyView`, the file read
#: when the registry is first used.  Every list of view names is derived from it
#: (:func:`check_views`).
SURVEY_VIEWS = view_registry()


def _read(path):
    """The parsed YAML of a survey views file, with clear errors."""
    import yaml

    if not path.is_file():
        raise MissingInputError(f"survey views file {path} does not exist; give a YAML file "
                                f"with a 'views' mapping (see {VIEWS_FILE.name} in "
                                f"galsim_deep/tools/validation)")
    with open(path) as f:
        try:
            return yaml.safe_load(f)
        except yaml.YAMLError as e:
            raise InputError(f"survey views file {path} is not valid YAML: {e}") from None


#: The shear measure's own view, not a survey view of the file: a round Gaussian PSF of FWHM
#: 0.1" at the galaxies' own pixels (``measures/shear/compute.py``, ``LAB_PSF``); the shear
#: check lists it before the views that join it.
LAB_PSF_NAME = "gaussian-0.1"


def check_views(check, path=None):
    """The views a check observes through, in the file's order: those whose ``checks``
    name it (the shear check: :data:`LAB_PSF_NAME` first).

    Parameters
    ----------
    check : str
        A name of :data:`CHECKS`: ``release``, ``samples``, ``shear`` or
        ``observed-shapes``.
    path : str or Path, optional
        A survey views file (default: the shipped one, :data:`SURVEY_VIEWS`).

    Returns
    -------
    tuple of str

    Raises
    ------
    InputError
        For an unknown check, or one that no view of the file joins.

    Examples
    --------
    >>> check_views("samples")
    ('hst-cosmos', 'hst-noiseless')
    """
    if check not in CHECKS:
        raise InputError(f"unknown check {check!r} of the survey views; choose one of "
                         f"{', '.join(CHECKS)}")
    views = SURVEY_VIEWS if path is None else view_registry(path)
    names = tuple(name for name, view in views.items() if check in view.checks)
    if not names:
        where = VIEWS_FILE if path is None else path
        raise InputError(f"no survey view of {where} joins the check {check!r}; add it to a "
                         f"view's 'checks: [...]'")
    return ((LAB_PSF_NAME,) if check == "shear" else ()) + names


def observed_shapes_view(path=None):
    """The one view of the ``observed-shapes`` check (the shipped file's: HST at COSMOS
    depth, the training stamps' own), where the release table compares shapes like for
    like.

    Raises
    ------
    InputError
        Where the file gives that check more than one view.
    """
    names = check_views("observed-shapes", path)
    if len(names) != 1:
        raise InputError(f"the observed-shapes check has one view, got {list(names)}: keep it "
                         f"in one view's checks")
    return names[0]


def view_stamp_size(view, stamp_size, dataset_scale):
    """Pixels of a view's stamp covering the dataset stamp's field (even, at least 8)."""
    scale = view.scale(dataset_scale)
    size = int(math.ceil(stamp_size * dataset_scale / scale - 1e-9))
    return max(8, size + size % 2)


def observe_in_view(view, profiles, samples, seed, stream, progress=False, desc="observing"):
    """Observe unconvolved profiles of the report's galaxies through a view.

    Parameters
    ----------
    view : SurveyView
    profiles : list of galsim.GSObject or None
        One unconvolved profile per galaxy of ``samples`` (None: not drawable).
    samples : galsim_deep.tools.validation.samples.ValidationSamples
        The report's galaxies (their PSFs and noise for ``dataset`` views).
    seed : int
        The report's seed.
    stream : int
        Noise stream of this sample: galaxy of example index ``j`` gets the
        noise of ``numpy.random.default_rng([seed, j, stream])``.
    progress : bool
    desc : str

    Returns
    -------
    stamps : ndarray [N, S, S]
        Flux per pixel; NaN rows where a profile could not be drawn.
    psfs : ndarray [N, S, S]
        The effective PSF image of each stamp.
    noise_variance : ndarray [N]
        Pixel noise variance (for a noiseless view, the dataset's: it sets
        the classifier's stretch only).
    """
    from tqdm.auto import tqdm

    from ...observe import observe, psf_profile

    scale = view.scale(samples.pixel_scale)
    size = view_stamp_size(view, samples.stamp_size, samples.pixel_scale)
    n = len(profiles)
    stamps = np.full((n, size, size), np.nan)
    dataset_psf = view.psf == "dataset"
    if dataset_psf:
        psfs = np.asarray(samples.psfs, np.float64)
    else:
        psf = view.psf_profile()
        image = psf.drawImage(nx=size, ny=size, scale=scale, method="no_pixel").array
        psfs = np.broadcast_to(image, (n, size, size))
    if isinstance(view.noise, dict):
        sigma = view.noise_sigma(psfs[0])
        variance = np.full(n, sigma ** 2)
    else:
        variance = np.asarray(samples.noise_variance, np.float64)
    for k in tqdm(range(n), desc=desc, disable=not progress, unit="gal"):
        if profiles[k] is None:
            continue
        psf_k = psf_profile(psfs[k], scale) if dataset_psf else psf
        noise_seed = [int(seed), int(samples.index[k]), int(stream)]
        if view.noise == "dataset":
            noise = samples.noise_power[k]
        else:
            noise = 0.0 if view.noise == "none" else variance[k]
        stamps[k] = observe(profiles[k], psf_k, size, scale, noise, noise_seed)
    return stamps, np.ascontiguousarray(psfs), variance
