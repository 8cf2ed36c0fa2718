"""Texture: the azimuthal power spectrum of noiseless, unconvolved galaxy stamps.

A decoder's texture (blotches a few pixels wide, nearest-neighbour blocks, a
frame of light outside the galaxy) leaves power at spatial frequencies where
a smooth galaxy has little; a profile too smooth (a Sérsic, with no knots or
arms) or too soft in its core has too little at the highest.
:func:`azimuthal_power` gives each stamp's power spectrum, normalised to unit
flux and averaged over annuli of spatial frequency; :func:`texture_report`
compares each sample's median spectrum with the truth's and sums it up in
:data:`K_BANDS` as **power ratios**: the median over galaxies of the mean
power in the band, over the truth's (1: the truth's texture).  The
``features`` band (0.05-0.25 cycles per pixel: features of 4 to 20 pixels)
shows blotches; the ``fine`` band (0.25 cycles per pixel and above, under 4
pixels) shows the sharpness of cores and knots, and a grid's pixel-scale
edges.

Caveats.  The spectra are of unit-flux stamps, so a sample of smaller (or
more concentrated) galaxies has more power at high frequency without any
texture: compare the ratios with the size bias of the same report.  The
galaxies of the generated sample are drawn for the truths' catalog rows, not
fitted to them, so only the populations' spectra compare, not galaxy by
galaxy.

:func:`axis_power_ratio` measures the one texture a population of randomly oriented
galaxies cannot have: power that prefers the pixel grid's axes (cross-hatching,
rectangular blocks, straight horizontal and vertical edges), as the ratio of the
population's power near the axes to its power near the diagonals at the same
frequencies (:func:`axis_power`, per stamp).
"""
import numpy as np

from .....core.errors import InputError

__all__ = ["azimuthal_power", "band_power", "axis_power", "axis_power_ratio",
           "median_ratio_error",
           "texture_report", "K_BANDS"]


#: The frequency bands of the power ratios, cycles per pixel ``[low, high)``, with what
#: they show.
K_BANDS = {"features": (0.05, 0.25, "features of 4-20 pixels: blotches, knots"),
           "fine": (0.25, 0.51, "under 4 pixels: cores, sharp knots, grid edges")}


def azimuthal_power(images):
    """Each stamp's power spectrum at unit flux, averaged over annuli of spatial frequency.

    Parameters
    ----------
    images : ndarray [N, S, S]
        Noiseless stamps, flux per pixel.

    Returns
    -------
    k : ndarray [S // 2 + 1]
        Annulus centres, cycles per pixel (``0, 1/S, ..., 1/2``).
    power : ndarray [N, S // 2 + 1]
        ``|FFT(image / sum(image))|**2`` averaged over each annulus ``|k - k_i| < 1 / (2 S)``;
        NaN for a stamp without positive, finite flux.
    """
    images = np.asarray(images, np.float64)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise InputError(f"azimuthal_power needs square stamps [N, S, S], got {images.shape}")
    size = images.shape[-1]
    freq = np.fft.fftfreq(size)
    radius = np.hypot(freq[:, None], freq[None, :])
    which = np.rint(radius * size).astype(int).ravel()
    n_bins = size // 2 + 1
    inside = which < n_bins
    counts = np.bincount(which[inside], minlength=n_bins)
    flux = images.sum(axis=(1, 2))
    ok = np.isfinite(images).all(axis=(1, 2)) & (flux > 0)
    power = np.full((len(images), n_bins), np.nan)
    if ok.any():
        spectra = np.abs(np.fft.fft2(images[ok] / flux[ok, None, None])) ** 2
        flat = spectra.reshape(len(spectra), -1)[:, inside]
        sums = np.stack([np.bincount(which[inside], weights=row, minlength=n_bins)
                         for row in flat])
        power[ok] = sums / counts
    return np.arange(n_bins) / size, power


def band_power(k, power, low, high):
    """Per stamp, the mean of its annulus powers at ``low <= k < high`` (cycles per pixel)."""
    return np.nanmean(power[:, (k >= low) & (k < high)], axis=1)


