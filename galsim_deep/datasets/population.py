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

Populations
-----------
:data:`POPULATIONS` names the three populations (:func:`get_population`):

``'cosmos-example'`` (the default)
    The KDE above (:class:`CosmosPopulation`), I <~ 22.5 like the 96 galaxies.
``'great3-deep'``
    The KDE of the GREAT3 "deep" recipe (``deep=True``, the ``--deep`` flag).
``'cosmos-25.2'``
    :class:`Cosmos252Population`: the COSMOS 25.2 sample of Lanusse et al.
    (2020), ``mag_auto <= 25.2``, built from the KDE and published scaling
    relations (the constants below, with their sources):

    1. ``mag_auto`` follows the COSMOS2020 i-band galaxy number counts
       (:data:`WEAVER22_I_COUNTS`) on [the catalog's brightest magnitude, 25.2];
    2. at ``mag_auto <= mag_ref`` (the faintest real galaxy, I = 22.49) every
       other variable is drawn from the KDE's exact conditional distribution
       given ``mag_auto`` (a Gaussian mixture);
    3. a fainter galaxy takes a *donor* from the KDE's conditional at
       ``mag_ref`` and is extrapolated to its magnitude ``m``: its half-light
       radius is multiplied by ``k = 10^(-s (m - mag_ref))`` with ``s`` =
       :data:`SIZE_SLOPE` (from :data:`MANDELBAUM14_HLR`); its
       ``flux_radius`` (which includes the HST PSF) becomes
       ``sqrt(k^2 (fr^2 - p^2) + p^2)`` with ``p`` = :data:`PSF_FLUX_RADIUS`;
       its redshift is shifted by ``Z_SLOPE (m - mag_ref)`` (:data:`Z_SLOPE`,
       from :data:`ILBERT09_MEDIAN_Z`); its Sersic index, axis ratio, B/T,
       bulge/disk size ratio and its morphology class mix are the donor's
       (**assumption**: galaxy shapes and the mix of structures do not change
       between I = 22.5 and 25.2, only sizes and redshifts do).

Length: the two populations (the example's 100 galaxies, COSMOS to 25.2) and their
number counts; the 25.2 population extends the first and needs its internals.
"""
import math

import numpy as np

from .example_data import load_example_catalog
from ..errors import InputError

__all__ = ["CosmosPopulation", "Cosmos252Population", "VARIABLES", "N_CONDITIONS",
           "POPULATIONS", "DEFAULT_POPULATION", "resolve_population", "get_population",
           "WEAVER22_I_COUNTS", "LSST_SB_CUMULATIVE", "MANDELBAUM14_HLR", "SIZE_SLOPE",
           "GREAT3_DEEP_SIZE_SLOPE", "ILBERT09_MEDIAN_Z", "Z_SLOPE", "PSF_FLUX_RADIUS",
           "MAG_LIMIT_25_2", "NumberCounts"]

VARIABLES = ("mag_auto", "log10_flux_radius", "zphot", "log10_hlr", "log10_n", "q",
             "bulge_to_total")
N_CONDITIONS = 3
_DEEP_MAG, _DEEP_SIZE = 1.5, 0.6

#: Population names (:func:`get_population`, ``--population``).
POPULATIONS = ("cosmos-example", "great3-deep", "cosmos-25.2")
#: The population of the ``mock-cosmos`` source when none is given.
DEFAULT_POPULATION = "cosmos-example"

# -- published numbers of the 'cosmos-25.2' population ---------------------------------------
#: Limit of the COSMOS 25.2 sample (F814W MAG_AUTO, AB): GalSim's
#: ``real_galaxy_catalog_25.2`` ("a random subsample of galaxies from the COSMOS sample with
#: F814W<25.2", galsim.COSMOSCatalog), the training set of Lanusse et al. (2020), section 4.1.
MAG_LIMIT_25_2 = 25.2

#: Galaxy number counts in the i band, ``(i, log10 N)`` with ``N`` per mag per deg^2 at the
#: bin centres: COSMOS2020, Weaver et al. (2022, ApJS 258, 11), table 2 (HSC i, "Farmer"
#: catalogue), as tabulated in the public ``ares`` code (ares/data/weaver2022.py).  Summed
#: as per-mag values they give N(i < 25) = 44 arcmin^-2, in line with the LSST Science Book
#: (46 arcmin^-2).  Used for the *shape* of the magnitude distribution only (the GalSim 25.2
#: catalog is a random subsample); log10 N is interpolated linearly between bin centres and
#: extrapolated below 19.25 with the slope of the first two bins (0.44 per mag).  The
#: assumption F814W MAG_AUTO ~ i: the two bands are adjacent and the counts' slope, not
#: their zero point, is what matters here.
WEAVER22_I_COUNTS = (
    (19.25, 3.01), (19.75, 3.23), (20.25, 3.44), (20.75, 3.64), (21.25, 3.85), (21.75, 4.03),
    (22.25, 4.21), (22.75, 4.38), (23.25, 4.54), (23.75, 4.71), (24.25, 4.86), (24.75, 4.97),
    (25.25, 5.08), (25.75, 5.20), (26.25, 5.29),
)

#: LSST Science Book (2009), eq. 3.7: cumulative counts ``N(<i) = A 10^(B (i - 25))``
#: arcmin^-2, a fit to CFHTLS-Deep counts over 20.5 < i < 25.5: ``(A, B) = (46, 0.31)``.
#: Only shown for comparison in the population figure.
LSST_SB_CUMULATIVE = (46.0, 0.31)

#: Mean and standard deviation of the (circularised, PSF-deconvolved) parametric half-light
#: radius of COSMOS F814W galaxies per magnitude bin, ``(mean mag, mean hlr, std hlr)`` in
#: (AB mag, arcsec, arcsec): "Mandelbaum et al. 2014" validation data of the LSST DESC
#: (LSSTDESC/descqa, descqa/data/size/Mandelbaum2014_appmag_size.txt, lowest-redshift
#: column z ~ 0.25; derived from the GREAT3/GalSim COSMOS catalogue).  The other redshift
#: columns give slopes of 0.15-0.19 dex per mag; the brightest bins are dominated by
#: failed fits and are not used.
MANDELBAUM14_HLR = ((22.53, 0.391, 0.70), (23.52, 0.272, 0.32), (24.48, 0.193, 0.14),
                    (25.17, 0.143, 0.09))


def _fit_slope(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    return float(np.polyfit(x, y, 1)[0])


#: ``s``: sizes scale as ``10^(-s m)`` below the real data.  The least-squares slope of
#: ``log10(mean hlr)`` against magnitude over the four bins of :data:`MANDELBAUM14_HLR`,
#: 0.164 dex per mag (GalSim's GREAT3 "deep" recipe, 0.6 x per 1.5 mag, is 0.148).
SIZE_SLOPE = -_fit_slope([r[0] for r in MANDELBAUM14_HLR],
                         np.log10([r[1] for r in MANDELBAUM14_HLR]))
#: The GREAT3 "deep" recipe's size slope, ``-log10(0.6) / 1.5`` dex per mag (for comparison).
GREAT3_DEEP_SIZE_SLOPE = -math.log10(_DEEP_SIZE) / _DEEP_MAG

#: Median photometric redshift of COSMOS galaxies in i+ magnitude bins,
#: ``(i_min, i_max, median z)``: Ilbert et al. (2009, ApJ 690, 1236), abstract: "the median
#: redshift rises from z_m = 0.66 at 22 < i+ < 22.5 to z_m = 1.06 at 24.5 < i+ < 25".  The
#: catalog's ``zphot`` is this photo-z (Ilbert et al. 2009, v1.7).
ILBERT09_MEDIAN_Z = ((22.0, 22.5, 0.66), (24.5, 25.0, 1.06))
#: Redshift shift per magnitude below the real data: the slope between the two bins of
#: :data:`ILBERT09_MEDIAN_Z`, (1.06 - 0.66) / (24.75 - 22.25) = 0.16 per mag.
Z_SLOPE = ((ILBERT09_MEDIAN_Z[1][2] - ILBERT09_MEDIAN_Z[0][2])
           / (0.5 * sum(ILBERT09_MEDIAN_Z[1][:2]) - 0.5 * sum(ILBERT09_MEDIAN_Z[0][:2])))

#: FLUX_RADIUS of the HST/ACS F814W PSF, pixels of 0.03 arcsec: measured on the 100 shipped
#: PSF images (centroid-centred, drawn 8 x finer) the way SExtractor measures it, the
#: radius holding half of FLUX_AUTO (Kron radius from the first moment within 6 x the rms
#: radius, Kron aperture 2.5 x that, >= 3.5 px): median 2.30 px (5-95%: 2.26-2.35; the
#: radius holding half of each 37 x 37 image's flux is 2.48 px).  FLUX_RADIUS, unlike the
#: half-light radius, includes the PSF; a galaxy whose intrinsic size is scaled by ``k``
#: gets ``fr' = sqrt(k^2 (fr^2 - p^2) + p^2)`` (exact for Gaussians).
PSF_FLUX_RADIUS = 2.3


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
        # Bulge-to-disk half-light radius ratio of the bulge+disk fits with an
        # interior B/T (both components constrained): log-normal.
        ratio = np.asarray(cat["bulge_disk_size_ratio"], float)
        ok = (np.asarray(cat["bulgefit_ok"], bool) & (btt > 0.05) & (btt < 0.95)
              & np.isfinite(ratio) & (ratio > 0.02) & (ratio < 0.999))
        logr = np.log10(ratio[ok])
        self.size_ratio_median = float(10 ** np.median(logr))
        self.size_ratio_dex = float(np.std(logr))

    # -- conditions --------------------------------------------------------------------------
    def _draw_one(self, rng):
        k = rng.choice(self.n_galaxies, p=self.weights)
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
                          "catalog (galsim_deep.datasets.population)",
            "n_real_galaxies": self.n_galaxies,
            "variables": list(VARIABLES),
            "bandwidth": self.bandwidth,
            "deep": self.deep,
            "mag_limit": self.mag_limit,
            "bulge_disk_size_ratio": {"median": self.size_ratio_median,
                                      "dex": self.size_ratio_dex},
        }


class NumberCounts:
    """Magnitudes distributed as tabulated number counts, on ``[lo, hi]``.

    ``log10 dN/dm`` is interpolated linearly between the table's points (a
    piecewise power law, so the distribution is piecewise exponential and its
    inverse CDF is exact), and extrapolated beyond them with the end segments'
    slopes.

    Parameters
    ----------
    table : sequence of (float, float)
        ``(mag, log10 N)`` with ``N`` per mag (any area unit).
    lo, hi : float
        Magnitude range (AB mag).
    """

    def __init__(self, table, lo, hi):
        t = np.asarray(table, dtype=float)
        self.table_mag, self.table_log_n = t[:, 0], t[:, 1]
        self.lo, self.hi = float(lo), float(hi)
        if not self.hi > self.lo:
            raise InputError(f"the magnitude range must have hi > lo, got [{lo}, {hi}]")
        inner = self.table_mag[(self.table_mag > self.lo) & (self.table_mag < self.hi)]
        self.nodes = np.concatenate([[self.lo], inner, [self.hi]])
        y = self.log10_density(self.nodes)
        self._width = np.diff(self.nodes)
        self._slope = np.diff(y) / self._width
        self._y0 = y[:-1]
        with np.errstate(divide="ignore", invalid="ignore"):
            growth = 10.0 ** (self._slope * self._width) - 1.0
            integral = np.where(np.abs(self._slope) > 1e-12,
                                10.0 ** self._y0 * growth / (self._slope * math.log(10.0)),
                                10.0 ** self._y0 * self._width)
        self._growth = growth
        self._cum = np.concatenate([[0.0], np.cumsum(integral)])
        self.total = float(self._cum[-1])

    def log10_density(self, mag):
        """``log10 dN/dm`` at ``mag`` (interpolated, extrapolated at both ends)."""
        m = np.asarray(mag, dtype=float)
        x, y = self.table_mag, self.table_log_n
        out = np.interp(m, x, y)
        lo_slope = (y[1] - y[0]) / (x[1] - x[0])
        hi_slope = (y[-1] - y[-2]) / (x[-1] - x[-2])
        out = np.where(m < x[0], y[0] + lo_slope * (m - x[0]), out)
        return np.where(m > x[-1], y[-1] + hi_slope * (m - x[-1]), out)

    def cdf(self, mag):
        """Fraction of the counts on ``[lo, mag]``."""
        m = np.clip(np.asarray(mag, dtype=float), self.lo, self.hi)
        i = np.clip(np.searchsorted(self.nodes, m, side="right") - 1, 0, len(self._width) - 1)
        d = m - self.nodes[i]
        part = np.where(np.abs(self._slope[i]) > 1e-12,
                        10.0 ** self._y0[i] * (10.0 ** (self._slope[i] * d) - 1.0)
                        / (self._slope[i] * math.log(10.0)),
                        10.0 ** self._y0[i] * d)
        return (self._cum[i] + part) / self.total

    def ppf(self, u):
        """Magnitudes at cumulative fractions ``u`` in [0, 1) (inverse CDF)."""
        target = np.asarray(u, dtype=float) * self.total
        i = np.clip(np.searchsorted(self._cum, target, side="right") - 1, 0, len(self._width) - 1)
        v = (target - self._cum[i]) / (self._cum[i + 1] - self._cum[i])
        slope = self._slope[i]
        with np.errstate(divide="ignore", invalid="ignore"):
            d = np.where(np.abs(slope) > 1e-12, np.log10(1.0 + v * self._growth[i]) / slope,
                         v * self._width[i])
        return np.clip(self.nodes[i] + d, self.lo, self.hi)


class Cosmos252Population(CosmosPopulation):
    """Mock COSMOS 25.2 population: the KDE extended to ``mag_auto <= 25.2``.

    See the module docstring ("Populations").  A galaxy is drawn as

    * ``mag_auto ~`` :data:`WEAVER22_I_COUNTS` on ``[mag_min, 25.2]``
      (``mag_min``: the brightest real galaxy, 16.92);
    * ``mag_auto <= mag_ref`` (the faintest real galaxy, 22.49): the other
      variables from the KDE's exact conditional given ``mag_auto``;
    * ``mag_auto = m > mag_ref``: a donor ``(fr_d, z_d, structure_d)`` from
      the KDE's conditional given ``mag_ref``, then ``hlr = k hlr_d``,
      ``flux_radius = sqrt(k^2 (fr_d^2 - p^2) + p^2)``, ``zphot = z_d + dz``,
      with ``k = 10^(-SIZE_SLOPE (m - mag_ref))``, ``p = PSF_FLUX_RADIUS``,
      ``dz = Z_SLOPE (m - mag_ref)``; Sersic index, ``q``, B/T and the
      morphology class probabilities are the donor's.

    Given conditions ``(m, fr, z)`` the map to the donor's ``(mag_ref, fr_d,
    z_d)`` is inverted, so :meth:`sample_structure` draws from the exact
    conditional distribution of the structure given the conditions.

    Parameters
    ----------
    bandwidth, exclusion_level
        As :class:`CosmosPopulation`.

    Attributes
    ----------
    mag_limit : float
        25.2.
    mag_ref : float
        Magnitude (AB) below which galaxies are extrapolated: the faintest
        ``mag_auto`` of the real catalog.
    mag_min : float
        Brightest magnitude drawn: the brightest ``mag_auto`` of the catalog.
    counts : NumberCounts
        The magnitude distribution.
    """

    def __init__(self, bandwidth=None, exclusion_level="marginal"):
        super().__init__(deep=False, bandwidth=bandwidth, exclusion_level=exclusion_level)
        self.name = "cosmos-25.2"
        self.mag_limit = MAG_LIMIT_25_2
        self.mag_ref = float(self.data[:, 0].max())
        self.mag_min = float(self.data[:, 0].min())
        self.size_slope = SIZE_SLOPE
        self.z_slope = Z_SLOPE
        self.psf_flux_radius = PSF_FLUX_RADIUS
        self.counts = NumberCounts(WEAVER22_I_COUNTS, self.mag_min, self.mag_limit)

    # -- the extrapolation below the real data ---------------------------------------------
    def size_factor(self, mag):
        """``k(m) = 10^(-SIZE_SLOPE max(m - mag_ref, 0))``: size relative to the donor."""
        return 10.0 ** (-self.size_slope * np.maximum(np.asarray(mag, float) - self.mag_ref, 0.0))

    def redshift_shift(self, mag):
        """``Z_SLOPE max(m - mag_ref, 0)``: redshift added to the donor's."""
        return self.z_slope * np.maximum(np.asarray(mag, float) - self.mag_ref, 0.0)

    def extrapolate(self, mag, donor_flux_radius, donor_zphot):
        """Conditions of galaxies of magnitude ``mag`` from their donors' (vectorised).

        Parameters
        ----------
        mag : array_like
            AB mag.
        donor_flux_radius : array_like
            Donor ``flux_radius`` (pixels of 0.03 arcsec) at ``mag_ref``.
        donor_zphot : array_like
            Donor redshift.

        Returns
        -------
        flux_radius, zphot : numpy.ndarray
            Unchanged where ``mag <= mag_ref``.
        """
        mag = np.asarray(mag, float)
        fr_d = np.asarray(donor_flux_radius, float)
        z_d = np.asarray(donor_zphot, float)
        faint = mag > self.mag_ref
        k = self.size_factor(mag)
        p2 = self.psf_flux_radius ** 2
        fr = np.sqrt(k ** 2 * np.maximum(fr_d ** 2 - p2, 0.0) + p2)
        return np.where(faint, fr, fr_d), np.where(faint, z_d + self.redshift_shift(mag), z_d)

    def donor_conditions(self, mag, flux_radius, zphot):
        """Inverse of :meth:`extrapolate`: the donor's ``(flux_radius, zphot)``."""
        mag = np.asarray(mag, float)
        fr = np.asarray(flux_radius, float)
        z = np.asarray(zphot, float)
        faint = mag > self.mag_ref
        k = self.size_factor(mag)
        p2 = self.psf_flux_radius ** 2
        fr_d = np.sqrt(np.maximum(fr ** 2 - p2, 0.0) / k ** 2 + p2)
        return np.where(faint, fr_d, fr), np.where(faint, z - self.redshift_shift(mag), z)

    # -- conditions --------------------------------------------------------------------------
    def draw(self, rng, n):
        """Draw the conditions of ``n`` galaxies (no selection; vectorised).

        Parameters
        ----------
        rng : numpy.random.Generator
        n : int

        Returns
        -------
        mag_auto, flux_radius, zphot : numpy.ndarray
            AB mag, pixels of 0.03 arcsec, redshift (each ``[n]``).
        """
        mag = self.counts.ppf(rng.random(n))
        m_kde = np.minimum(mag, self.mag_ref)
        # The KDE's conditional given mag_auto: kernel weights by likelihood of the magnitude.
        dm = m_kde[:, None] - self.centres[None, :, 0]
        logw = np.log(self.weights)[None, :] - 0.5 * dm ** 2 / self.kernel_cov[0, 0]
        w = np.exp(logw - logw.max(axis=1, keepdims=True))
        cum = np.cumsum(w, axis=1)
        u = rng.random(n) * cum[:, -1]
        k = np.minimum((cum < u[:, None]).sum(axis=1), self.n_galaxies - 1)
        x = (self.centres[k, 1:N_CONDITIONS] + dm[np.arange(n), k][:, None] * self._gain_mag
             + rng.standard_normal((n, N_CONDITIONS - 1)) @ self._chol_mag.T)
        fr, z = self.extrapolate(mag, 10 ** x[:, 0], np.abs(x[:, 1]))
        return mag, fr, z

    def _draw_one(self, rng):
        mag, fr, z = self.draw(rng, 1)
        return float(mag[0]), float(fr[0]), float(z[0])

    def acceptance(self, max_flux_radius=None, min_flux_radius=1.0, n=20000, seed=12345):
        """Fraction of the population that passes a selection (Monte Carlo estimate)."""
        rng = np.random.default_rng(seed)
        _, fr, _ = self.draw(rng, n)
        ok = fr >= min_flux_radius
        if max_flux_radius is not None:
            ok &= fr <= max_flux_radius
        return float(ok.mean())

    # -- structure given conditions ----------------------------------------------------------
    def sample_structure(self, rng, mag_auto, flux_radius, zphot):
        """Draw the smooth-profile parameters of a galaxy with these conditions.

        Brighter than :attr:`mag_ref`: as :meth:`CosmosPopulation.sample_structure`.
        Fainter: the donor's conditions (:meth:`donor_conditions`), the KDE's
        conditional structure given them, the half-light radius times
        :meth:`size_factor`; the result also holds ``class_conditions``, the
        donor's ``(mag_auto, flux_radius, zphot)``, which set the morphology
        class probabilities and structure strength
        (:func:`galsim_deep.datasets.morphology.build_galaxy`).

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
            As :meth:`CosmosPopulation.sample_structure` (``hlr`` in arcsec), plus
            ``class_conditions`` for galaxies fainter than :attr:`mag_ref`.
        """
        if not (np.isfinite(mag_auto) and np.isfinite(flux_radius) and np.isfinite(zphot)):
            raise InputError(f"conditions must be finite, got mag_auto={mag_auto}, "
                             f"flux_radius={flux_radius}, zphot={zphot}")
        if flux_radius <= 0:
            raise InputError(f"flux_radius must be > 0 pixels, got {flux_radius}")
        if mag_auto <= self.mag_ref:
            return super().sample_structure(rng, mag_auto, flux_radius, zphot)
        fr_d, z_d = (float(v) for v in self.donor_conditions(mag_auto, flux_radius, zphot))
        structure = super().sample_structure(rng, self.mag_ref, fr_d, z_d)
        structure["hlr"] = float(structure["hlr"] * self.size_factor(mag_auto))
        structure["class_conditions"] = (self.mag_ref, fr_d, z_d)
        return structure

    def describe(self):
        """A JSON-able summary (stored in the dataset's ``selection`` attribute)."""
        d = super().describe()
        d.update({
            "name": self.name,
            "population": "COSMOS 25.2 mock: magnitudes from COSMOS2020 i-band number counts "
                          "(Weaver et al. 2022); KDE conditional given mag_auto up to mag_ref; "
                          "fainter galaxies extrapolated from KDE donors at mag_ref (sizes from "
                          "Mandelbaum et al. 2014 / LSST DESC size-magnitude means, redshifts "
                          "from the Ilbert et al. 2009 median photo-z trend; shapes and "
                          "morphology class mix kept from the donors) "
                          "(galsim_deep.datasets.population.Cosmos252Population)",
            "mag_limit": self.mag_limit,
            "mag_ref": self.mag_ref,
            "mag_min": self.mag_min,
            "number_counts": "Weaver et al. 2022 (COSMOS2020) table 2, i band",
            "size_slope_dex_per_mag": self.size_slope,
            "z_shift_per_mag": self.z_slope,
            "psf_flux_radius_pixels_0.03": self.psf_flux_radius,
        })
        return d


