"""Block drawing: a block of generated stamps through one shared PSF, in one Fourier step.

Where every galaxy of a block shares its PSF and its pixel scale (the field renderer,
most YAML fields, BTK within a band), drawing each as a ``galsim.InterpolatedImage``
convolved with the PSF costs one GalSim object, one Fourier transform and one
``drawImage`` per galaxy.  :class:`BlockDrawing` draws the block at once, from the
same continuous profile GalSim draws:

* the model's stamp ``a`` (pixels ``p`` arcsec on a side, interpolated by GalSim's
  ``x_interpolant`` ``K``, centred on the stamp's true centre) has the Fourier
  transform ``I(k) = K^(kx p) K^(ky p) sum_ij a_ij exp(-i k.x_ij)``;
* times the PSF's ``P(k)`` (``drawKImage``) and the output pixel's ``sinc``;
* evaluated straight at the output pixels' centres, each galaxy at its own
  sub-pixel position: ``out = Re(Gy F Gx^T)``.

Both transforms are separable, so the block costs four batched matrix products on a
``K x K`` grid of frequencies (``K`` ~ 50-150) in place of one padded FFT per galaxy.
The frequencies run to the smaller of the PSF's ``maxk`` and the interpolant's reach
(``krange`` over the model's pixel scale: the interpolant carries light beyond the
stamp's band limit onto output pixels finer than the model's), spaced ``2 pi / L``:
the result repeats every ``L`` arcsec, with ``L`` the output stamp's side plus 1.5 model
stamps, so no light of the model's stamp wraps into the output one.  The PSF's own
wings (Kolmogorov, Airy) reach further; the light they wrap is added back as a point
source's: each galaxy's flux times the PSF summed with a period 8 times longer minus
the periodic one, tabulated by offset from the galaxy's centre (a galaxy is a point
seen from the ``L`` arcsec the wrapped wings come from).  Accuracy against GalSim's
converged drawing of the same ``InterpolatedImage`` is tested in
tests/engine/test_block.py (every pixel to 1e-4 of the peak; flux, size and
ellipticity to 1e-4), its cost in ``benchmarks/bench_block.py``.

Only axis-aligned output pixels of one scale can be drawn this way (the output
transform is separable only then): :func:`local_pixel_scale` says when.  A sheared,
exactly rotated or chromatic galaxy is drawn one by one by GalSim:
:func:`galsim_deep.engine.drawing.draw_galaxies` chooses, batch by batch.
"""
import numpy as np

from ..core.errors import InputError

__all__ = ["BlockDrawing", "local_pixel_scale", "stamp_frames", "block_drawing", "draw_batch",
           "batch_drawing"]

#: How far a local WCS may be from a uniform pixel scale and still be drawn as one: its
#: Jacobian within this fraction of the scale (a shape error of 1e-6 is 100 times below
#: the block's accuracy; a TAN field's local frame turns by more away from its centre).
PIXEL_SCALE_RTOL = 1e-6

#: The PSF's wrapped wings are measured against its drawing with a period this many times
#: longer (an Airy PSF's wings fall as r^-3, a Kolmogorov's as r^-11/3: what still wraps
#: there is below 1e-5 of the flux on the stamp).
WRAP_PERIODS = 8
#: The PSF's Fourier transform is drawn out to where it falls to this fraction of its
#: peak (GalSim's ``maxk_threshold``; its default, 1e-3, cuts a narrow PSF's transform
#: where the light it leaves off is above the 1e-4 of the peak the blocks are held to).
MAXK_THRESHOLD = 1e-4
#: At most this many tabulated offsets per axis for the wrapped wings (every pixel of a
#: stamp up to 64 pixels; every other pixel up to 128...).
WRAP_POINTS = 128

# threadpoolctl's view of the BLAS libraries numpy loaded (made at the first draw).
_BLAS = []

# BlockDrawing instances by their settings (a field draws thousands of blocks with one PSF).
_CACHE = {}
_CACHE_SIZE = 8


def local_pixel_scale(local_wcs, rtol=PIXEL_SCALE_RTOL):
    """The pixel scale of a local WCS that is a uniform, axis-aligned scale, else None.

    Parameters
    ----------
    local_wcs : galsim.BaseWCS
        A local WCS (``wcs.local(image_pos)``).
    rtol : float
        Tolerance on the Jacobian's off-diagonal terms and on the difference of its
        diagonal ones, as a fraction of the scale.

    Returns
    -------
    float or None
        arcsec per pixel.
    """
    jac = local_wcs.jacobian()
    scale = 0.5 * (jac.dudx + jac.dvdy)
    if scale <= 0:
        return None
    if max(abs(jac.dudx - jac.dvdy), abs(jac.dudy), abs(jac.dvdx)) > rtol * scale:
        return None
    return float(scale)


