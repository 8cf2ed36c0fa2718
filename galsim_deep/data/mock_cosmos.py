"""The ``mock-cosmos`` source: synthetic COSMOS-like galaxies with known truth.

Galaxy ``i`` of a build with seed ``seed`` is drawn with the random generator
``numpy.random.default_rng(numpy.random.SeedSequence([seed, i]))``, in this order:

1. its conditions ``(mag_auto, flux_radius, zphot)`` from the population of
   :mod:`galsim_deep.data.population` (``'cosmos-example'``, a smoothed
   copy of the real COSMOS catalog, by default; ``'cosmos-25.2'``, the COSMOS
   25.2 sample; ``'great3-deep'``), re-drawn until ``flux_radius`` fits the
   stamp (the selection);
2. its smooth-profile parameters from the population's conditional
   distribution, then its morphology class and structure
   (:mod:`galsim_deep.data.morphology`);
3. its PSF (one of the 100 real HST PSFs, or an optical PSF), its noise
   variance (one of the real catalog's ``NOISE_VARIANCE`` values) and the seed
   of its COSMOS correlated noise (``galsim.getCOSMOSNoise``).

So :func:`sample_conditions` with the same seed returns exactly the
conditions of a build's galaxies, and :func:`make_galaxy` is the function the
build uses for the truth profile.  Each galaxy depends only on ``(seed, i)``:
the result does not depend on the number of processes.

With ``psf='hst'`` the pixel scale is 0.03 arcsec or a whole multiple ``f x
0.03``: the observed stamp (galaxy convolved with the 0.03 arcsec effective
PSF, plus COSMOS noise) is then drawn at 0.03 arcsec on an ``f S x f S`` grid
and binned ``f x f`` (sum), the PSF image likewise, and ``noise_power`` is
the exact spectrum of the binned noise (:mod:`galsim_deep.data.binning`,
:func:`galsim_deep.data.noise.binned_power`); the truth is drawn directly
at the stamp's scale.

With ``bands`` (e.g. ``['F814W', 'F606W']``) each galaxy also comes in those
HST bands, its components with their own SEDs
(:mod:`galsim_deep.data.mock_colours`); the F814W fields stay those of the
mono build of the same seed, bit for bit.

This module is the builder source (:class:`MockCosmosSource`); the galaxies one
by one (:func:`galaxy_rng`, :func:`sample_conditions`, :func:`make_mock_galaxy`,
:func:`make_galaxy`, :func:`default_max_flux_radius`) are in
:mod:`galsim_deep.data.mock_galaxies`, and re-exported here.
"""
import math

import numpy as np

from .binning import bin_pixels, draw_binned
from .format import BAND_FIELDS, CONDITIONS, COSMOS_PIXEL_SCALE
from .mock_colours import COLOUR_STREAM, BandObserver, band_attrs, band_fields, mock_bands
from .mock_galaxies import (default_max_flux_radius, galaxy_rng, make_galaxy, make_mock_galaxy,
                            sample_conditions)
from .morphology import CLASS_NAMES
from .population import get_population, resolve_population
from ..physics.bands import band_magnitude_name
from ..core.errors import InputError

__all__ = ["sample_conditions", "training_population", "make_galaxy", "make_mock_galaxy",
           "galaxy_rng", "default_max_flux_radius", "MockCosmosSource"]

def training_population(metadata, n, seed):
    """``n`` conditions of the mock-COSMOS population a module was trained on.

    Parameters
    ----------
    metadata : dict
        The module's metadata: its ``provenance.population`` (or a mock-COSMOS
        ``dataset_build_command``, whose build drew :func:`sample_conditions`' default
        population), ``stamp_size`` and ``pixel_scale``.
    n, seed : int

    Returns
    -------
    astropy.table.Table
        :func:`sample_conditions`' columns.

    Raises
    ------
    InputError
        When the module was not trained on a mock-COSMOS build.
    """
    provenance = metadata.get("provenance", {})
    population = provenance.get("population")
    if population is None and "mock-cosmos" not in provenance.get("dataset_build_command", ""):
        raise InputError(f"{metadata.get('name', 'the module')} was not trained on a "
                         f"mock-COSMOS build (its metadata's provenance names none), whose "
                         f"population this draws from; use a module trained on mock-COSMOS")
    return sample_conditions(n, seed, stamp_size=metadata["stamp_size"],
                             pixel_scale=metadata["pixel_scale"], population=population)


