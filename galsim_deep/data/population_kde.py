"""The mock-COSMOS galaxy population: a smoothed copy of the real catalog.

The population is a Gaussian kernel density estimate (KDE) of the galaxies
of the real COSMOS example sample that pass GalSim's
``exclusion_level='marginal'`` cut (96 of 100), in seven variables:

=====================  ==============================================================
``mag_auto``           F814W MAG_AUTO (AB)
``log10_flux_radius``  log10 of FLUX_RADIUS in pixels of 0.03 arcsec
``zphot``              photometric redshift
``log10_hlr``          log10 of the single-Sersic fit's half-light radius (arcsec)
``log10_n``            log10 of the single-Sersic index
``q``                  axis ratio of the single-Sersic fit
``bulge_to_total``     B/T of the de Vaucouleurs + exponential fit
=====================  ==============================================================

Each galaxy is a kernel centred on its (weighted, catalog ``WEIGHT``) data
point, with covariance ``h^2`` times the sample covariance, where ``h`` is
Scott's factor ``m^(-1/(d+4))`` for ``m`` galaxies in ``d = 7`` dimensions.
To keep the population's means and covariance equal to the catalog's (a plain
KDE inflates the variance by ``1 + h^2``), the kernel centres are shrunk
towards the mean by ``1/sqrt(1 + h^2)`` and the kernel covariance is divided
by ``1 + h^2`` (the variance-corrected smoothed bootstrap of Silverman 1986,
section 6.4.1).  Redshifts are reflected at 0; ``q`` is clipped to
[0.05, 1], ``n`` to [0.3, 6.2] and B/T to [0, 1] after drawing.

The first three variables are the conditions: :meth:`CosmosPopulation.sample_conditions`
draws them from the KDE's marginal; the morphology parameters of a galaxy with
given conditions are drawn from the KDE's exact conditional distribution
(:meth:`CosmosPopulation.sample_structure`), a mixture of Gaussians whose
weights are each kernel's likelihood of the conditions.  The size-magnitude
relation and every correlation of the catalog carry over.

``deep=True`` applies GalSim's GREAT3 "deep" recipe (``COSMOSCatalog.makeGalaxy(deep=True)``)
to the data before the KDE: every galaxy 1.5 mag fainter and 0.6 times
smaller, to mimic an F814W < 25 sample from the F814W < 23.5 one.  (The
shipped example galaxies are all brighter than I = 22.5, so this population
reaches only I ~ 24.)

The named populations built on this KDE are :mod:`galsim_deep.data.population`.
"""
import functools
import math

import numpy as np

from .example_data import load_example_catalog
from ..core.errors import InputError

__all__ = ["CosmosPopulation", "VARIABLES", "N_CONDITIONS"]

VARIABLES = ("mag_auto", "log10_flux_radius", "zphot", "log10_hlr", "log10_n", "q",
             "bulge_to_total")
N_CONDITIONS = 3
_DEEP_MAG, _DEEP_SIZE = 1.5, 0.6

def _size_ratio(cat, btt):
    """The bulge-to-disk half-light radius ratio of the catalog's bulge+disk fits with an
    interior B/T (both components constrained), as a log-normal: its median and its
    scatter in dex."""
    ratio = np.asarray(cat["bulge_disk_size_ratio"], float)
    ok = (np.asarray(cat["bulgefit_ok"], bool) & (btt > 0.05) & (btt < 0.95)
          & np.isfinite(ratio) & (ratio > 0.02) & (ratio < 0.999))
    logr = np.log10(ratio[ok])
    return float(10 ** np.median(logr)), float(np.std(logr))


