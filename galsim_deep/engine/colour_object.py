"""A colour galaxy as one GalSim chromatic object: component images and their SEDs.

:class:`ComponentGalaxy` is what :func:`~galsim_deep.engine.colour.chromatic_profile`
returns for a chromatic module's galaxy: ``sum_k I_k SED_k``, ``I_k`` the reference-band
component images (``galsim.InterpolatedImage``, made by
:func:`~galsim_deep.engine.profiles.galaxy_profile`) and ``SED_k`` their spectra.

It is a ``galsim.ChromaticSum`` of the separable terms ``I_k * SED_k``, so that
every GalSim path that splits a sum stays exact: ``galsim.Convolve(gal, psf).drawImage(
bandpass)`` draws each term through the PSF (chromatic or not) with GalSim's own
integration, one FFT per component.

That call cannot be brought to one FFT per band from the object's side without patching
GalSim (measured in ``docs/performance.rst``, "Colour: the natural call at one FFT per
band?"), because of how GalSim's chromatic drawing is built:

* ``galsim.Convolve`` makes a ``ChromaticConvolution`` of any chromatic argument, with no
  hook: the convolution never tells the object whether its PSF is chromatic.
* ``ChromaticConvolution.drawImage`` splits every ``ChromaticSum`` term by term before it
  looks at anything else: a sum is drawn one FFT per term, whatever the PSF.
* Any other inseparable object is drawn through an "effective profile": with an
  achromatic PSF, GalSim asks the object for its image through the bandpass at half the
  smallest Nyquist scale of its profiles, and wraps that image in a new, padded
  ``InterpolatedImage`` whose ``maxk`` and ``stepk`` it searches.  That image costs more
  than the K FFTs it replaces; only an object that answered on its own pixel grid, not at
  the scale asked (which breaks ``drawImage``'s contract), comes near, and even it stays
  above :meth:`ComponentGalaxy.band_profile`.  With a chromatic PSF GalSim integrates the
  convolution over the band's wavelengths, one FFT each, never calling the object's own
  ``drawImage``: slower than the split.
* A separable object is drawn at the band's effective wavelength times one SED's band
  integral, and GalSim's own ``interpolate()`` (``InterpolatedChromaticObject``) goes
  through the effective profile too.

So no object is split for a chromatic PSF and one image for an achromatic one
(``tests/engine/test_colour_object.py`` checks these premises on GalSim's side, so that a
GalSim release that changes them fails it).

Where one FFT per band matters the object gives the band's image itself:

* :meth:`ComponentGalaxy.band_profile` - ``sum_k f_kb I_k``, ``f_kb`` the flux of
  ``SED_k`` through the bandpass, one achromatic ``galsim.InterpolatedImage`` in
  photons/s/cm^2: ``galsim.Convolve(gal.band_profile(bandpass), psf).drawImage(...)`` is
  the natural call's image (for an achromatic PSF) at one FFT;
* :meth:`ComponentGalaxy.drawImage` - the galaxy through a bandpass, drawn once from
  that image (GalSim's ``ChromaticSum.drawImage`` draws each term);
* :meth:`ComponentGalaxy.evaluateAtWavelength` - the monochromatic galaxy
  ``sum_k SED_k(w) I_k`` as one ``InterpolatedImage``.

An achromatic transformation (``shear``, ``rotate``, ``shift``, ``lens``...) keeps a
``ComponentGalaxy``: its images are transformed alike.
"""
import math

import galsim
import numpy as np

from ..core.errors import InputError
from .profiles import galaxy_profile, grid_frame

__all__ = ["ComponentGalaxy"]


def _check_seds(seds, count):
    """The components' SEDs as a list, checked: one spectral ``galsim.SED`` (or None for a
    component without light) per component."""
    seds = list(seds)
    if len(seds) != count:
        raise InputError(f"a colour galaxy needs one SED per component: {count} component "
                         f"images, {len(seds)} SEDs")
    for k, sed in enumerate(seds):
        if sed is not None and not (isinstance(sed, galsim.SED) and sed.spectral):
            raise InputError(f"component {k}'s SED must be a spectral galsim.SED "
                             f"(photons/s/cm^2/nm) or None, got {sed!r}")
    return seds


