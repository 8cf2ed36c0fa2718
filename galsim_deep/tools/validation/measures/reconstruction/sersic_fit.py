"""Sérsic and bulge+disk fits to observed stamps through their PSFs: the parametric baselines.

A generative model's reconstruction of a galaxy starts from the noisy,
PSF-convolved stamp; so does the parametric description a survey catalog
gives (the COSMOS catalog's Sérsic fits).  :func:`fit_sersic` makes that
description for a stamp with the same forward model the networks train
through (:mod:`galsim_deep.physics.forward_model`): a Sérsic profile sampled at
pixel centres (the convention of the datasets' ``truth`` field), convolved
with the stamp's effective PSF by zero-padded FFT, compared with the stamp
under Gaussian pixel noise of the stamp's variance.  The unconvolved fitted
profile can then be compared with the truth of a mock galaxy exactly like a
network's reconstruction.

Parameters of the fit (:class:`SersicFit`): flux (the amplitude, solved
linearly at each step), centre ``x0, y0`` (pixels, 0-based, relative to
pixel ``(S//2, S//2)``), half-light radius (arcsec, of the circular profile
before the shear), Sérsic index ``n`` (GalSim's range 0.3-6.2) and reduced
shear ``g1, g2`` (``|g| < 0.9``), found by ``scipy.optimize.least_squares`` from
two starts (n = 1 and n = 4), the better kept.

:func:`fit_bulge_disk` fits the two-component model a bulge+disk catalog
gives (:class:`BulgeDiskFit`): a de Vaucouleurs bulge (n = 4) and an
exponential disk (n = 1) on a common centre, each with its own half-light
radius and shear, and their two fluxes solved linearly (non-negative) at
each step.  The mock-COSMOS galaxies are such two-component profiles (plus,
for four classes of six, knots, arms, tails or a companion), so this is the
fair parametric baseline on mock data, where a single Sérsic is not.

Both fits convolve with the PSF by the zero-padded FFT of
:func:`galsim_deep.physics.forward_model.convolve_psf` (the operator the networks
train through), computed in numpy with the PSF's transform computed once
per stamp (:class:`~galsim_deep.tools.validation.measures.reconstruction.psf_convolution.PSFConvolver`,
in :mod:`galsim_deep.tools.validation.measures.reconstruction.psf_convolution`).  The two
parametric baselines share their renderer and the parallel fitting driver.
"""
from dataclasses import dataclass

import numpy as np
from scipy import optimize
from .....core.errors import InputError
from .....physics.sersic import sersic_image
from .psf_convolution import PSFConvolver


__all__ = ["SersicFit", "BulgeDiskFit",
           "fit_sersic", "fit_sersics", "fit_bulge_disk", "fit_bulge_disks", "fit_parametric"]

_N_RANGE = (0.3, 6.2)

_G_MAX = 0.9


@dataclass
class SersicFit:
    """The best single-Sérsic description of one stamp.

    Attributes
    ----------
    flux : float
        Total flux of the untruncated profile (the stamp's flux units).
    x0, y0 : float
        Centre offset from pixel ``(S//2, S//2)``, pixels.
    half_light_radius : float
        arcsec (circular profile, before the shear).
    n : float
        Sérsic index.
    g1, g2 : float
        Reduced shear of the profile.
    reduced_chi2 : float
        Of the convolved model against the stamp, per pixel.
    image : ndarray [S, S]
        The unconvolved fitted profile, flux per pixel, sampled at pixel centres.
    """

    flux: float
    x0: float
    y0: float
    half_light_radius: float
    n: float
    g1: float
    g2: float
    reduced_chi2: float
    image: np.ndarray


