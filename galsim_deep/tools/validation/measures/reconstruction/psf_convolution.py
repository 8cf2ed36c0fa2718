"""Zero-padded FFT convolution of stamps with their PSFs, as the networks train through it.

:class:`PSFConvolver` convolves images with one PSF whose transform it computes
once (the parametric fits, :mod:`~galsim_deep.tools.validation.measures.reconstruction.sersic_fit`,
call it at every step); :func:`convolve_stamps` convolves a stack of images, each with
its own PSF (the reconstructions,
:mod:`~galsim_deep.tools.validation.measures.reconstruction.compute`).  Both equal
:func:`galsim_deep.physics.forward_model.convolve_psf` with ``mode='zero'``,
computed in numpy: a PSF centred on pixel ``(S//2, S//2)`` does not shift the
image.
"""
import numpy as np
from scipy import signal

from .....core.errors import InputError


__all__ = ["PSFConvolver", "convolve_stamps"]


def _convolve(image, psf):
    c = image.shape[-1] // 2
    s = image.shape[-1]
    return signal.fftconvolve(image, psf, mode="full")[c:c + s, c:c + s]


class PSFConvolver:
    """Linear (zero-padded) FFT convolution with one PSF, its transform computed once.

    ``PSFConvolver(psf)(image)`` equals
    ``scipy.signal.fftconvolve(image, psf, mode='full')[c:c + S, c:c + S]``
    (``c = S // 2``), which is :func:`galsim_deep.physics.forward_model.convolve_psf`
    with ``mode='zero'``: a PSF centred on pixel ``(S//2, S//2)`` does not
    shift the image.

    Parameters
    ----------
    psf : array_like [S, S]
        Effective PSF at the stamp's pixel scale (any normalisation is kept).
    """

    def __init__(self, psf):
        psf = np.asarray(psf, np.float64)
        if psf.ndim != 2 or psf.shape[0] != psf.shape[1]:
            raise InputError(f"the PSF must be a square image, got shape {psf.shape}")
        self.size = psf.shape[0]
        self._n = 2 * self.size
        self._c = self.size // 2
        self._kernel = np.fft.rfft2(psf, s=(self._n, self._n))

    def __call__(self, image):
        """Convolve ``image`` ``[..., S, S]`` (flux per pixel) with the PSF."""
        image = np.asarray(image, np.float64)
        full = np.fft.irfft2(np.fft.rfft2(image, s=(self._n, self._n)) * self._kernel,
                             s=(self._n, self._n))
        c, s = self._c, self.size
        return full[..., c:c + s, c:c + s]


def convolve_stamps(images, psfs):
    """Convolve each image with its own PSF (zero-padded FFT, see :class:`PSFConvolver`).

    Parameters
    ----------
    images, psfs : array_like [N, S, S]
        Unconvolved images (flux per pixel) and their effective PSFs (unit
        sum, centred on pixel ``(S//2, S//2)``).

    Returns
    -------
    ndarray [N, S, S]
        float64, flux per pixel.
    """
    images = np.asarray(images, np.float64)
    psfs = np.asarray(psfs, np.float64)
    if images.ndim != 3 or psfs.shape != images.shape or images.shape[1] != images.shape[2]:
        raise InputError(f"images and psfs must both be [N, S, S], got {images.shape} and "
                         f"{psfs.shape}")
    s = images.shape[1]
    n, c = 2 * s, s // 2
    out = np.empty_like(images)
    for start in range(0, len(images), 256):  # bounded memory: 256 padded FFTs at a time
        stop = start + 256
        full = np.fft.irfft2(np.fft.rfft2(images[start:stop], s=(n, n))
                             * np.fft.rfft2(psfs[start:stop], s=(n, n)), s=(n, n))
        out[start:stop] = full[:, c:c + s, c:c + s]
    return out