#: GalSim accuracy settings of the builds: a folding threshold of 2% (GalSim's default is
#: 0.5%) halves the FFT sizes; the stamps change by less than 1% of the noise sigma.
BUILD_GSPARAMS = {"folding_threshold": 0.02}

#: Third entry of the seed sequence of a galaxy's deep-subset draw (``deep_fraction``).
DEEP_STREAM = 0xDEE9


class MockCosmosSource:
    """Builder source ``mock-cosmos`` (see the module docstring).

    Parameters
    ----------
    stamp_size : int
        pixels.
    pixel_scale : float
        arcsec/pixel: with ``psf='hst'``, 0.03 or a whole multiple ``f x 0.03``
        (rendered at 0.03 and binned ``f x f``, see the module docstring).
    seed : int
        Build seed.
    psf : {'hst', 'optical'}, optional
        The 100 real HST PSF images (default) or optical PSFs with random
        aberrations (any pixel scale, drawn directly at it).
    noise : {'cosmos', 'white'}, optional
        COSMOS correlated noise (default) or white noise of the same variance
        (per 0.03 arcsec pixel before binning).
    deep : bool, optional
        Legacy: ``population='great3-deep'``.
    max_flux_radius : float, optional
        Selection: largest ``flux_radius`` (pixels of 0.03 arcsec); default
        :func:`default_max_flux_radius`.
    extra_depth : float, optional
        Make the stamps this many magnitudes deeper than COSMOS (default 0):
        the noise variance of every stamp is the catalog's times
        ``10**(-0.8 * extra_depth)``, as a ``10**(0.8 * extra_depth)`` times
        longer background-limited exposure gives.  The galaxies, PSFs and
        noise patterns stay those of the same seed at COSMOS depth; only the
        noise amplitude changes.  For experiments on how the data's
        signal-to-noise ratio shapes a model (a survey's own stamps do not
        get deeper).
    deep_fraction : float, optional
        With ``extra_depth``, only this fraction of the galaxies (in (0, 1];
        default 1: all) is made deeper: a *deep subset*, as a programme
        with a small deep field beside its wide one has.  Galaxy ``i`` is
        deep when a uniform draw of its own stream
        (``SeedSequence([seed, i, DEEP_STREAM])``) is below the fraction, so
        the other galaxies, and every galaxy's noise pattern, are the same as
        in the build without it.
    population : {'cosmos-example', 'cosmos-25.2', 'great3-deep'}, optional
        The population (:mod:`galsim_deep.data.population`); default
        ``'cosmos-example'``.
    bands : sequence of str, optional
        HST ACS bands to draw besides F814W (``['F606W']``, or
        ``'F814W,F606W'``): adds the band fields and one ``mag_<band>``
        condition per extra band (:mod:`~galsim_deep.data.mock_colours`).
        Default: F814W only (a mono dataset).
    """

    name = "mock-cosmos"
    fields = ("stamp", "psf", "noise_variance", "noise_power", "parametric", "ident", "truth",
              "label", "psf_id")

    def __init__(self, stamp_size, pixel_scale, seed, psf="hst", noise="cosmos", deep=False,
                 max_flux_radius=None, population=None, extra_depth=0.0, bands=None,
                 deep_fraction=1.0):
        from .binning import binning_factor
        from .psf import PSF_MODELS

        if psf not in PSF_MODELS:
            raise InputError(f"unknown psf {psf!r} for mock-cosmos: choose one of "
                             f"{', '.join(PSF_MODELS)}")
        self.population = resolve_population(population, deep)
        # psf='hst': the real PSF images and the COSMOS noise are at 0.03"; coarser stamps
        # are drawn at 0.03" on a grid `binning` times larger and binned.
        self.binning = (binning_factor(pixel_scale, COSMOS_PIXEL_SCALE,
                                       what="psf='hst' (the real HST PSF images)")
                        if psf == "hst" else 1)
        if noise not in ("cosmos", "white"):
            raise InputError(f"unknown noise {noise!r}: choose 'cosmos' or 'white'")
        if max_flux_radius is not None and not float(max_flux_radius) > 1.0:
            raise InputError(f"max_flux_radius must be > 1 pixel of 0.03 arcsec, got "
                             f"{max_flux_radius}")
        try:
            extra_depth = float(extra_depth)
        except (TypeError, ValueError):
            raise InputError(f"extra_depth must be a number of magnitudes, got "
                             f"{extra_depth!r}") from None
        if not (math.isfinite(extra_depth) and 0.0 <= extra_depth <= 5.0):
            raise InputError(f"extra_depth must be between 0 and 5 magnitudes, got "
                             f"{extra_depth}")
        self.extra_depth = extra_depth
        try:
            deep_fraction = float(deep_fraction)
        except (TypeError, ValueError):
            raise InputError(f"deep_fraction must be a number in (0, 1], got "
                             f"{deep_fraction!r}") from None
        if not 0.0 < deep_fraction <= 1.0:
            raise InputError(f"deep_fraction must be in (0, 1], got {deep_fraction}")
        if deep_fraction < 1.0 and not extra_depth:
            raise InputError("deep_fraction makes a fraction of the stamps deeper by "
                             "extra_depth: set extra_depth (--extra-depth MAG) too")
        self.deep_fraction = deep_fraction
        self.stamp_size = int(stamp_size)
        self.pixel_scale = float(pixel_scale)
        self.seed = int(seed)
        self.psf_model = psf
        self.noise_model = noise
        self.deep = self.population == "great3-deep"
        self.max_flux_radius = (default_max_flux_radius(stamp_size, pixel_scale)
                                if max_flux_radius is None else float(max_flux_radius))
        self.max_extent = 0.45 * self.stamp_size * self.pixel_scale
        self.bands = None if bands is None else mock_bands(bands)
        if self.bands:
            self.fields = self.fields + BAND_FIELDS
        self._ready = False

    def __getstate__(self):
        # Worker processes get the settings only; each loads its own PSFs and noise model.
        state = {k: v for k, v in self.__dict__.items() if not k.startswith("_")}
        state["_ready"] = False
        return state

    def options(self):
        """The settings that define the build (stored in the resume manifest)."""
        options = {"psf": self.psf_model, "noise": self.noise_model, "deep": self.deep,
                   "max_flux_radius": self.max_flux_radius}
        # The two original populations keep their original manifest (so that their partial
        # builds resume); 'deep' tells them apart.
        if self.population not in ("cosmos-example", "great3-deep"):
            options["population"] = self.population
        if self.extra_depth:
            options["extra_depth"] = self.extra_depth
        if self.deep_fraction < 1.0:
            options["deep_fraction"] = self.deep_fraction
        if self.bands:
            options["bands"] = list(self.bands)
        return options

    def condition_names(self):
        """The condition columns: ``mag_auto``, ``flux_radius``, ``zphot``, then
        ``mag_<band>`` of each band besides F814W."""
        return list(CONDITIONS) + [band_magnitude_name(b) for b in (self.bands or [])[1:]]

    def plan(self, n):
        """Number of examples of a build of ``n`` (any ``n`` >= 1 is possible)."""
        if n is None:
            raise InputError("mock-cosmos needs a number of galaxies: pass n (--n N)")
        return int(n)

    def setup(self):
        """Load the population, PSFs and noise model (once per process)."""
        if self._ready:
            return
        import galsim

        from .example_data import load_example_catalog
        from .noise import binned_power, cosmos_noise, noise_power, pixel_variance
        from .psf import make_psf_set

        self._gsparams = galsim.GSParams(**BUILD_GSPARAMS)
        self._population = get_population(population=self.population)
        self._psf_profiles = {}
        self._psfs = make_psf_set(self.psf_model, self.stamp_size, self.pixel_scale, self.seed)
        self._variances = np.sort(np.asarray(load_example_catalog()["NOISE_VARIANCE"], float))
        f = self.binning
        if f == 1:
            if self.noise_model == "cosmos":
                self._unit_noise = cosmos_noise()
                self._unit_power = noise_power(self._unit_noise, self.stamp_size,
                                               self.pixel_scale)
            else:
                self._unit_noise = galsim.UncorrelatedNoise(1.0, scale=self.pixel_scale)
                self._unit_power = np.ones((self.stamp_size, self.stamp_size // 2 + 1))
            self._unit_variance = 1.0
        else:
            fine = self.fine_scale
            n = f * self.stamp_size
            if self.noise_model == "cosmos":
                self._unit_noise = cosmos_noise()
                self._unit_power = noise_power(self._unit_noise, self.stamp_size,
                                               self.pixel_scale, binning=f)
            else:
                self._unit_noise = galsim.UncorrelatedNoise(1.0, scale=fine)
                self._unit_power = binned_power(np.ones((n, n)), f)
            # Pixel variance of the binned unit-variance noise (f^2 for white noise).
            self._unit_variance = pixel_variance(self._unit_power)
        self._observers = [BandObserver(b, self._psfs, self.stamp_size, self.pixel_scale,
                                        self.binning, self.fine_scale)
                           for b in (self.bands or [])[1:]]
        self._ready = True

    @property
    def fine_scale(self):
        """arcsec/pixel at which stamps are drawn before binning (``pixel_scale / binning``)."""
        return COSMOS_PIXEL_SCALE if self.binning > 1 else self.pixel_scale

    def make(self, index):
        """Draw example ``index``: a dict of per-example arrays (see ``FIELDS``)."""
        import galsim

        from .noise import draw_noise

        self.setup()
        rng = galaxy_rng(self.seed, index)
        mag, fr, z = self._population.sample_conditions(rng, self.max_flux_radius)
        gal = make_mock_galaxy(mag, fr, z, rng, max_extent=self.max_extent,
                               population=self.population, gsparams=self._gsparams)
        psf_id = int(rng.integers(len(self._psfs)))
        variance = float(rng.choice(self._variances)) * 10.0 ** (-0.8 * self.extra_depth
                                                                 * self.is_deep(index))
        noise_seed = int(rng.integers(1, 2 ** 31 - 1))
        s, p = self.stamp_size, self.pixel_scale
        truth = gal.profile.drawImage(nx=s, ny=s, scale=p, method="no_pixel", dtype=np.float64)
        psf = self._psf_profiles.get(psf_id)
        if psf is None:
            psf = self._psf_profiles[psf_id] = self._psfs.profile(psf_id).withGSParams(
                self._gsparams)
        # With binning f > 1: drawn at 0.03" on an f S grid (same true centre) and summed
        # f x f, i.e. the galaxy convolved with the effective PSF of the coarse pixel.
        f = self.binning
        obs = draw_binned(galsim.Convolve(gal.profile, psf), s, p, f)
        if f == 1:
            obs = obs + math.sqrt(variance) * draw_noise(self._unit_noise, s, p, noise_seed)
            stamp_variance = variance
        else:
            noise = draw_noise(self._unit_noise, f * s, self.fine_scale, noise_seed)
            obs = obs + math.sqrt(variance) * bin_pixels(noise, f)
            stamp_variance = variance * self._unit_variance
        example = {
            "stamp": obs,
            "psf": self._psfs.image(psf_id),
            "noise_variance": stamp_variance,
            "noise_power": variance * self._unit_power,
            "conditions": np.array([mag, fr, z]),
            "parametric": gal.parametric,
            "ident": int(index),
            "truth": truth.array,
            "label": gal.label,
            "psf_id": psf_id,
        }
        if self.bands:
            example.update(self._make_bands(index, gal, mag, z, psf_id, variance, example))
        return example

    def is_deep(self, index):
        """Whether galaxy ``index`` gets the ``extra_depth`` (all of them unless
        ``deep_fraction`` < 1; its own random stream, so the rest of the build is unchanged)."""
        if self.deep_fraction >= 1.0:
            return True
        draw = np.random.default_rng(np.random.SeedSequence([self.seed, index, DEEP_STREAM]))
        return bool(draw.random() < self.deep_fraction)

    def _make_bands(self, index, gal, mag, z, psf_id, variance, mono):
        """The band fields of galaxy ``index`` (its F814W ones are ``mono``'s)."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, index, COLOUR_STREAM]))
        return band_fields(gal, mag, z, self.bands, self._observers, psf_id, variance,
                           self._unit_noise, mono, rng)

    def attrs(self):
        """Root attributes describing the source."""
        pop = get_population(population=self.population)
        selection = dict(pop.describe())
        selection.update({
            "max_flux_radius_pixels_0.03": self.max_flux_radius,
            "min_flux_radius_pixels_0.03": 1.0,
            "mag_auto_max": pop.mag_limit,
            "rule": "conditions re-drawn until mag_auto <= mag_auto_max and "
                    "min <= flux_radius <= max (rejection sampling)",
            "acceptance": pop.acceptance(self.max_flux_radius),
            "noise_variance": "drawn uniformly from the NOISE_VARIANCE of the real catalog",
            "max_extent_arcsec": self.max_extent,
        })
        noise_desc = ("COSMOS HST/ACS F814W correlated noise (galsim.getCOSMOSNoise, "
                      "acs_I_unrot_sci_20_cf.fits)" if self.noise_model == "cosmos"
                      else "white Gaussian noise")
        if self.extra_depth:
            selection["extra_depth_mag"] = self.extra_depth
            subset = ("" if self.deep_fraction >= 1.0 else
                      f" for a random {self.deep_fraction:g} of the galaxies (a deep subset)")
            if subset:
                selection["deep_fraction"] = self.deep_fraction
            noise_desc += (f", {self.extra_depth:g} mag deeper than COSMOS{subset} (the "
                           f"variance times 10**(-0.8 * {self.extra_depth:g}))")
        if self.binning > 1:
            f = self.binning
            selection["pixel_binning"] = f
            selection["noise_variance"] = (
                f"drawn uniformly from the NOISE_VARIANCE of the real catalog (per 0.03 arcsec "
                f"pixel), times {self._binned_unit_variance():.6g}, the pixel variance of unit "
                f"noise binned {f} x {f}")
            noise_desc += (f" of the catalog's variance per 0.03 arcsec pixel, drawn at 0.03 "
                           f"arcsec on a {f * self.stamp_size} x {f * self.stamp_size} grid and "
                           f"binned {f} x {f} (sum); noise_power is the exact spectrum of the "
                           "binned noise")
        from .psf import HSTPSFSet, OpticalPSFSet

        psf_desc = (HSTPSFSet(self.stamp_size, self.pixel_scale).description
                    if self.psf_model == "hst"
                    else OpticalPSFSet(self.stamp_size, self.pixel_scale, self.seed).description)
        truth_desc = ("noiseless unconvolved mock galaxy drawn with method='no_pixel' at the "
                      "stamp's true centre")
        if self.binning > 1:
            truth_desc += (f" at the stamp's {self.pixel_scale:g} arcsec/pixel (the stamp is "
                           f"drawn at 0.03 arcsec and binned {self.binning} x {self.binning})")
        out = {
            "selection": selection,
            "psf_description": psf_desc,
            "noise_description": noise_desc,
            "class_names": list(CLASS_NAMES),
            "truth_description": truth_desc,
            "seed_scheme": "galaxy i uses numpy.random.default_rng(SeedSequence([seed, i]))",
        }
        if self.bands:
            out.update(band_attrs(self.bands))
            out["seed_scheme"] += (f"; its colours and band noise SeedSequence([seed, i, "
                                   f"{COLOUR_STREAM:#x}])")
        return out

    def _binned_unit_variance(self):
        if not self._ready:
            self.setup()
        return self._unit_variance