def _single_threaded():
    """Limit BLAS to one thread: the fits' many small SVDs are several times slower when
    BLAS threads compete for a busy machine's cores (``docs/validation.rst``, "Running
    time")."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


@dataclass
class BulgeDiskFit:
    """The best de Vaucouleurs bulge + exponential disk description of one stamp.

    Attributes
    ----------
    flux_bulge, flux_disk : float
        Total fluxes of the two untruncated components (the stamp's flux units).
    x0, y0 : float
        Common centre's offset from pixel ``(S//2, S//2)``, pixels.
    hlr_bulge, hlr_disk : float
        Half-light radii, arcsec (circular profiles, before the shear).
    g1_bulge, g2_bulge, g1_disk, g2_disk : float
        Reduced shears of the components.
    reduced_chi2 : float
        Of the convolved model against the stamp, per pixel.
    image : ndarray [S, S]
        The unconvolved fitted profile, flux per pixel, sampled at pixel centres.
    """

    flux_bulge: float
    flux_disk: float
    x0: float
    y0: float
    hlr_bulge: float
    hlr_disk: float
    g1_bulge: float
    g2_bulge: float
    g1_disk: float
    g2_disk: float
    reduced_chi2: float
    image: np.ndarray

    @property
    def bulge_to_total(self):
        """Bulge flux over total flux (NaN for a zero total)."""
        total = self.flux_bulge + self.flux_disk
        return self.flux_bulge / total if total > 0 else float("nan")


def _half_light_radius_pixels(image):
    """Radius (pixels) around the light-weighted centre holding half the positive flux."""
    w = np.clip(image, 0, None)
    total = w.sum()
    if total <= 0:
        return 1.0
    y, x = np.indices(image.shape)
    cx, cy = (w * x).sum() / total, (w * y).sum() / total
    r = np.hypot(x - cx, y - cy).ravel()
    order = np.argsort(r)
    cumulative = np.cumsum(w.ravel()[order])
    return float(r[order][np.searchsorted(cumulative, 0.5 * total)]) + 0.5


def fit_sersic(stamp, psf, noise_variance, pixel_scale, max_nfev=400):
    """Fit a single Sérsic profile, convolved with the PSF, to an observed stamp.

    Parameters
    ----------
    stamp : array_like [S, S]
        Observed stamp, flux per pixel.
    psf : array_like [S, S]
        The stamp's effective PSF at the stamp's pixel scale, unit sum, centred
        on pixel ``(S//2, S//2)`` (the datasets' convention).
    noise_variance : float
        Pixel noise variance of the stamp, (flux per pixel)^2.
    pixel_scale : float
        arcsec per pixel.
    max_nfev : int
        Function evaluations per start.

    Returns
    -------
    SersicFit
    """
    with _single_threaded():
        return _fit_sersic(stamp, psf, noise_variance, pixel_scale, max_nfev)


def _fit_inputs(name, stamp, psf, noise_variance):
    """The stamp and PSF of a fit as float64 arrays, or an InputError naming the problem."""
    stamp = np.asarray(stamp, np.float64)
    psf = np.asarray(psf, np.float64)
    if stamp.ndim != 2 or stamp.shape[0] != stamp.shape[1] or psf.shape != stamp.shape:
        raise InputError(f"{name} needs a square stamp and a PSF of the same shape, got "
                         f"{stamp.shape} and {psf.shape}")
    if not np.isfinite(stamp).all() or not noise_variance > 0:
        raise InputError(f"{name} needs a finite stamp and a positive noise_variance")
    return stamp, psf


def _fit_sersic(stamp, psf, noise_variance, pixel_scale, max_nfev):
    stamp, psf = _fit_inputs("fit_sersic", stamp, psf, noise_variance)
    size = stamp.shape[0]
    sigma = np.sqrt(noise_variance)
    convolve = PSFConvolver(psf)

    def model(p):
        x0, y0, log_hlr, n, g1, g2 = p
        g = np.hypot(g1, g2)
        if g > _G_MAX:
            g1, g2 = g1 * _G_MAX / g, g2 * _G_MAX / g
        unit = sersic_image(size, pixel_scale, np.exp(log_hlr), n, g1, g2, x0, y0)
        convolved = convolve(unit)
        # The flux is linear: its least-squares value for this shape, kept positive.
        flux = max((convolved * stamp).sum() / max((convolved ** 2).sum(), 1e-300), 0.0)
        return flux, unit, convolved

    def residuals(p):
        flux, _, convolved = model(p)
        return ((flux * convolved - stamp) / sigma).ravel()

    # Start: the observed half-light radius with the PSF's removed in quadrature.
    r_obs = _half_light_radius_pixels(stamp)
    r_psf = _half_light_radius_pixels(psf)
    hlr0 = max(np.sqrt(max(r_obs ** 2 - r_psf ** 2, 0.25)), 0.5) * pixel_scale
    lower = [-size / 4, -size / 4, np.log(0.1 * pixel_scale), _N_RANGE[0], -_G_MAX, -_G_MAX]
    upper = [size / 4, size / 4, np.log(size * pixel_scale), _N_RANGE[1], _G_MAX, _G_MAX]
    hlr0 = float(np.clip(hlr0, 0.2 * pixel_scale, 0.5 * size * pixel_scale))
    best = None
    for n0 in (1.0, 4.0):
        result = optimize.least_squares(residuals, [0.0, 0.0, np.log(hlr0), n0, 0.0, 0.0],
                                        bounds=(lower, upper), x_scale=[1, 1, 0.3, 1, 0.2, 0.2],
                                        max_nfev=max_nfev, method="trf")
        if best is None or result.cost < best.cost:
            best = result
    x0, y0, log_hlr, n, g1, g2 = best.x
    g = np.hypot(g1, g2)
    if g > _G_MAX:
        g1, g2 = g1 * _G_MAX / g, g2 * _G_MAX / g
    flux, unit, _ = model(best.x)
    return SersicFit(flux=float(flux), x0=float(x0), y0=float(y0),
                     half_light_radius=float(np.exp(log_hlr)), n=float(n), g1=float(g1),
                     g2=float(g2), reduced_chi2=float(2 * best.cost / stamp.size),
                     image=flux * unit)


def _clip_shear(g1, g2):
    g = np.hypot(g1, g2)
    return (g1 * _G_MAX / g, g2 * _G_MAX / g) if g > _G_MAX else (g1, g2)


def _two_fluxes(a, b, stamp):
    """Non-negative least-squares amplitudes of two templates for a stamp."""
    aa, bb, ab = (a * a).sum(), (b * b).sum(), (a * b).sum()
    sa, sb = (a * stamp).sum(), (b * stamp).sum()
    det = aa * bb - ab * ab
    if det > 1e-12 * aa * bb:
        fa, fb = (sa * bb - sb * ab) / det, (sb * aa - sa * ab) / det
        if fa >= 0 and fb >= 0:
            return fa, fb
    # One component only: the better of the two (never negative).
    fa = max(sa / max(aa, 1e-300), 0.0)
    fb = max(sb / max(bb, 1e-300), 0.0)
    ra = ((fa * a - stamp) ** 2).sum()
    rb = ((fb * b - stamp) ** 2).sum()
    return (fa, 0.0) if ra <= rb else (0.0, fb)


def fit_bulge_disk(stamp, psf, noise_variance, pixel_scale, start=None, max_nfev=300):
    """Fit a de Vaucouleurs bulge + exponential disk, convolved with the PSF, to a stamp.

    The two components share a centre; each has its own half-light radius
    and shear; their fluxes are solved linearly (non-negative) for every
    shape, so the least-squares search is over 8 parameters (centre, two
    radii, two shears).  Two starts, a compact bulge in a larger disk and a
    large bulge with a compact disk, the better kept.

    Parameters
    ----------
    stamp : array_like [S, S]
        Observed stamp, flux per pixel.
    psf : array_like [S, S]
        The stamp's effective PSF, unit sum, centred on pixel ``(S//2, S//2)``.
    noise_variance : float
        Pixel noise variance, (flux per pixel)^2.
    pixel_scale : float
        arcsec per pixel.
    start : SersicFit, optional
        A single-Sérsic fit of the same stamp: its centre, radius and shear
        start both components (default: the observed half-light radius, round).
    max_nfev : int
        Function evaluations per start.

    Returns
    -------
    BulgeDiskFit
    """
    with _single_threaded():
        return _fit_bulge_disk(stamp, psf, noise_variance, pixel_scale, start, max_nfev)


def _fit_bulge_disk(stamp, psf, noise_variance, pixel_scale, start, max_nfev):
    stamp, psf = _fit_inputs("fit_bulge_disk", stamp, psf, noise_variance)
    size = stamp.shape[0]
    sigma = np.sqrt(noise_variance)
    convolve = PSFConvolver(psf)

    def components(p):
        x0, y0, lb, g1b, g2b, ld, g1d, g2d = p
        g1b, g2b = _clip_shear(g1b, g2b)
        g1d, g2d = _clip_shear(g1d, g2d)
        bulge = sersic_image(size, pixel_scale, np.exp(lb), 4.0, g1b, g2b, x0, y0)
        disk = sersic_image(size, pixel_scale, np.exp(ld), 1.0, g1d, g2d, x0, y0)
        return bulge, disk, convolve(np.stack([bulge, disk]))

    def residuals(p):
        _, _, (cb, cd) = components(p)
        fb, fd = _two_fluxes(cb, cd, stamp)
        return ((fb * cb + fd * cd - stamp) / sigma).ravel()

    if start is not None:
        x0, y0, hlr = start.x0, start.y0, start.half_light_radius
        g1, g2 = _clip_shear(start.g1, start.g2)
    else:
        r_obs = _half_light_radius_pixels(stamp)
        r_psf = _half_light_radius_pixels(psf)
        hlr = max(np.sqrt(max(r_obs ** 2 - r_psf ** 2, 0.25)), 0.5) * pixel_scale
        x0 = y0 = g1 = g2 = 0.0
    lo_r, hi_r = np.log(0.1 * pixel_scale), np.log(size * pixel_scale)
    lower = [-size / 4, -size / 4, lo_r, -_G_MAX, -_G_MAX, lo_r, -_G_MAX, -_G_MAX]
    upper = [size / 4, size / 4, hi_r, _G_MAX, _G_MAX, hi_r, _G_MAX, _G_MAX]
    x0, y0 = float(np.clip(x0, lower[0], upper[0])), float(np.clip(y0, lower[1], upper[1]))
    best = None
    for rb, rd in ((0.5, 1.3), (1.2, 0.6)):
        lb = float(np.clip(np.log(rb * hlr), lo_r + 1e-6, hi_r - 1e-6))
        ld = float(np.clip(np.log(rd * hlr), lo_r + 1e-6, hi_r - 1e-6))
        p0 = [x0, y0, lb, 0.8 * g1, 0.8 * g2, ld, g1, g2]
        result = optimize.least_squares(residuals, p0, bounds=(lower, upper),
                                        x_scale=[1, 1, 0.3, 0.2, 0.2, 0.3, 0.2, 0.2],
                                        max_nfev=max_nfev, method="trf")
        if best is None or result.cost < best.cost:
            best = result
    bulge, disk, (cb, cd) = components(best.x)
    fb, fd = _two_fluxes(cb, cd, stamp)
    x0, y0, lb, g1b, g2b, ld, g1d, g2d = best.x
    g1b, g2b = _clip_shear(g1b, g2b)
    g1d, g2d = _clip_shear(g1d, g2d)
    return BulgeDiskFit(flux_bulge=float(fb), flux_disk=float(fd), x0=float(x0), y0=float(y0),
                        hlr_bulge=float(np.exp(lb)), hlr_disk=float(np.exp(ld)),
                        g1_bulge=float(g1b), g2_bulge=float(g2b), g1_disk=float(g1d),
                        g2_disk=float(g2d), reduced_chi2=float(2 * best.cost / stamp.size),
                        image=fb * bulge + fd * disk)


def fit_bulge_disks(stamps, psfs, noise_variance, pixel_scale, starts=None, progress=False):
    """:func:`fit_bulge_disk` for each stamp of a batch.

    Parameters
    ----------
    stamps, psfs : array_like [N, S, S]
    noise_variance : array_like [N]
    pixel_scale : float
    starts : list of SersicFit, optional
        A Sérsic fit of each stamp to start from.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of BulgeDiskFit
    """
    from tqdm.auto import tqdm

    noise_variance = np.broadcast_to(np.asarray(noise_variance, np.float64), (len(stamps),))
    starts = [None] * len(stamps) if starts is None else starts
    return [fit_bulge_disk(s, p, v, pixel_scale, start=st)
            for s, p, v, st in tqdm(zip(stamps, psfs, noise_variance, starts),
                                    total=len(stamps), desc="bulge+disk fits", unit="galaxy",
                                    disable=not progress)]


def fit_sersics(stamps, psfs, noise_variance, pixel_scale, progress=False):
    """:func:`fit_sersic` for each stamp of a batch.

    Parameters
    ----------
    stamps, psfs : array_like [N, S, S]
        Observed stamps and their PSFs (see :func:`fit_sersic`).
    noise_variance : array_like [N]
        Pixel noise variance of each stamp.
    pixel_scale : float
        arcsec per pixel.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    list of SersicFit
    """
    from tqdm.auto import tqdm

    noise_variance = np.broadcast_to(np.asarray(noise_variance, np.float64), (len(stamps),))
    return [fit_sersic(s, p, v, pixel_scale)
            for s, p, v in tqdm(zip(stamps, psfs, noise_variance), total=len(stamps),
                                desc="Sérsic fits", unit="galaxy", disable=not progress)]


def _fit_chunk(task):
    """Worker: Sérsic and bulge+disk fits of a chunk of stamps."""
    stamps, psfs, variances, pixel_scale = task
    out = []
    for s, p, v in zip(stamps, psfs, variances):
        sersic = fit_sersic(s, p, v, pixel_scale)
        out.append((sersic, fit_bulge_disk(s, p, v, pixel_scale, start=sersic)))
    return out


def fit_parametric(stamps, psfs, noise_variance, pixel_scale, processes=1, chunk_size=8,
                   progress=False, pool=None):
    """Sérsic and bulge+disk fits of every stamp, in worker processes.

    Parameters
    ----------
    stamps, psfs : array_like [N, S, S]
    noise_variance : array_like [N]
    pixel_scale : float
    processes : int
        Worker processes (1: in this process).  Workers are started with
        ``spawn`` (see :func:`galsim_deep.core.parallel.worker_pool`).
    chunk_size : int
        Stamps per task.
    progress : bool
    pool : concurrent.futures.ProcessPoolExecutor, optional
        Workers to reuse.

    Returns
    -------
    sersic : list of SersicFit
    bulge_disk : list of BulgeDiskFit
    """
    from tqdm.auto import tqdm

    stamps = np.asarray(stamps, np.float64)
    psfs = np.asarray(psfs, np.float64)
    variances = np.broadcast_to(np.asarray(noise_variance, np.float64), (len(stamps),))
    tasks = [(stamps[i:i + chunk_size], psfs[i:i + chunk_size], variances[i:i + chunk_size],
              float(pixel_scale)) for i in range(0, len(stamps), int(chunk_size))]
    results = []
    with tqdm(total=len(stamps), desc="Sérsic and bulge+disk fits", unit="gal",
              disable=not progress) as bar:
        if pool is None and (int(processes) <= 1 or len(tasks) <= 1):
            for task in tasks:
                results += _fit_chunk(task)
                bar.update(len(task[0]))
        else:
            import contextlib

            from .....core.parallel import worker_pool

            with (contextlib.nullcontext(pool) if pool is not None
                  else worker_pool(min(int(processes), len(tasks)))) as workers:
                for part in workers.map(_fit_chunk, tasks):
                    results += part
                    bar.update(len(part))
    return [r[0] for r in results], [r[1] for r in results]