class ComponentGalaxy(galsim.ChromaticSum):
    """A colour galaxy ``sum_k I_k SED_k`` from its component images and their SEDs.

    Parameters
    ----------
    arrays : ndarray [K, S, S]
        The reference-band component images (flux per pixel; kept as float32, read-only).
    pixel_scale : float
        arcsec per pixel of ``arrays``.
    seds : sequence of galsim.SED or None
        One spectral SED per component, photons/s/cm^2/nm per unit of the component's
        image flux (:func:`~galsim_deep.engine.colour.component_seds`); None for a
        component without light.  A component whose SED is None or whose image sums to 0
        is left out.
    angle : float or array_like [2, 2], optional
        An exact rotation of the images' pixel grid (radians, counter-clockwise), or a
        catalog shape's linear map of it (:func:`~galsim_deep.engine.profiles.stamp_profile`);
        None for an axis-aligned grid.
    stamp_size : int, optional
        The module's stamp side (pixels) that ``galaxy_profile`` pads in.
    calculate_maxk : bool
        GalSim's own ``maxk`` per image instead of the stamp's band limit.
    jac, offset, flux_ratio : optional
        An achromatic transformation of every image, as ``galsim.Transform`` takes it
        (a 2x2 Jacobian, an offset in arcsec, a flux factor); what ``shear``,
        ``rotate``, ``shift``, ``dilate``, ``lens`` and the like of the galaxy set, so that
        a sheared galaxy keeps :meth:`band_profile`.  (A transformation that is a
        function of wavelength gives GalSim's ``ChromaticSum`` of transformed terms.)
    **options
        ``x_interpolant``, ``k_interpolant``, ``pad_factor``, ``gsparams`` of
        :func:`~galsim_deep.engine.profiles.galaxy_profile`.

    Attributes
    ----------
    arrays : ndarray [K', S, S]
        The images of the components kept (float32, read-only).
    seds : list of galsim.SED
        Their SEDs.
    jac, offset, flux_ratio
        The galaxy's achromatic transformation (None, ``[0, 0]`` and 1 for none).

    Raises
    ------
    InputError
        For arrays that are not ``[K, S, S]`` or not finite, a count of SEDs other than
        ``K``, an SED that is not spectral, or a galaxy with no light.
    """

    def __init__(self, arrays, pixel_scale, seds, angle=None, stamp_size=None,
                 calculate_maxk=False, jac=None, offset=(0.0, 0.0), flux_ratio=1.0,
                 **options):
        arrays = np.asarray(arrays, np.float32)
        if arrays.ndim != 3 or arrays.shape[1] != arrays.shape[2]:
            raise InputError(f"a colour galaxy's component arrays are [K, S, S], got shape "
                             f"{arrays.shape}")
        if not np.isfinite(arrays).all():
            raise InputError("a colour galaxy's component arrays hold non-finite pixels")
        seds = _check_seds(seds, len(arrays))
        keep = [k for k, sed in enumerate(seds)
                if sed is not None and arrays[k].sum(dtype=np.float64) != 0]
        if not keep:
            raise InputError("a chromatic galaxy with no light: its components are all empty")
        self.arrays = arrays[keep]
        self.arrays.flags.writeable = False
        self.seds = [seds[k] for k in keep]
        self.pixel_scale = float(pixel_scale)
        self.angle = grid_frame(angle)
        self.stamp_size = None if stamp_size is None else int(stamp_size)
        self.calculate_maxk = bool(calculate_maxk)
        self.jac = None if jac is None else np.array(jac, np.float64).reshape(2, 2)
        self.offset = np.array(offset, np.float64).reshape(2)
        self.flux_ratio = float(flux_ratio)
        self._options = dict(options)
        self._band_fluxes = {}
        # What galsim.ChromaticSum.__init__ sets, its terms made at their first use
        # (_obj_list): drawing through a band, or band_profile, needs none of them.
        self._gsparams = galsim.GSParams.check(options.get("gsparams"))
        self._propagate_gsparams = True
        self.interpolated, self.deinterpolated, self.separable = False, self, False

    @property
    def _obj_list(self):
        """The terms ``InterpolatedImage(I_k) * SED_k`` of GalSim's ``ChromaticSum``, made
        at the first use (GalSim's convolution and photon shooting split the sum)."""
        if "_terms" not in self.__dict__:
            self._terms = [self._profile(a) * sed for a, sed in zip(self.arrays, self.seds)]
        return self._terms

    @galsim.utilities.lazy_property
    def sed(self):
        """The galaxy's SED, photons/s/cm^2/nm: ``sum_k SED_k`` times each image's flux."""
        det = 1.0 if self.jac is None else abs(float(np.linalg.det(self.jac)))
        fluxes = self.arrays.sum(axis=(1, 2), dtype=np.float64) * self.flux_ratio * det
        sed = None
        for flux, term in zip(fluxes, self.seds):
            sed = term * float(flux) if sed is None else sed + term * float(flux)
        return sed

    # ------------------------------------------------------------------ profiles
    def _profile(self, array):
        """``array`` as :func:`~galsim_deep.engine.profiles.galaxy_profile` wraps it,
        transformed as the galaxy is."""
        profile = galaxy_profile(array, self.pixel_scale, self.angle, self.calculate_maxk,
                                 stamp_size=self.stamp_size, **self._options)
        if self.jac is None and not self.offset.any() and self.flux_ratio == 1.0:
            return profile
        return galsim.Transform(profile, jac=self.jac, offset=tuple(self.offset),
                                flux_ratio=self.flux_ratio)

    def _weighted(self, weights):
        """``sum_k weights_k I_k`` as one ``galsim.InterpolatedImage``."""
        image = np.einsum("k,kxy->xy", np.asarray(weights, np.float64), self.arrays,
                          dtype=np.float64)
        return self._profile(image)

    def band_fluxes(self, bandpass):
        """Each component's flux through ``bandpass`` per unit of its image flux,
        photons/s/cm^2 (``SED_k.calculateFlux(bandpass)``, as GalSim integrates it, so
        that the galaxy draws as GalSim draws its terms).  For the SEDs of
        :func:`~galsim_deep.engine.colour.component_seds` this is the one band-flux
        rule, :func:`galsim_deep.physics.bands.band_fluxes`, in photons: equal on its
        redshift grid, within 2e-4 between grid points (the rule interpolates the
        templates' ratios linearly in redshift; tested).

        Parameters
        ----------
        bandpass : galsim.Bandpass

        Returns
        -------
        ndarray [K]
            float64.
        """
        if bandpass not in self._band_fluxes:
            self._band_fluxes[bandpass] = np.array(
                [sed.calculateFlux(bandpass) for sed in self.seds], np.float64)
        return self._band_fluxes[bandpass]

    def band_profile(self, bandpass):
        """The galaxy through ``bandpass``: ``sum_k f_kb I_k``, one achromatic
        ``galsim.InterpolatedImage`` whose flux is the galaxy's in the band, photons/s/cm^2
        (:meth:`band_fluxes`).  ``galsim.Convolve(gal.band_profile(bandpass),
        psf).drawImage(...)`` is ``galsim.Convolve(gal, psf).drawImage(bandpass, ...)``
        for an achromatic PSF, at one FFT.

        Parameters
        ----------
        bandpass : galsim.Bandpass

        Returns
        -------
        galsim.InterpolatedImage
            (a ``galsim.Transformation`` of one for a transformed galaxy).
        """
        return self._weighted(self.band_fluxes(bandpass))

    # ------------------------------------------------------------------ GalSim's interface
    def evaluateAtWavelength(self, wave):
        """The monochromatic galaxy at ``wave`` (nm): ``sum_k SED_k(wave) I_k``, one
        ``galsim.InterpolatedImage`` (photons/s/cm^2/nm; transformed as the galaxy is)."""
        return self._weighted([float(sed(wave)) for sed in self.seds])

    def drawImage(self, bandpass, image=None, integrator="quadratic", **kwargs):
        """Draw the galaxy through ``bandpass``: :meth:`band_profile` drawn once (the band
        integral of every component is exact, so ``integrator`` is not used).  Photon
        shooting, and photon operators that need wavelengths, go GalSim's way (each
        component's photons with their wavelengths).  Other arguments as
        ``galsim.GSObject.drawImage`` (``area``, ``exptime``, ``nx``, ``scale``, ...).

        Returns
        -------
        galsim.Image
        """
        if kwargs.get("method") == "phot" or kwargs.get("photon_ops"):
            return super().drawImage(bandpass, image, integrator, **kwargs)
        self._last_bp = bandpass
        image = self.band_profile(bandpass).drawImage(image=image, **kwargs)
        self._last_wcs = image.wcs
        return image

    def _rebuilt(self, seds=None, transform=None, **options):
        """This galaxy with other SEDs, transformation ``(jac, offset, flux_ratio)`` or
        ``galaxy_profile`` options."""
        jac, offset, flux_ratio = transform or (self.jac, self.offset, self.flux_ratio)
        return ComponentGalaxy(self.arrays, self.pixel_scale,
                               self.seds if seds is None else seds, self.angle,
                               self.stamp_size, self.calculate_maxk, jac, offset, flux_ratio,
                               **dict(self._options, **options))

    def _transformed(self, name, *args, **kwargs):
        """GalSim's transformation method ``name``: an achromatic one composed with this
        galaxy's own (a ``ComponentGalaxy``), one that is a function of wavelength
        GalSim's way (a ``ChromaticSum`` of transformed terms)."""
        if any(callable(v) for v in (*args, *kwargs.values())):
            return getattr(galsim.ChromaticSum, name)(self, *args, **kwargs)
        step = getattr(galsim.Gaussian(sigma=1.0), name)(*args, **kwargs)
        jac = step.jac if self.jac is None else step.jac @ self.jac
        offset = step.jac @ self.offset + np.array([step.offset.x, step.offset.y])
        return self._rebuilt(transform=(jac, offset, self.flux_ratio * step.flux_ratio))

    def withScaledFlux(self, flux_ratio):
        """The galaxy with its flux times ``flux_ratio``: a ``ComponentGalaxy`` for a number,
        GalSim's ``ChromaticSum`` of scaled terms for an SED or a function of
        wavelength."""
        if isinstance(flux_ratio, (int, float, np.floating, np.integer)):
            return self._rebuilt([sed * float(flux_ratio) for sed in self.seds])
        return super().withScaledFlux(flux_ratio)

    def withGSParams(self, gsparams=None, **kwargs):
        """The galaxy with other ``galsim.GSParams``."""
        if gsparams == self.gsparams and not kwargs:
            return self
        return self._rebuilt(gsparams=galsim.GSParams.check(gsparams, self.gsparams, **kwargs))

    def _atRedshift(self, redshift):
        return self._rebuilt([sed.atRedshift(redshift) for sed in self.seds])

    def _key(self):
        jac = None if self.jac is None else tuple(self.jac.ravel())
        return (self.arrays.shape, self.arrays.tobytes(), self.pixel_scale, self.angle,
                self.stamp_size, self.calculate_maxk, jac, tuple(self.offset),
                self.flux_ratio, tuple(self.seds),
                tuple(sorted((k, repr(v)) for k, v in self._options.items())))

    def __eq__(self, other):
        return self is other or (isinstance(other, ComponentGalaxy)
                                 and self._key() == other._key())

    def __hash__(self):
        if not hasattr(self, "_hash"):
            self._hash = hash(("galsim_deep.ComponentGalaxy",) + self._key())
        return self._hash

    def __repr__(self):
        with np.printoptions(threshold=math.inf, floatmode="unique"):
            arrays = repr(self.arrays)
        options = "".join(f", {k}={v!r}" for k, v in sorted(self._options.items()))
        return (f"galsim_deep.engine.colour_object.ComponentGalaxy(np.{arrays}, "
                f"{self.pixel_scale!r}, {self.seds!r}, angle={self.angle!r}, "
                f"stamp_size={self.stamp_size!r}, calculate_maxk={self.calculate_maxk!r}, "
                f"jac={None if self.jac is None else self.jac.tolist()!r}, "
                f"offset={self.offset.tolist()!r}, flux_ratio={self.flux_ratio!r}"
                f"{options})")

    def __str__(self):
        k, s = len(self.arrays), self.arrays.shape[-1]
        return (f"galsim_deep.ComponentGalaxy({k} components of {s}x{s} pixels at "
                f"{self.pixel_scale}\")")


def _transformation(name):
    """ComponentGalaxy's ``name``: GalSim's transformation of that name."""
    def method(self, *args, **kwargs):
        return self._transformed(name, *args, **kwargs)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"``galsim.ChromaticObject.{name}``: an achromatic one gives a "
                      f"ComponentGalaxy (its images transformed alike), one that is a "
                      f"function of wavelength GalSim's ChromaticSum of transformed terms.")
    return method


for _name in ("expand", "dilate", "magnify", "shear", "lens", "_lens", "rotate", "transform",
              "shift", "_shift"):
    setattr(ComponentGalaxy, _name, _transformation(_name))