def axis_power(images, low=0.2, high=0.51, half_width=np.pi / 16):
    """Each stamp's power along the pixel axes and along the diagonals.

    Parameters
    ----------
    images : ndarray [N, S, S]
        Noiseless stamps, flux per pixel.
    low, high : float
        The frequency band, cycles per pixel ``[low, high)``.
    half_width : float
        Half-width of the wedges about the axes (0 and 90 degrees) and about the
        diagonals (45 and 135 degrees), radians.

    Returns
    -------
    ndarray [N, 2]
        The mean unit-flux power in the axis wedges and in the diagonal wedges; NaN for
        a stamp without positive, finite flux.  One galaxy's ratio follows its
        orientation; over a randomly oriented population, the ratio of the sums
        (:func:`axis_power_ratio`) is about 1, and far above 1 with cross-hatching.
    """
    images = np.asarray(images, np.float64)
    if images.ndim != 3 or images.shape[1] != images.shape[2]:
        raise InputError(f"axis_power needs square stamps [N, S, S], got {images.shape}")
    freq = np.fft.fftfreq(images.shape[-1])
    kx, ky = freq[None, :], freq[:, None]
    radius = np.hypot(kx, ky)
    angle = np.mod(np.arctan2(ky, kx), np.pi / 2)  # folded onto [0, 90) degrees
    band = (radius >= low) & (radius < high)
    axes = band & ((angle < half_width) | (angle > np.pi / 2 - half_width))
    diagonals = band & (np.abs(angle - np.pi / 4) < half_width)
    flux = images.sum(axis=(1, 2))
    ok = np.isfinite(images).all(axis=(1, 2)) & (flux > 0)
    out = np.full((len(images), 2), np.nan)
    if ok.any():
        power = np.abs(np.fft.fft2(images[ok] / flux[ok, None, None])) ** 2
        out[ok] = np.stack([power[:, axes].mean(axis=1), power[:, diagonals].mean(axis=1)], 1)
    return out


def axis_power_ratio(power):
    """The population's power along the axes over its power along the diagonals: the
    sums over stamps of :func:`axis_power`'s two columns (stamps with NaN left out)."""
    power = np.asarray(power, np.float64)
    power = power[np.isfinite(power).all(axis=1)]
    return float(power[:, 0].sum() / power[:, 1].sum())


def median_ratio_error(values, reference, rng, n_boot):
    """Median of ``values`` over median of ``reference``, and its bootstrap error (galaxies
    resampled in both)."""
    values, reference = values[np.isfinite(values)], reference[np.isfinite(reference)]
    if not len(values) or not len(reference):
        return None, None
    ratio = float(np.median(values) / np.median(reference))
    boots = [np.median(rng.choice(values, len(values)))
             / np.median(rng.choice(reference, len(reference))) for _ in range(n_boot)]
    return ratio, float(np.std(boots))


def texture_report(images, reference="truth", seed=0, n_boot=200):
    """Median power spectra and power ratios of several samples.

    Parameters
    ----------
    images : dict of str to ndarray [N, S, S]
        Noiseless, unconvolved stamps by sample name, one of them ``reference``.
    reference : str
        The sample the ratios are taken against (the mock truths).
    seed : int
        Seed of the bootstrap.
    n_boot : int
        Bootstrap resamplings.

    Returns
    -------
    dict
        ``k`` (cycles per pixel), ``bands`` (:data:`K_BANDS`), ``reference``, and per
        sample under ``samples``: ``median_power`` (per annulus, the median over
        galaxies), ``ratios`` (per band, ``ratio`` of the median band power to the
        reference's and its bootstrap ``error``; the reference's own 1 and 0), ``n``
        (galaxies with flux).
    """
    if reference not in images:
        raise InputError(f"texture_report needs the reference sample {reference!r}; got "
                         f"{sorted(images)}")
    rng = np.random.default_rng([int(seed), 0x7E7])
    spectra = {name: azimuthal_power(a) for name, a in images.items()}
    k = spectra[reference][0]
    ref = {b: band_power(k, spectra[reference][1], lo, hi) for b, (lo, hi, _) in K_BANDS.items()}
    out = {"k": k.tolist(), "bands": {b: list(v) for b, v in K_BANDS.items()},
           "reference": reference, "samples": {}}
    for name, (_, power) in spectra.items():
        ratios = {}
        for b, (lo, hi, _) in K_BANDS.items():
            ratio, error = ((1.0, 0.0) if name == reference else
                            median_ratio_error(band_power(k, power, lo, hi), ref[b], rng,
                                                n_boot))
            ratios[b] = {"ratio": ratio, "error": error}
        finite = np.isfinite(power).all(axis=1)
        out["samples"][name] = {
            "median_power": (np.median(power[finite], axis=0).tolist() if finite.any()
                             else None),
            "ratios": ratios, "n": int(finite.sum())}
    return out
