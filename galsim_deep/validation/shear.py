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
measured by :mod:`~galsim_deep.validation.isotropy`).  REGAUSS is exact for
Gaussian galaxies (``m = 0``, tested) and biased by a few per cent for
galaxies with other profiles; what matters is whether the generated
galaxies give the same ``m`` as the real ones (on mock data the analytic
truths; :mod:`~galsim_deep.validation.mock_truth`) and their parametric
profiles.

Why REGAUSS and not metacalibration (ngmix)?  REGAUSS comes with GalSim,
which every user of this package has; its model bias depends on the galaxy
profile, which is precisely what is being tested, while metacalibration
removes most of that dependence by construction (and needs an extra package
and deconvolution with a PSF image): the HSM response difference between
generated and real galaxies is the more sensitive test of their profiles.
"""
import numpy as np

from ..errors import InputError
from ..reporting import format_number

__all__ = ["SHEAR", "ROTATIONS", "PSF_SHEAR", "shear_measurements", "shear_bias", "shear_response",
           "markdown_shear"]

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


def _regauss(image, psf_image):
    import galsim

    try:
        res = galsim.hsm.EstimateShear(image, psf_image, shear_est="REGAUSS", strict=False)
    except (galsim.GalSimError, RuntimeError, ValueError):
        return float("nan"), float("nan")
    if res.correction_status != 0:
        return float("nan"), float("nan")
    return float(res.corrected_e1), float(res.corrected_e2)


def _measure_chunk(task):
    """Worker: the distortions of a chunk of profiles (see :func:`shear_measurements`)."""
    import galsim

    profiles, stamp_size, pixel_scale, psf_fwhm, psf_shear, shear, rotations = task
    psf = galsim.Gaussian(fwhm=float(psf_fwhm))
    if psf_shear[0] or psf_shear[1]:
        psf = psf.shear(g1=psf_shear[0], g2=psf_shear[1])
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


def shear_measurements(profiles, stamp_size, pixel_scale, psf_fwhm=0.1, shear=SHEAR,
                       progress=False, desc="shear response", psf_shear=PSF_SHEAR,
                       rotations=ROTATIONS, pool=None, chunk_size=8):
    """REGAUSS distortions of each profile, in 4 rotations x 5 shears.

    Parameters
    ----------
    profiles : iterable of galsim.GSObject or None
        Unconvolved galaxies centred on the origin (None: NaN).
    stamp_size : int
        Pixels.
    pixel_scale : float
        arcsec per pixel.
    psf_fwhm : float
        Round Gaussian PSF, arcsec.
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

    profiles = list(profiles)
    tasks = [(profiles[i:i + chunk_size], int(stamp_size), float(pixel_scale), float(psf_fwhm),
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


def _bias(e, shear):
    """m1, c1, m2, c2, R of the galaxies in ``e`` ([N, R, 5, 2], finite where drawn)."""
    unsheared = e[:, 0, 0, :]
    resp = 1.0 - np.mean(np.sum(unsheared ** 2, axis=-1)) / 2.0
    out = {"R": resp}

    def to_shear(mean_e):
        # A galaxy's mean distortion over its rotations, corrected by the responsivity,
        # is the distortion of the applied shear, delta = 2 g / (1 + g^2): back to g.
        d = np.clip(mean_e / resp, -0.999, 0.999)
        return d / (1.0 + np.sqrt(1.0 - d * d))

    for comp, (plus, minus) in ((0, (1, 2)), (1, (3, 4))):
        gp = to_shear(e[:, :, plus, comp].mean(axis=1))   # mean over the rotations
        gm = to_shear(e[:, :, minus, comp].mean(axis=1))
        out[f"m{comp + 1}"] = float(np.mean(gp - gm) / (2 * shear) - 1.0)
        out[f"c{comp + 1}"] = float(np.mean(gp + gm) / 2.0)
    out["m"] = 0.5 * (out["m1"] + out["m2"])
    return out


def shear_bias(e, shear=SHEAR, n_boot=500, seed=0):
    """Multiplicative and additive shear bias from :func:`shear_measurements`.

    Parameters
    ----------
    e : ndarray [N, R, 5, 2]
        Distortions of N galaxies in R rotations; galaxies with a NaN where a
        value was drawn are left out.
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


def shear_response(profiles, stamp_size, pixel_scale, psf_fwhm=0.1, shear=SHEAR, n_boot=500,
                   seed=0, progress=False, desc="shear response", psf_shear=PSF_SHEAR,
                   rotations=ROTATIONS, pool=None):
    """:func:`shear_bias` of :func:`shear_measurements` of a list of profiles.

    Returns
    -------
    dict
        :func:`shear_bias`.
    """
    e = shear_measurements(profiles, stamp_size, pixel_scale, psf_fwhm, shear, progress, desc,
                           psf_shear, rotations, pool)
    return shear_bias(e, shear, n_boot, seed)


def _pm(value, error, scale=1.0, digits=3):
    if value is None:
        return "n/a"
    return f"{format_number(value * scale, digits)} ± {format_number(error * scale, 2)}"


def markdown_shear(section):
    """Markdown lines of the shear-response section of a report."""
    lines = ["## Shear response", "",
             f"Known shears ±{section['shear']} on each component, 90-degree-rotated pairs, "
             f"Gaussian PSF of FWHM {section['psf_fwhm']}\" with reduced shear "
             f"{tuple(section.get('psf_shear', ()))}, no noise, GalSim HSM REGAUSS, "
             f"{section['n']} galaxies; g_hat = (1 + m) g + c (bootstrap errors over galaxies). "
             f"REGAUSS is exact for Gaussians: what matters is the difference between generated "
             f"and real; c is the PSF anisotropy REGAUSS leaves.", "",
             "| sample | n | m [1e-3] | m1 [1e-3] | m2 [1e-3] | c1 [1e-4] | c2 [1e-4] | R |",
             "|---|---|---|---|---|---|---|---|"]
    for label, s in section["samples"].items():
        lines.append(f"| {label} | {s['n']} | {_pm(s['m'], s['m_error'], 1e3)} | "
                     f"{_pm(s['m1'], s['m1_error'], 1e3)} | "
                     f"{_pm(s['m2'], s['m2_error'], 1e3)} | {_pm(s['c1'], s['c1_error'], 1e4)} | "
                     f"{_pm(s['c2'], s['c2_error'], 1e4)} | {format_number(s['R'], 4)} |")
    diff = section.get("generated_minus_real")
    if diff:
        lines += ["", f"m of generated minus real: {_pm(diff['m'], diff['m_error'], 1e3)} "
                      f"x 1e-3 (errors added in quadrature)."]
    lines += ["", "m is the mean of m1 and m2: a 90-degree pair cancels the galaxies' shapes in "
              "their sum, not in each component, so m1 and m2 alone are noisier.", ""]
    return lines