def resolve_population(population=None, deep=False):
    """The population name of the ``population`` and (legacy) ``deep`` arguments.

    Parameters
    ----------
    population : str, optional
        One of :data:`POPULATIONS`; default :data:`DEFAULT_POPULATION`, or
        ``'great3-deep'`` with ``deep=True``.
    deep : bool, optional
        Legacy switch, the same as ``population='great3-deep'``.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For an unknown name, or ``deep=True`` with another population.
    """
    if population is None:
        return "great3-deep" if deep else DEFAULT_POPULATION
    if population not in POPULATIONS:
        raise InputError(f"unknown population {population!r}: choose one of "
                         f"{', '.join(POPULATIONS)} (e.g. population='cosmos-25.2', "
                         "--population cosmos-25.2)")
    if deep and population != "great3-deep":
        raise InputError(f"deep=True (--deep) is population='great3-deep' and cannot be combined "
                         f"with population={population!r}: drop deep (--deep)")
    return population


_CACHE = {}


def get_population(deep=False, population=None):
    """The population of this name with default settings (cached per process).

    Parameters
    ----------
    deep : bool, optional
        Legacy: ``population='great3-deep'``.
    population : str, optional
        One of :data:`POPULATIONS` (default ``'cosmos-example'``).

    Returns
    -------
    CosmosPopulation
        :class:`Cosmos252Population` for ``'cosmos-25.2'``.
    """
    name = resolve_population(population, deep)
    if name not in _CACHE:
        _CACHE[name] = (Cosmos252Population() if name == "cosmos-25.2"
                        else CosmosPopulation(deep=(name == "great3-deep")))
    return _CACHE[name]
