"""PSFs of the training stamps: real HST PSF images and varying optical PSFs.

Every PSF here is an *effective* PSF (optics convolved with the pixel
response) at the stamp's pixel scale, so stamps are drawn with
``method='no_pixel'`` and the stored PSF image is the same profile drawn the
same way, normalised to unit sum and with its centroid on pixel
``(S//2, S//2)`` (``docs/architecture.rst``; see :func:`centre_psf`).

* :class:`HSTPSFSet` - the 100 real HST/ACS F814W PSF images of the COSMOS
  example sample, at 0.03 arcsec/pixel or at a whole multiple ``f x 0.03``
  (drawn at 0.03 on a grid ``f`` times larger and binned ``f x f``, exactly:
  see :mod:`galsim_deep.data.binning`).
* :class:`OpticalPSFSet` - ``galsim.OpticalPSF`` for HST's aperture (2.4 m,
  33% obscuration, 4 struts) at 814 nm with random low-order aberrations,
  convolved with the pixel at any pixel scale.
"""
import numpy as np

from .binning import binning_factor, draw_binned, fine_offset
from .example_data import example_psf_images
from .format import COSMOS_PIXEL_SCALE
from ..core.errors import InputError

__all__ = ["draw_psf_image", "centre_psf", "HSTPSFSet", "OpticalPSFSet", "make_psf_set", "PSF_MODELS"]

#: PSF models the mock source accepts.
PSF_MODELS = ("hst", "optical")


def draw_psf_image(psf, stamp_size, pixel_scale, binning=1):
    """Draw an effective PSF on an ``S x S`` stamp, unit sum, centred on pixel (S//2, S//2).

    Parameters
    ----------
    psf : galsim.GSObject
        Effective PSF (pixel response included), centred at its origin: the
        response of a pixel of ``pixel_scale / binning`` arcsec.
    stamp_size : int
        Stamp size S in pixels.
    pixel_scale : float
        arcsec/pixel of the stamp.
    binning : int, optional
        ``f``: draw ``psf`` at ``pixel_scale / f`` on an ``f S x f S`` grid,
        with its centre on the fine position of coarse pixel ``(S//2, S//2)``
        (:func:`~galsim_deep.data.binning.fine_offset`), and sum ``f x f``
        blocks: the effective PSF of the ``pixel_scale`` pixel.  Default 1
        (drawn directly).

    Returns
    -------
    image : numpy.ndarray
        float64 ``[S, S]``, unit sum.
    captured : float
        Fraction of the PSF's flux inside the stamp before normalisation.
    """
    f = int(binning)
    # The true centre of an even stamp lies half a pixel below pixel S//2 on each axis
    # (f / 2 fine pixels on the fine grid of a binned stamp).
    image = draw_binned(psf, stamp_size, pixel_scale, f, offset=fine_offset(stamp_size, f))
    total = image.sum()
    if not total > 0:
        raise InputError("the PSF drawn on the stamp has no positive flux: the stamp is too small "
                         "for this PSF, use a larger stamp_size")
    return image / total, float(total / psf.flux)


def centre_psf(psf, pixel_scale, size=65):
    """Shift a PSF so that its centroid (first moment) is at the origin.

    The real HST PSF images of COSMOS have their peak about one pixel from the
    image centre, and optical PSFs with coma have an off-centre centroid; a PSF
    centred this way does not move the galaxy it convolves (the centroid of a
    convolution is the sum of the centroids).

    Parameters
    ----------
    psf : galsim.GSObject
        Effective PSF.
    pixel_scale : float
        arcsec/pixel of the stamps.
    size : int, optional
        Odd size (pixels) of the image on which the centroid is measured (default 65).

    Returns
    -------
    galsim.GSObject
        ``psf`` shifted by minus its centroid.
    """
    image = psf.drawImage(nx=size, ny=size, scale=pixel_scale, method="no_pixel",
                          dtype=np.float64).array
    c = (size - 1) / 2
    y, x = np.mgrid[:size, :size]
    total = image.sum()
    dx = (image * (x - c)).sum() / total
    dy = (image * (y - c)).sum() / total
    return psf.shift(-dx * pixel_scale, -dy * pixel_scale)


class _PSFSet:
    """Common caching of profiles and stamp images (per process).

    ``binning`` (``f``) is 1 when the profiles are effective PSFs of the stamp's
    pixel; otherwise they are effective PSFs of pixels ``f`` times smaller
    (``profile_scale = pixel_scale / f``), and stamps and PSF images are drawn
    at ``profile_scale`` on grids ``f`` times larger and binned.
    """

    binning = 1

    def __init__(self, stamp_size, pixel_scale):
        self.stamp_size = int(stamp_size)
        self.pixel_scale = float(pixel_scale)
        self.profile_scale = self.pixel_scale / self.binning
        self._profiles = {}
        self._images = {}

    def __len__(self):
        return self.n

    def profile(self, i):
        """The effective PSF number ``i`` (unit flux), centred by :func:`centre_psf`."""
        i = int(i)
        if not 0 <= i < self.n:
            raise IndexError(f"PSF index {i} out of range 0..{self.n - 1}")
        if i not in self._profiles:
            self._profiles[i] = centre_psf(self._make_profile(i), self.profile_scale)
        return self._profiles[i]

    def image(self, i):
        """The PSF number ``i`` drawn on the stamp (float64 ``[S, S]``, unit sum)."""
        i = int(i)
        if i not in self._images:
            self._images[i] = draw_psf_image(self.profile(i), self.stamp_size,
                                             self.pixel_scale, binning=self.binning)[0]
        return self._images[i]