def stamp_frames(x, y, stamp_size):
    """Where GalSim's ``drawImage(nx=stamp_size, ny=stamp_size, center=nearest,
    offset=position - nearest)`` lays each galaxy's stamp, for galaxies at ``x``, ``y``.

    Parameters
    ----------
    x, y : array_like [n]
        Positions, image pixels (1-based, GalSim's convention).
    stamp_size : int
        Stamp side, pixels.

    Returns
    -------
    corner : ndarray [n, 2]
        int64: each stamp's lower-left pixel (``xmin``, ``ymin``).
    centres : ndarray [n, 2]
        Each galaxy's centre on its stamp, 0-based pixel index (the ``centres`` of
        :meth:`BlockDrawing.draw`).
    """
    position = np.stack([np.asarray(x, np.float64), np.asarray(y, np.float64)], axis=-1)
    nearest = np.floor(position + 0.5)
    half = (int(stamp_size) - 1) // 2
    return (nearest - half).astype(np.int64), half + position - nearest


class BlockDrawing:
    """Draw blocks of model stamps through one PSF onto output stamps of one pixel scale.

    Parameters
    ----------
    psf : galsim.GSObject
        The PSF every galaxy of a block shares (not chromatic).
    model_side : int
        Side (pixels) of the stamps to draw (a resampled rotation's grid, or the
        model's own stamp).
    model_scale : float
        Their pixel scale, arcsec.
    stamp_size : int
        Side of the output stamps, pixels.
    pixel_scale : float
        Output pixel scale, arcsec.
    x_interpolant : str or galsim.Interpolant, optional
        The model stamps' interpolant, as their ``galsim.InterpolatedImage`` (default
        quintic).
    """

    def __init__(self, psf, model_side, model_scale, stamp_size, pixel_scale,
                 x_interpolant=None):
        import galsim

        if not isinstance(psf, galsim.GSObject):
            raise InputError(f"block drawing needs one achromatic PSF (a galsim.GSObject), got "
                             f"{type(psf).__name__}: draw chromatic galaxies one by one")
        self.model_side, self.model_scale = int(model_side), float(model_scale)
        self.stamp_size, self.pixel_scale = int(stamp_size), float(pixel_scale)
        interpolant = galsim.Interpolant.from_name(x_interpolant or "quintic") \
            if not isinstance(x_interpolant, galsim.Interpolant) else x_interpolant
        period = self.stamp_size * self.pixel_scale + 1.5 * self.model_side * self.model_scale
        dk = 2 * np.pi / period
        # The PSF's maxk at a threshold of MAXK_THRESHOLD (GalSim's default, 1e-3, cut a
        # Gaussian PSF's transform where the pixels it drops are 1e-4 of the peak)
        maxk = psf.withGSParams(maxk_threshold=min(psf.gsparams.maxk_threshold,
                                                   MAXK_THRESHOLD)).maxk
        half = int(np.ceil(min(interpolant.krange / self.model_scale, maxk) / dk))
        through, k = self._through(psf, half, dk)
        self._k = k
        self._pixel_phases = {}
        x_model = (np.arange(self.model_side) - (self.model_side - 1) / 2) * self.model_scale
        phase = np.outer(k, x_model)                                            # [K, R]
        # The stamps are real, so their spectra are Hermitian: the x frequencies >= 0
        # carry them (those > 0 counted twice), and the y transform is two real products.
        self._cos, self._sin = np.cos(phase).astype(np.float32), np.sin(phase).astype(np.float32)
        self._to_kx = np.exp(-1j * phase[half:]).astype(np.complex64)            # [K/2, R]
        kernel = interpolant.kval(k * self.model_scale)
        twice = np.where(k[half:] > 0, 2.0, 1.0)
        self._weights = (np.outer(kernel, kernel[half:] * twice)
                         * through[:, half:]).astype(np.complex64)
        # The PSF's wings beyond the period, wrapped back by the sum: the PSF drawn with a
        # period WRAP_PERIODS times longer minus the periodic one, per unit flux, tabulated
        # against a pixel's offset from the galaxy's centre (a galaxy anywhere on its
        # stamp: offsets to +-stamp_size pixels) (at most WRAP_POINTS per axis).  It is
        # the far wings of copies a period away: smooth, so linear interpolation holds it.
        step = max(1, -(-2 * self.stamp_size // WRAP_POINTS))
        self._wrap_offsets = np.arange(-self.stamp_size, self.stamp_size + step, step)
        x = self._wrap_offsets * self.pixel_scale
        self._wrapped = (self._psf_at(psf, period * WRAP_PERIODS, x)
                         - self._psf_at(psf, period, x)).astype(np.float32)

    def _psf_at(self, psf, period, x):
        """The PSF and pixel at offsets ``x`` (arcsec, per axis) from its centre, as the sum
        over frequencies ``2 pi / period`` apart (to the same highest frequency) draws it:
        every copy of the PSF ``period`` arcsec apart added."""
        dk = 2 * np.pi / period
        half = int(np.ceil(self._k[-1] / dk - 1e-9))
        through, k = self._through(psf, half, dk)
        to_pixels = np.exp(1j * np.outer(x, k))
        return (to_pixels @ through @ to_pixels.T).real

    def _through(self, psf, half, dk):
        """The PSF's and the output pixel's Fourier transforms on the grid of ``2 half + 1``
        frequencies ``dk`` apart per axis, times the sum's measure, and the frequencies."""
        k = dk * np.arange(-half, half + 1)
        pixel = np.sinc(k * self.pixel_scale / (2 * np.pi))
        # drawKImage puts k = 0 at index half + 1 of an even grid of 2 half + 2
        psf_k = psf.drawKImage(nx=2 * half + 2, ny=2 * half + 2, scale=dk).array[1:, 1:]
        return np.outer(pixel, pixel) * psf_k * (dk * self.pixel_scale / (2 * np.pi)) ** 2, k

    @property
    def frequencies(self):
        """Number of frequencies per axis (the ``K`` of the ``K x K`` grid)."""
        return len(self._k)

    def _to_pixels(self, centres, k):
        """``[B, N, len(k)]``: the inverse transform onto output pixels ``n`` of galaxies
        centred at ``centres`` (0-based pixel index along the axis):
        ``exp(i k p n) exp(-i k p c)``, the first factor tabulated once per drawing."""
        key = len(k)
        if key not in self._pixel_phases:
            x = np.arange(self.stamp_size) * self.pixel_scale
            self._pixel_phases[key] = np.exp(1j * np.outer(x, k))
        shift = np.exp(-1j * (np.asarray(centres, np.float64) * self.pixel_scale)[:, None]
                       * k)
        return (self._pixel_phases[key] * shift[:, None, :]).astype(np.complex64)

    def draw(self, arrays, centres=None):
        """Draw a block of stamps.

        Parameters
        ----------
        arrays : ndarray [B, R, R]
            Flux per pixel of each model stamp (already rotated and scaled to its flux),
            ``R = model_side``.
        centres : ndarray [B, 2], optional
            Where each galaxy's centre falls on its output stamp: (x, y) in 0-based
            pixel index.  The default, ``(stamp_size - 1) // 2``, is the pixel that GalSim's
            ``drawImage(center=...)`` centres a profile on (add a sub-pixel ``offset``
            to it); ``(stamp_size - 1) / 2`` is the stamp's true centre.

        Returns
        -------
        ndarray [B, N, N]
            float32 flux per output pixel, ``N = stamp_size``.
        """
        return self.images(*self.spectra(arrays), centres)

    def spectra(self, arrays):
        """The first half of :meth:`draw`, which does not depend on where the galaxies fall:
        the stamps' Fourier transforms through the PSF and pixel, and their fluxes.

        Parameters
        ----------
        arrays : ndarray [B, R, R]
            As :meth:`draw`.

        Returns
        -------
        spectra : ndarray [B, K, K/2]
            complex64, on the drawing's frequencies.
        fluxes : ndarray [B]
            float32, each stamp's flux.
        """
        arrays = np.asarray(arrays, np.float32)
        if arrays.shape[1:] != (self.model_side, self.model_side):
            raise InputError(f"this block drawing takes stamps of {self.model_side} x "
                             f"{self.model_side} pixels, got {arrays.shape[1:]}")
        with _one_blas_thread():
            rows = (self._cos @ arrays) - 1j * (self._sin @ arrays)             # [B, K, R]
            spectra = rows.astype(np.complex64) @ self._to_kx.T * self._weights  # [B, K, K/2]
        fluxes = arrays.reshape(len(arrays), -1).sum(axis=1, dtype=np.float64)
        return spectra, fluxes.astype(np.float32)

    def images(self, spectra, fluxes, centres=None):
        """The second half of :meth:`draw`: :meth:`spectra` onto the output stamps, each
        galaxy centred at its ``centres`` (as :meth:`draw`'s).

        Returns
        -------
        ndarray [B, N, N]
            float32 flux per output pixel.
        """
        n = len(spectra)
        if centres is None:
            centres = np.full((n, 2), float((self.stamp_size - 1) // 2))
        centres = np.asarray(centres, np.float64).reshape(n, 2)
        half = len(self._k) // 2
        with _one_blas_thread():
            out_x = self._to_pixels(centres[:, 0], self._k[half:])
            out_y = self._to_pixels(centres[:, 1], self._k)
            images = (out_y @ spectra @ out_x.transpose(0, 2, 1)).real
        return images + np.asarray(fluxes, np.float32)[:, None, None] * \
            self.wrapped_wings(centres)

    def wrapped_wings(self, centres):
        """``[B, N, N]``: the PSF's wings that the sum wraps back, per unit flux, for
        galaxies centred at ``centres`` (0-based pixel index), by linear interpolation in
        the table of offsets."""
        offsets = self._wrap_offsets
        step = float(offsets[1] - offsets[0])

        def weights(centre):          # [B, N]: lower table index and its weight
            place = (np.arange(self.stamp_size)[None, :] - np.asarray(centre)[:, None]
                     - offsets[0]) / step
            low = np.clip(np.floor(place).astype(np.int64), 0, len(offsets) - 2)
            return low, (place - low).astype(np.float32)

        (iy, wy), (ix, wx) = weights(centres[:, 1]), weights(centres[:, 0])
        table = self._wrapped
        iy, wy = iy[:, :, None], wy[:, :, None]
        ix, wx = ix[:, None, :], wx[:, None, :]
        return ((1 - wy) * ((1 - wx) * table[iy, ix] + wx * table[iy, ix + 1])
                + wy * ((1 - wx) * table[iy + 1, ix] + wx * table[iy + 1, ix + 1]))


def _one_blas_thread():
    """Hold numpy's BLAS to one thread: a block's products are small, the network and the
    other workers hold the other cores, and BLAS threads fighting them for a core made a
    block several times slower (how much: ``docs/performance.rst``, "Block drawing")."""
    if not _BLAS:
        from threadpoolctl import ThreadpoolController

        _BLAS.append(ThreadpoolController())
    return _BLAS[0].limit(limits=1, user_api="blas")


def block_drawing(psf, model_side, model_scale, stamp_size, pixel_scale, x_interpolant=None):
    """A :class:`BlockDrawing` for these settings, made once per process and kept (the
    last few; GalSim's profiles compare and hash by value)."""
    key = (psf, int(model_side), float(model_scale), int(stamp_size), float(pixel_scale),
           repr(x_interpolant))
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = BlockDrawing(psf, model_side, model_scale, stamp_size, pixel_scale,
                                   x_interpolant)
    return _CACHE[key]


def draw_batch(batch, psf, stamp_size, pixel_scale, centres=None, factors=None,
               x_interpolant=None):
    """Draw a sampled batch's galaxies through one PSF in one block, or say it cannot.

    Parameters
    ----------
    batch : galsim_deep.engine.batch.SampledBatch
        The galaxies (every row).
    psf : galsim.GSObject
        The PSF they share.
    stamp_size : int
        Output stamp side, pixels.
    pixel_scale : float
        Output pixel scale, arcsec (:func:`local_pixel_scale` of each galaxy's WCS).
    centres : ndarray [N, 2], optional
        Each galaxy's centre on its stamp, 0-based pixel index (see
        :meth:`BlockDrawing.draw`).
    factors : sequence, optional
        One flux factor per row (:func:`~galsim_deep.engine.batch.flux_factors`).
    x_interpolant : str, optional
        As the per-galaxy ``InterpolatedImage`` (default quintic).

    Returns
    -------
    ndarray or None
        ``[N, stamp_size, stamp_size]`` float32 flux per pixel; None where the batch's kind
        cannot be drawn in a block
        (:meth:`~galsim_deep.engine.kinds.SamplingKind.block_images`): draw its
        :meth:`~galsim_deep.engine.batch.SampledBatch.galaxies` one by one
        (:func:`galsim_deep.engine.drawing.draw_galaxies` does).
    """
    prepared = batch_drawing(batch, psf, stamp_size, pixel_scale, factors, x_interpolant)
    return None if prepared is None else prepared[0].draw(prepared[1], centres)


def batch_drawing(batch, psf, stamp_size, pixel_scale, factors=None, x_interpolant=None):
    """What :func:`draw_batch` draws: the batch's model stamps
    (:meth:`~galsim_deep.engine.kinds.SamplingKind.block_images`) and the
    :func:`block_drawing` that takes them through ``psf``, or None where the kind cannot be
    drawn in a block.  Arguments as :func:`draw_batch`.

    Returns
    -------
    (BlockDrawing, ndarray [N, R, R]) or None
    """
    images = batch.kind.block_images(batch, factors)
    if images is None:
        return None
    return block_drawing(psf, images.shape[-1], batch.pixel_scale, stamp_size, pixel_scale,
                         x_interpolant), images