class CosmosPopulation:
    """Smoothed joint distribution of the real COSMOS example galaxies.

    Parameters
    ----------
    deep : bool, optional
        Apply GalSim's "deep" recipe (1.5 mag fainter, 0.6 x smaller).
    bandwidth : float, optional
        Kernel width ``h`` in units of the sample standard deviations
        (default: Scott's factor, 0.66 for 96 galaxies in 7 dimensions).
    exclusion_level : str, optional
        GalSim quality cut applied to the catalog (default ``'marginal'``).

    Attributes
    ----------
    data : numpy.ndarray
        ``[m, 7]`` the catalog in the variables of :data:`VARIABLES`.
    weights : numpy.ndarray
        ``[m]`` normalised catalog weights.
    mag_limit : float
        Magnitude limit of the sample (23.5, or 25.0 with ``deep``).
    """

    def __init__(self, deep=False, bandwidth=None, exclusion_level="marginal"):
        cat = load_example_catalog(exclusion_level)
        btt = np.array(cat["bulge_to_total"], dtype=float)
        log_n = np.log10(np.clip(cat["sersic_n"], 0.3, 6.2))
        bad = ~((btt >= 0) & (btt <= 1))
        if bad.any():
            # Failed bulge+disk fit: impute B/T from the Sersic index (linear fit).
            good = ~bad
            coef = np.polyfit(log_n[good], btt[good], 1)
            btt[bad] = np.clip(np.polyval(coef, log_n[bad]), 0.0, 1.0)
        data = np.column_stack([
            np.asarray(cat["mag_auto"], float),
            np.log10(np.asarray(cat["flux_radius"], float)),
            np.asarray(cat["zphot"], float),
            np.log10(np.asarray(cat["sersic_hlr"], float)),
            log_n,
            np.clip(np.asarray(cat["sersic_q"], float), 0.05, 1.0),
            btt,
        ])
        self.deep = bool(deep)
        self.name = "great3-deep" if self.deep else "cosmos-example"
        self.mag_limit = 23.5
        if self.deep:
            data[:, 0] += _DEEP_MAG
            data[:, 1] += math.log10(_DEEP_SIZE)
            data[:, 3] += math.log10(_DEEP_SIZE)
            self.mag_limit = 23.5 + _DEEP_MAG
        self.data = data
        self.n_galaxies, d = data.shape
        w = np.asarray(cat["WEIGHT"], float)
        self.weights = w / w.sum()
        self.mean = np.average(data, axis=0, weights=self.weights)
        self.cov = np.cov(data, rowvar=False, aweights=self.weights)
        self.bandwidth = (float(bandwidth) if bandwidth is not None
                          else self.n_galaxies ** (-1.0 / (d + 4)))
        if not self.bandwidth > 0:
            raise InputError(f"bandwidth must be > 0, got {bandwidth}")
        shrink = 1.0 / math.sqrt(1.0 + self.bandwidth ** 2)
        self.centres = self.mean + (data - self.mean) * shrink
        self.kernel_cov = self.cov * (self.bandwidth * shrink) ** 2
        c = N_CONDITIONS
        kcc = self.kernel_cov[:c, :c]
        kmc = self.kernel_cov[c:, :c]
        self._chol_cc = np.linalg.cholesky(kcc)
        self._prec_cc = np.linalg.inv(kcc)
        self._gain = kmc @ self._prec_cc
        cond_cov = self.kernel_cov[c:, c:] - self._gain @ kmc.T
        self._chol_m = np.linalg.cholesky(0.5 * (cond_cov + cond_cov.T))
        # (log10 flux_radius, zphot) of a kernel given mag_auto: mean gain and Cholesky factor.
        self._gain_mag = self.kernel_cov[1:c, 0] / self.kernel_cov[0, 0]
        cov_mag = (self.kernel_cov[1:c, 1:c]
                   - np.outer(self.kernel_cov[1:c, 0], self.kernel_cov[0, 1:c])
                   / self.kernel_cov[0, 0])
        self._chol_mag = np.linalg.cholesky(0.5 * (cov_mag + cov_mag.T))
        self.size_ratio_median, self.size_ratio_dex = _size_ratio(cat, btt)

    # -- conditions --------------------------------------------------------------------------
    @functools.cached_property
    def _cdf(self):
        """The kernels' cumulative weights, as numpy's ``Generator.choice(p=weights)``
        computes them at every call: :meth:`_draw_one` makes that draw (one uniform double,
        then the same sorted search) without the per-call checks and sum, so the stream,
        and every mock galaxy drawn from it, is unchanged."""
        cdf = np.cumsum(self.weights)
        return cdf / cdf[-1]

    def _draw_one(self, rng):
        k = int(self._cdf.searchsorted(rng.random(), side="right"))
        x = self.centres[k, :N_CONDITIONS] + self._chol_cc @ rng.standard_normal(N_CONDITIONS)
        return float(x[0]), float(10 ** x[1]), float(abs(x[2]))

    def sample_conditions(self, rng, max_flux_radius=None, min_flux_radius=1.0, max_tries=10000):
        """Draw one galaxy's conditions from the population, with the selection applied.

        Parameters
        ----------
        rng : numpy.random.Generator
            Random generator (consumed deterministically).
        max_flux_radius : float, optional
            Largest accepted ``flux_radius`` (pixels of 0.03 arcsec); draws above
            it are re-drawn (rejection sampling: the result follows the
            population truncated to the selection).
        min_flux_radius : float, optional
            Smallest accepted ``flux_radius`` (pixels of 0.03 arcsec), default 1.
        max_tries : int, optional
            Give up after this many rejected draws.

        Returns
        -------
        tuple of float
            ``(mag_auto, flux_radius, zphot)``: AB mag, pixels of 0.03 arcsec, redshift.
            ``mag_auto`` is at most :attr:`mag_limit`.
        """
        hi = np.inf if max_flux_radius is None else float(max_flux_radius)
        for _ in range(max_tries):
            mag, fr, z = self._draw_one(rng)
            if mag <= self.mag_limit and min_flux_radius <= fr <= hi:
                return mag, fr, z
        raise InputError(f"no galaxy of the population passes the selection flux_radius in "
                         f"[{min_flux_radius}, {max_flux_radius}] pixels after {max_tries} draws: "
                         "use a larger stamp_size or a larger max_flux_radius")

    def acceptance(self, max_flux_radius=None, min_flux_radius=1.0, n=20000, seed=12345):
        """Fraction of the population that passes a selection (Monte Carlo estimate)."""
        rng = np.random.default_rng(seed)
        k = rng.choice(self.n_galaxies, size=n, p=self.weights)
        x = self.centres[k, :N_CONDITIONS] + rng.standard_normal((n, N_CONDITIONS)) @ self._chol_cc.T
        fr = 10 ** x[:, 1]
        ok = (x[:, 0] <= self.mag_limit) & (fr >= min_flux_radius)
        if max_flux_radius is not None:
            ok &= fr <= max_flux_radius
        return float(ok.mean())

    # -- structure given conditions ----------------------------------------------------------
    def sample_structure(self, rng, mag_auto, flux_radius, zphot):
        """Draw the smooth-profile parameters of a galaxy with these conditions.

        Parameters
        ----------
        rng : numpy.random.Generator
        mag_auto : float
            AB mag.
        flux_radius : float
            pixels of 0.03 arcsec (> 0).
        zphot : float
            redshift.

        Returns
        -------
        dict
            ``hlr`` (arcsec, half-light radius of the smooth profile), ``sersic_n``,
            ``q`` (axis ratio), ``bulge_to_total``, ``bulge_disk_size_ratio``.
        """
        if not (np.isfinite(mag_auto) and np.isfinite(flux_radius) and np.isfinite(zphot)):
            raise InputError(f"conditions must be finite, got mag_auto={mag_auto}, "
                             f"flux_radius={flux_radius}, zphot={zphot}")
        if flux_radius <= 0:
            raise InputError(f"flux_radius must be > 0 pixels, got {flux_radius}")
        c = np.array([mag_auto, math.log10(flux_radius), zphot])
        diff = c - self.centres[:, :N_CONDITIONS]
        logw = np.log(self.weights) - 0.5 * np.einsum("ki,ij,kj->k", diff, self._prec_cc, diff)
        p = np.exp(logw - logw.max())
        p /= p.sum()
        k = rng.choice(self.n_galaxies, p=p)
        m = (self.centres[k, N_CONDITIONS:] + self._gain @ diff[k]
             + self._chol_m @ rng.standard_normal(len(VARIABLES) - N_CONDITIONS))
        ratio = self.size_ratio_median * 10 ** (self.size_ratio_dex * rng.standard_normal())
        return {
            "hlr": float(10 ** m[0]),
            "sersic_n": float(np.clip(10 ** m[1], 0.3, 6.2)),
            "q": float(np.clip(m[2], 0.05, 1.0)),
            "bulge_to_total": float(np.clip(m[3], 0.0, 1.0)),
            "bulge_disk_size_ratio": float(np.clip(ratio, 0.1, 1.0)),
        }

    def describe(self):
        """A JSON-able summary (stored in the dataset's ``selection`` attribute)."""
        return {
            "name": self.name,
            "population": "variance-corrected Gaussian KDE of the real COSMOS 23.5 example "
                          "catalog (galsim_deep.data.population)",
            "n_real_galaxies": self.n_galaxies,
            "variables": list(VARIABLES),
            "bandwidth": self.bandwidth,
            "deep": self.deep,
            "mag_limit": self.mag_limit,
            "bulge_disk_size_ratio": {"median": self.size_ratio_median,
                                      "dex": self.size_ratio_dex},
        }