class HSTPSFSet(_PSFSet):
    """The 100 real HST/ACS F814W PSF images of the COSMOS example sample.

    Parameters
    ----------
    stamp_size : int
        Stamp size in pixels.
    pixel_scale : float
        0.03 arcsec/pixel or a whole multiple ``f x 0.03`` (0.06, 0.09, ...).
        The images are effective PSFs (pixel response included) at COSMOS's
        0.03 arcsec pixels; at ``f x 0.03`` they are drawn at 0.03 on an
        ``f S x f S`` grid and binned ``f x f`` (:attr:`binning` = ``f``),
        which gives the effective PSF of the coarse pixel exactly.
    """

    description = ("real HST/ACS F814W PSF images of the 100 COSMOS example galaxies "
                   "(galsim_deep/data/cosmos_example/real_galaxy_PSF_images.fits), effective "
                   "PSFs at 0.03 arcsec/pixel as galsim.InterpolatedImage (quintic), one chosen "
                   "uniformly at random per stamp (psf_id = HDU)")

    def __init__(self, stamp_size, pixel_scale):
        self.binning = binning_factor(pixel_scale, COSMOS_PIXEL_SCALE,
                                      what="psf='hst' (the real HST PSF images)")
        super().__init__(stamp_size, pixel_scale)
        self.profile_scale = COSMOS_PIXEL_SCALE
        self._arrays = example_psf_images()
        self.n = len(self._arrays)
        if self.binning > 1:
            self.description = (
                f"{HSTPSFSet.description}; drawn at 0.03 arcsec/pixel on a "
                f"{self.binning * self.stamp_size} x {self.binning * self.stamp_size} grid and "
                f"binned {self.binning} x {self.binning} (sum) to {self.pixel_scale:g} "
                "arcsec/pixel: the effective PSF of the coarse pixel")

    def _make_profile(self, i):
        import galsim

        return galsim.InterpolatedImage(galsim.Image(self._arrays[i], scale=self.profile_scale),
                                        flux=1.0)


class OpticalPSFSet(_PSFSet):
    """A fixed set of HST-like optical PSFs with random aberrations.

    PSF ``i`` is ``galsim.OpticalPSF(lam=814 nm, diam=2.4 m, obscuration=0.33,
    nstruts=4)`` with defocus, two astigmatisms, two comas and spherical
    aberration drawn from a normal distribution of ``aberration_rms`` waves
    (seeded by ``numpy.random.SeedSequence([seed, 0x0b7, i])``), convolved
    with a Gaussian of 0.01 arcsec sigma (charge diffusion and jitter) and
    with the pixel (``galsim.Pixel(pixel_scale)``).

    Parameters
    ----------
    stamp_size : int
        Stamp size in pixels.
    pixel_scale : float
        arcsec/pixel (any).
    seed : int
        Seed of the aberrations.
    n : int, optional
        Number of PSFs in the set (default 64).
    aberration_rms : float, optional
        RMS of each aberration coefficient in waves (default 0.05).
    """

    def __init__(self, stamp_size, pixel_scale, seed, n=64, aberration_rms=0.05):
        super().__init__(stamp_size, pixel_scale)
        self.seed = int(seed)
        self.n = int(n)
        self.aberration_rms = float(aberration_rms)
        self.description = (
            f"{self.n} galsim.OpticalPSF (lam=814 nm, diam=2.4 m, obscuration=0.33, 4 struts) "
            f"with random aberrations (defocus, astigmatism, coma, spherical; rms "
            f"{self.aberration_rms} waves), convolved with a 0.01 arcsec Gaussian and the "
            f"{self.pixel_scale} arcsec pixel; one chosen uniformly at random per stamp")

    def aberrations(self, i):
        """Zernike coefficients (waves, Noll index 0..11) of PSF ``i``."""
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0x0B7, int(i)]))
        ab = np.zeros(12)
        ab[4:12] = rng.normal(0.0, self.aberration_rms, size=8)
        ab[9:11] = 0.0  # trefoil off: keep the low-order terms listed above
        return ab

    def _make_profile(self, i):
        import galsim

        optics = galsim.OpticalPSF(lam=814.0, diam=2.4, obscuration=0.33, nstruts=4,
                                   strut_thick=0.03, aberrations=self.aberrations(i),
                                   scale_unit=galsim.arcsec)
        return galsim.Convolve(optics, galsim.Gaussian(sigma=0.01),
                               galsim.Pixel(self.pixel_scale))


def make_psf_set(model, stamp_size, pixel_scale, seed):
    """Build the PSF set of a mock source.

    Parameters
    ----------
    model : {'hst', 'optical'}
        See :class:`HSTPSFSet` and :class:`OpticalPSFSet`.
    stamp_size : int
        pixels.
    pixel_scale : float
        arcsec/pixel.
    seed : int
        Seed of the optical aberrations (unused for 'hst').
    """
    if model == "hst":
        return HSTPSFSet(stamp_size, pixel_scale)
    if model == "optical":
        return OpticalPSFSet(stamp_size, pixel_scale, seed)
    raise InputError(f"unknown PSF model {model!r}: choose one of {', '.join(PSF_MODELS)}")
