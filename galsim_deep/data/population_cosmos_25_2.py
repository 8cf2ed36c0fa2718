"""The mock COSMOS 25.2 population: the example KDE extended to ``mag_auto <= 25.2``.

:class:`Cosmos252Population` (``population='cosmos-25.2'``; see
:mod:`galsim_deep.data.population`, "Populations") draws magnitudes from
published number counts (:class:`NumberCounts` of :data:`WEAVER22_I_COUNTS`)
and extrapolates the example galaxies fainter with published size-magnitude
and redshift-magnitude relations; the constants below carry their sources.
"""
import math

import numpy as np

from .population_kde import _DEEP_MAG, _DEEP_SIZE, N_CONDITIONS, CosmosPopulation
from ..core.errors import InputError

__all__ = ["Cosmos252Population", "NumberCounts", "MAG_LIMIT_25_2", "WEAVER22_I_COUNTS",
           "LSST_SB_CUMULATIVE", "MANDELBAUM14_HLR", "SIZE_SLOPE", "GREAT3_DEEP_SIZE_SLOPE",
           "ILBERT09_MEDIAN_Z", "Z_SLOPE", "PSF_FLUX_RADIUS"]

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
        (:func:`galsim_deep.data.morphology.build_galaxy`).

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
                          "(galsim_deep.data.population.Cosmos252Population)",
            "mag_limit": self.mag_limit,
            "mag_ref": self.mag_ref,
            "mag_min": self.mag_min,
            "number_counts": "Weaver et al. 2022 (COSMOS2020) table 2, i band",
            "size_slope_dex_per_mag": self.size_slope,
            "z_shift_per_mag": self.z_slope,
            "psf_flux_radius_pixels_0.03": self.psf_flux_radius,
        })
        return d
