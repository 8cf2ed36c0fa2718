"""Shear response: the multiplicative and additive bias a shape measurement has on the galaxies.

A weak-lensing team calibrates its shear estimator on simulated galaxies;
the calibration is only as good as the galaxies are real.
:func:`shear_response` applies a known shear ``g = +-0.02`` along each
component to every galaxy, in **90-degree-rotated pairs** (the pair's
intrinsic shapes cancel to first order, so few galaxies give a precise
answer), convolves it with a Gaussian PSF of FWHM 0.1 arcsec and a small
anisotropy (reduced shear ``(0.03, 0.03)``, :data:`PSF_SHEAR`), draws it
without noise and measures it with GalSim's HSM **REGAUSS** (:func:`galsim.hsm.EstimateShear`,
Hirata & Seljak 2003): the PSF-corrected distortion ``e``.  Each galaxy's shear
estimate is its mean distortion over its rotations divided by the
responsivity ``R = 1 - <e_1^2 + e_2^2> / 2`` of the unsheared galaxies
(Bernstein & Jarvis 2002), converted from a distortion to a reduced shear
(``g = d / (1 + sqrt(1 - d^2))``, about ``d / 2``), and per component

    ``g_hat = (1 + m) g + c``:  ``m = <g_hat(+g) - g_hat(-g)> / (2 g) - 1``,
    ``c = <g_hat(+g) + g_hat(-g)> / 2``,

averaged over galaxies, with bootstrap errors over galaxies (``R``
recomputed in each resample).  ``c`` is the leakage of the PSF's anisotropy
that REGAUSS's correction leaves, which depends on the galaxies' profiles (a
rotated pair cancels the galaxies' own orientations; their isotropy is
measured by :mod:`~galsim_deep.tools.validation.measures.isotropy.compute`).  REGAUSS is exact for
Gaussian galaxies (``m = 0``, tested) and biased by a few per cent for
galaxies with other profiles; what matters is whether the generated
galaxies give the same ``m`` as the real ones (on mock data the analytic
truths; :mod:`~galsim_deep.tools.validation.mock_truth`) and their parametric
profiles.

Why REGAUSS and not metacalibration (ngmix)?  REGAUSS comes with GalSim,
which every user of this package has; its model bias depends on the galaxy
profile, which is precisely what is being tested, while metacalibration
removes most of that dependence by construction (and needs an extra package
and deconvolution with a PSF image): the HSM response difference between
generated and real galaxies is the more sensitive test of their profiles.

Survey PSFs.  ``psf=`` names a view of :data:`SHEAR_PSFS` (or passes a
:class:`ShearPSF`): the PSF's profile, and the pixel scale and stamp the galaxies are
drawn at.  Besides the default, each is a survey view of ``survey_views.yaml`` with its
own PSF and pixels, the one definition of each survey that every measure uses: e.g.
``"euclid-vis"`` (Airy and Gaussian, 0.16" FWHM, at 0.1"/pixel) or ``"lsst-10yr-i"``
(Kolmogorov 0.71" at 0.2"/pixel); a new survey view is a new shear view.  Every view keeps
the anisotropy :data:`PSF_SHEAR` and draws without the pixel response, the
galaxies and the PSF image alike.  The default ``"gaussian-0.1"`` is the
measure above, unchanged.  REGAUSS is exact for Gaussians only where galaxy
and PSF are well sampled: a 0.16" PSF at 0.1"/pixel (1.6 pixels per FWHM),
like 0.1" at 0.06"/pixel, is not, and galaxies of a pixel or two get an
aliasing bias, in both samples.  :func:`shear_bias_difference` gives ``m``
and ``c`` of one sample minus another's (generated minus truth), with the
bootstrap errors of the two independent samples added in quadrature.
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from .....core.errors import InputError, InputTypeError
from .....core.registry import Registry
from ..survey_views.views import LAB_PSF_NAME

__all__ = ["SHEAR", "ROTATIONS", "PSF_SHEAR", "ShearPSF", "LAB_PSF", "SHEAR_PSFS",
           "SURVEY_PSF_NAMES", "survey_psf_names", "shear_psf", "valid_distortions",
           "shear_measurements", "shear_bias", "shear_bias_difference", "shear_response"]


#: The applied shear, each component, both signs.
SHEAR = 0.02

#: Rotations (degrees) of each galaxy: a pair 90 degrees apart (its intrinsic shapes
#: cancel to first order).  ``(0, 90, 45, 135)`` adds a second pair, which makes each
#: galaxy's response the same for both components (m1 and m2 each as precise as m).
ROTATIONS = (0.0, 90.0)

#: Reduced shear of the PSF: a small anisotropy, whose leakage into the galaxies'
#: shapes after REGAUSS's correction is the additive bias c.
PSF_SHEAR = (0.03, 0.03)

# Columns of the measurement array: unsheared, +g1, -g1, +g2, -g2.
_CONFIGS = ((0.0, 0.0), (1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0))

@dataclass(frozen=True)
class ShearPSF:
    """A view the galaxies' shear response is measured through: a PSF and its pixels.

    Parameters
    ----------
    name : str
    psf : dict
        GalSim config of the PSF (before the anisotropy :data:`PSF_SHEAR`), as a survey
        view's (``{type: Kolmogorov, fwhm: 0.71}``).
    pixel_scale : float or None
        arcsec per pixel of the images measured; None: the galaxies' own.
    stamp_size : int or None
        Pixels of a side of the images measured; None: the galaxies' own stamp
        where ``pixel_scale`` is None, otherwise the galaxies' field of view
        (their stamp size times their pixel scale, arcsec) grown by 4 FWHM of
        the PSF (2 on each side, where the PSF spreads the galaxy's outskirts),
        in pixels of ``pixel_scale``, rounded up to an even number: 64 pixels of
        0.06" (3.84") give 34 at 0.2" through a 0.71" PSF (6.68").
    description : str
        One line, for reports.
    """

    name: str
    psf: dict
    pixel_scale: Optional[float] = None
    stamp_size: Optional[int] = None
    description: str = ""

    def __post_init__(self):
        if not (isinstance(self.psf, dict) and "type" in self.psf):
            raise InputError(f"ShearPSF {self.name!r}: psf must be a GalSim config dict with "
                             f"a 'type' (e.g. {{type: Kolmogorov, fwhm: 0.7}}), got "
                             f"{self.psf!r}")
        if self.pixel_scale is not None and not (np.isfinite(self.pixel_scale)
                                                 and self.pixel_scale > 0):
            raise InputError(f"ShearPSF {self.name!r}: pixel_scale must be > 0 arcsec or None, "
                             f"got {self.pixel_scale}")
        if self.stamp_size is not None and int(self.stamp_size) < 8:
            raise InputError(f"ShearPSF {self.name!r}: stamp_size must be >= 8 pixels or None, "
                             f"got {self.stamp_size}")

    @classmethod
    def from_view(cls, view):
        """The shear view of a survey view (its PSF and pixels; the shear measure adds no
        noise).

        Parameters
        ----------
        view : galsim_deep.tools.validation.measures.survey_views.views.SurveyView
            A view with its own pixel scale and PSF (not the dataset's).
        """
        if "dataset" in (view.pixel_scale, view.psf):
            raise InputError(f"survey view {view.name!r} observes through the dataset's own "
                             f"PSFs and pixels, which the shear measure does not draw; use a "
                             f"view with its own psf and pixel_scale")
        return cls(view.name, dict(view.psf), float(view.pixel_scale), None, view.title)

    @property
    def fwhm(self):
        """FWHM of the PSF (without the anisotropy), arcsec."""
        psf = self.profile((0.0, 0.0))
        fwhm = getattr(psf, "fwhm", None)
        return float(fwhm if fwhm is not None else psf.calculateFWHM())

    def view(self, stamp_size, pixel_scale):
        """Stamp size (pixels) and pixel scale (arcsec) of galaxies of ``stamp_size`` pixels of
        ``pixel_scale`` arcsec seen through this PSF (see the class's ``stamp_size``)."""
        if self.pixel_scale is None:
            return int(self.stamp_size or stamp_size), float(pixel_scale)
        scale = float(self.pixel_scale)
        if self.stamp_size is not None:
            return int(self.stamp_size), scale
        side = int(np.ceil((int(stamp_size) * float(pixel_scale) + 4.0 * self.fwhm) / scale - 1e-9))
        return side + side % 2, scale

    def profile(self, psf_shear=PSF_SHEAR):
        """The PSF as a galsim.GSObject, with the reduced shear ``psf_shear`` (its anisotropy)."""
        import copy

        import galsim.config

        # (GalSim's config builder writes into the dicts it reads: give it a copy)
        psf, _ = galsim.config.BuildGSObject({"psf": copy.deepcopy(self.psf)}, "psf")
        if psf_shear[0] or psf_shear[1]:
            psf = psf.shear(g1=psf_shear[0], g2=psf_shear[1])
        return psf


#: The default view: a round Gaussian PSF of FWHM 0.1" at the galaxies' own pixels.
LAB_PSF = ShearPSF(LAB_PSF_NAME, {"type": "Gaussian", "fwhm": 0.1}, None, None,
                   "Gaussian PSF of FWHM 0.1\" at the galaxies' own pixels (the default)")


def _survey_psfs():
    """The shear views of the shipped survey views that have their own PSF and pixels."""
    from ..survey_views.views import SURVEY_VIEWS

    return {name: ShearPSF.from_view(view) for name, view in SURVEY_VIEWS.items()
            if "dataset" not in (view.pixel_scale, view.psf)}


#: Named views of :func:`shear_measurements`: name -> :class:`ShearPSF`; besides
#: :data:`LAB_PSF`, one per shipped survey view with its own PSF and pixels
#: (``survey_views.yaml``, the one definition of each survey: the registry
#: :data:`~galsim_deep.tools.validation.measures.survey_views.views.SURVEY_VIEWS`, read
#: when this one is first used).
SHEAR_PSFS = Registry("shear PSF", {LAB_PSF.name: LAB_PSF}, load=_survey_psfs)


def survey_psf_names():
    """The names of :data:`SHEAR_PSFS` that are survey views (their own PSF and pixels), in
    the views' order; the module's ``SURVEY_PSF_NAMES``, derived when it is read."""
    return tuple(name for name, spec in SHEAR_PSFS.items() if spec.pixel_scale is not None)


def __getattr__(name):
    # SURVEY_PSF_NAMES: derived from the registries when read, so that importing the module
    # reads no YAML file and the names follow the survey views file.
    if name == "SURVEY_PSF_NAMES":
        return survey_psf_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def shear_psf(psf=None, psf_fwhm=None):
    """The :class:`ShearPSF` of ``psf`` (a name of :data:`SHEAR_PSFS` or a ShearPSF).

    ``psf_fwhm`` (arcsec) with no ``psf`` is a Gaussian of that FWHM at the galaxies' own
    pixels (the measure's original argument); neither is ``"gaussian-0.1"``.
    """
    if psf is None:
        if psf_fwhm is None:
            return LAB_PSF
        return ShearPSF(f"gaussian-{float(psf_fwhm):g}",
                        {"type": "Gaussian", "fwhm": float(psf_fwhm)}, None, None,
                        f"Gaussian PSF of FWHM {float(psf_fwhm):g}\" at the galaxies' own pixels")
    if psf_fwhm is not None:
        raise InputError("give psf (a survey PSF) or psf_fwhm (a Gaussian at the galaxies' "
                         "pixels), not both")
    if isinstance(psf, ShearPSF):
        return psf
    if not isinstance(psf, str):
        raise InputTypeError(f"psf must be a name of SHEAR_PSFS or a ShearPSF, got {type(psf)}")
    if psf not in SHEAR_PSFS:
        raise InputError(f"unknown shear PSF {psf!r}; known: {', '.join(sorted(SHEAR_PSFS))}")
    return SHEAR_PSFS[psf]


def valid_distortions(e):
    """``e`` (``[..., 2]``) with every distortion of 1 or more set to NaN: a failure
    (:func:`_regauss`), also in distortions kept from before the rule."""
    e = np.array(e, np.float64)
    e[~(np.hypot(e[..., 0], e[..., 1]) < 1.0)] = np.nan
    return e


def _regauss(image, psf_image):
    """REGAUSS's PSF-corrected distortion of one noiseless image, NaN where it fails.

    A distortion ``|e| >= 1`` is no shape (``(a^2 - b^2) / (a^2 + b^2) < 1``): REGAUSS
    returns one with status 0 when its adaptive weight locks onto a core the PSF's size
    (resolution factor near 0) and the correction divides by it, and one such galaxy
    (``|e| = 11``) moved a sample's ``m`` by 0.026 (``docs/flow_vae_notes.rst``, "Which galaxies
    decide the shear error").  It counts as a failure."""
    import galsim

    try:
        res = galsim.hsm.EstimateShear(image, psf_image, shear_est="REGAUSS", strict=False)
    except (galsim.GalSimError, RuntimeError, ValueError):
        return float("nan"), float("nan")
    e1, e2 = float(res.corrected_e1), float(res.corrected_e2)
    if res.correction_status != 0 or not np.hypot(e1, e2) < 1.0:
        return float("nan"), float("nan")
    return e1, e2


def _measure_chunk(task):
    """Worker: the distortions of a chunk of profiles (see :func:`shear_measurements`)."""
    import galsim

    profiles, stamp_size, pixel_scale, psf_spec, psf_shear, shear, rotations = task
    psf = psf_spec.profile(psf_shear)
    psf_image = psf.drawImage(nx=stamp_size, ny=stamp_size, scale=pixel_scale,
                              method="no_pixel")
    out = np.full((len(profiles), len(rotations), len(_CONFIGS), 2), np.nan)
    for i, prof in enumerate(profiles):
        if prof is None:
            continue
        for r, angle in enumerate(rotations):
            rotated = prof.rotate(angle * galsim.degrees) if angle else prof
            for k, (s1, s2) in enumerate(_CONFIGS):
                if k == 0 and r > 0:
                    continue
                gal = rotated.shear(g1=s1 * shear, g2=s2 * shear) if (s1 or s2) else rotated
                try:
                    image = galsim.Convolve(gal, psf).drawImage(
                        nx=stamp_size, ny=stamp_size, scale=pixel_scale, method="no_pixel")
                except (galsim.GalSimError, MemoryError, RuntimeError, ValueError):
                    continue
                out[i, r, k] = _regauss(image, psf_image)
    return out


def shear_measurements(profiles, stamp_size, pixel_scale, psf_fwhm=None, shear=SHEAR,
                       progress=False, desc="shear response", psf_shear=PSF_SHEAR,
                       rotations=ROTATIONS, pool=None, chunk_size=8, psf=None):
    """REGAUSS distortions of each profile, in R rotations x 5 shears, through a PSF.

    Parameters
    ----------
    profiles : iterable of galsim.GSObject or None
        Unconvolved galaxies centred on the origin (None: NaN).
    stamp_size : int
        Pixels of the galaxies' stamps.
    pixel_scale : float
        arcsec per pixel of the galaxies' stamps.  With them the PSF's
        :meth:`ShearPSF.view` sets the images measured.
    psf_fwhm : float, optional
        With no ``psf``: a Gaussian PSF of this FWHM (arcsec) at the galaxies'
        pixels (with ``psf``: an error).
    shear : float
        Magnitude of the applied reduced shear.
    progress : bool
    desc : str
    psf_shear : (float, float)
        Reduced shear of the PSF: its anisotropy, whose leakage into the
        galaxies' shapes is the additive bias ``c``.
    rotations : sequence of float
        Rotations (degrees) of each galaxy.
    pool : concurrent.futures.Executor, optional
        Worker processes to draw and measure in.
    chunk_size : int
        Profiles per task.
    psf : str or ShearPSF, optional
        A name of :data:`SHEAR_PSFS` or a :class:`ShearPSF`; neither this nor
        ``psf_fwhm``: ``"gaussian-0.1"``.

    Returns
    -------
    ndarray [N, R, 5, 2]
        ``e[i, rotation, config, component]``: rotations ``rotations``
        (the unsheared config is drawn at the first rotation only, the others
        are NaN there: the responsivity needs ``|e|^2``, which a rotation does
        not change); configs unsheared, ``+g1``, ``-g1``, ``+g2``, ``-g2``; the
        corrected distortion's two components.  NaN where REGAUSS fails.
    """
    from tqdm.auto import tqdm

    spec = shear_psf(psf, psf_fwhm)
    size, scale = spec.view(stamp_size, pixel_scale)
    profiles = list(profiles)
    tasks = [(profiles[i:i + chunk_size], size, scale, spec,
              tuple(float(v) for v in psf_shear), float(shear), tuple(rotations))
             for i in range(0, len(profiles), int(chunk_size))]
    parts = []
    with tqdm(total=len(profiles), desc=desc, unit="gal", disable=not progress) as bar:
        for part in (map(_measure_chunk, tasks) if pool is None
                     else pool.map(_measure_chunk, tasks)):
            parts.append(part)
            bar.update(len(part))
    if not parts:
        return np.zeros((0, len(rotations), len(_CONFIGS), 2))
    return np.concatenate(parts)


def _galaxy_shears(e, shear):
    """Each galaxy's shear estimates ``g(+g)``, ``g(-g)`` per component ``[2, N]`` each,
    and the sample's responsivity ``R``, from ``e`` ([N, R, 5, 2], finite where drawn)."""
    unsheared = e[:, 0, 0, :]
    resp = 1.0 - np.mean(np.sum(unsheared ** 2, axis=-1)) / 2.0

    def to_shear(mean_e):
        # A galaxy's mean distortion over its rotations, corrected by the responsivity,
        # is the distortion of the applied shear, delta = 2 g / (1 + g^2): back to g.
        d = np.clip(mean_e / resp, -0.999, 0.999)
        return d / (1.0 + np.sqrt(1.0 - d * d))

    plus = np.stack([to_shear(e[:, :, p, c].mean(axis=1)) for c, p in ((0, 1), (1, 3))])
    minus = np.stack([to_shear(e[:, :, m, c].mean(axis=1)) for c, m in ((0, 2), (1, 4))])
    return plus, minus, resp


def _bias(e, shear):
    """m1, c1, m2, c2, R of the galaxies in ``e`` ([N, R, 5, 2], finite where drawn)."""
    plus, minus, resp = _galaxy_shears(e, shear)
    out = {"R": resp}
    for comp in (0, 1):
        out[f"m{comp + 1}"] = float(np.mean(plus[comp] - minus[comp]) / (2 * shear) - 1.0)
        out[f"c{comp + 1}"] = float(np.mean(plus[comp] + minus[comp]) / 2.0)
    out["m"] = 0.5 * (out["m1"] + out["m2"])
    return out


def shear_bias(e, shear=SHEAR, n_boot=500, seed=0):
    """Multiplicative and additive shear bias from :func:`shear_measurements`.

    Parameters
    ----------
    e : ndarray [N, R, 5, 2]
        Distortions of N galaxies in R rotations; galaxies with a NaN or a distortion of
        1 or more (:func:`valid_distortions`) where a value was drawn are left out.
    shear : float
        The applied shear.
    n_boot : int
        Bootstrap resamples over galaxies for the errors.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    dict
        ``m1, m2, m`` (their mean), ``c1, c2``, each with ``<name>_error``;
        ``R`` (responsivity), ``n`` (galaxies used), ``failed`` (fraction
        left out).
    """
    e = np.asarray(e, np.float64)
    if e.ndim != 4 or e.shape[2:] != (len(_CONFIGS), 2) or e.shape[1] < 1:
        raise InputError(f"e must be [N, rotations, {len(_CONFIGS)}, 2] (shear_measurements), "
                         f"got {e.shape}")
    e = valid_distortions(e)
    ok = np.isfinite(e[:, 0, 0]).all(axis=-1) & np.isfinite(e[:, :, 1:]).all(axis=(1, 2, 3))
    n_all = len(e)
    e = e[ok]
    keys = ("m1", "m2", "m", "c1", "c2")
    if len(e) < 3:
        out = {k: None for k in keys + tuple(f"{k}_error" for k in keys)}
        out.update(R=None, n=int(len(e)), failed=float(1 - ok.mean()) if n_all else None)
        return out
    out = _bias(e, shear)
    rng = np.random.default_rng([int(seed), 0x5E])
    boots = [_bias(e[rng.integers(0, len(e), len(e))], shear) for _ in range(int(n_boot))]
    for k in keys:
        out[f"{k}_error"] = float(np.std([b[k] for b in boots], ddof=1))
    out.update(n=int(len(e)), failed=float(1 - ok.mean()))
    return out


def shear_bias_difference(e_a, e_b, shear=SHEAR, n_boot=500, seed=0):
    """Shear bias of sample ``a`` minus sample ``b`` (e.g. generated minus truth).

    The samples are independent (not the same galaxies): each is bootstrapped
    on its own by :func:`shear_bias` (``R`` recomputed in each resample, the
    same ``seed`` for both) and the errors are added in quadrature.

    Parameters
    ----------
    e_a, e_b : ndarray [N, R, 5, 2]
        :func:`shear_measurements` of each sample (through the same PSF).
    shear, n_boot, seed
        See :func:`shear_bias`.

    Returns
    -------
    dict
        ``dm1, dm2, dm`` (their mean), ``dc1, dc2``, each ``(value, error)``
        (``(None, None)`` where a sample has fewer than 3 galaxies); ``n_a``,
        ``n_b`` (galaxies used); ``a``, ``b``: the samples' :func:`shear_bias`.
    """
    a, b = (shear_bias(e, shear, n_boot, seed) for e in (e_a, e_b))
    out = {}
    for k in ("m1", "m2", "m", "c1", "c2"):
        if a[k] is None or b[k] is None:
            out[f"d{k}"] = (None, None)
        else:
            out[f"d{k}"] = (a[k] - b[k], float(np.hypot(a[f"{k}_error"], b[f"{k}_error"])))
    out.update(n_a=a["n"], n_b=b["n"], a=a, b=b)
    return out


def shear_response(profiles, stamp_size, pixel_scale, psf_fwhm=None, shear=SHEAR, n_boot=500,
                   seed=0, progress=False, desc="shear response", psf_shear=PSF_SHEAR,
                   rotations=ROTATIONS, pool=None, psf=None):
    """:func:`shear_bias` of :func:`shear_measurements` of a list of profiles.

    ``psf`` and ``psf_fwhm``: see :func:`shear_measurements`.

    Returns
    -------
    dict
        :func:`shear_bias`.
    """
    e = shear_measurements(profiles, stamp_size, pixel_scale, psf_fwhm, shear, progress, desc,
                           psf_shear, rotations, pool, psf=psf)
    return shear_bias(e, shear, n_boot, seed)
