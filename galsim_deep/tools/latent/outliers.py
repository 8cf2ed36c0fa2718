"""Stamps that are not galaxies, made with a dataset's own PSFs and noise.

For the anomaly-detection measures: each non-galaxy stamp borrows one
galaxy's row of a stamp dataset (its PSF image, its ``noise_power`` and its
flux, from ``mag_auto``) and replaces the galaxy by

``star``
    a point source: the PSF image, moved to the stamp's true centre (where the
    galaxies are), times the galaxy's flux;
``cosmic_ray``
    a cosmic-ray track: a straight streak 3 to 15 pixels long and one pixel
    wide at a random angle through a point near the centre, not convolved with
    the PSF (cosmic rays hit the detector), carrying the galaxy's flux;
``hot_pixel``
    one to three single hot pixels near the centre sharing the galaxy's flux;
``noise``
    nothing: the noise alone.

Every stamp gets a fresh noise field with the row's power spectrum
(:func:`noise_from_power`).  All draws come from ``numpy`` generators seeded
by ``(seed, row)``, so a stamp does not depend on which others are made.
"""
import numpy as np
from ...core.errors import InputError

__all__ = ["NON_GALAXY_KINDS", "noise_from_power", "star_stamp", "cosmic_ray_stamp",
           "hot_pixel_stamp", "make_non_galaxy_stamps"]

#: The kinds of non-galaxy stamps, in report order.
NON_GALAXY_KINDS = ("star", "cosmic_ray", "hot_pixel", "noise")
_KIND_TAG = {kind: 0xA40 + i for i, kind in enumerate(NON_GALAXY_KINDS)}


def noise_from_power(noise_power, rng):
    """One Gaussian noise field with a given power spectrum.

    Parameters
    ----------
    noise_power : array_like [S, S//2 + 1]
        Power spectrum in the ``rfft2`` layout of ``docs/architecture.rst``
        (``E|rfft2(noise)|^2 / S^2``; white noise of variance s^2 is s^2
        everywhere), in (flux per pixel)^2.
    rng : numpy.random.Generator
        Source of the random numbers.

    Returns
    -------
    ndarray [S, S]
        float64 noise with that spectrum: white unit-variance noise filtered
        by ``sqrt(noise_power)`` in Fourier space.
    """
    power = np.asarray(noise_power, dtype=np.float64)
    s = power.shape[0]
    if power.ndim != 2 or power.shape[1] != s // 2 + 1:
        raise InputError(f"noise_power must be [S, S//2 + 1] (rfft2 layout), got {power.shape}")
    if np.any(~(power >= 0)):
        raise InputError("noise_power must be finite and >= 0 everywhere")
    white = rng.standard_normal((s, s))
    return np.fft.irfft2(np.fft.rfft2(white) * np.sqrt(power), s=(s, s))


def star_stamp(psf, flux, pixel_scale):
    """A noiseless point source of a given flux at the stamp's true centre.

    Parameters
    ----------
    psf : array_like [S, S]
        Effective PSF image (unit sum, centred on pixel (S//2, S//2)).
    flux : float
        Flux of the star (the dataset's units, e.g. counts/s).
    pixel_scale : float
        arcsec/pixel.

    Returns
    -------
    ndarray [S, S]
        float64; sums to ``flux`` times the fraction of the PSF still inside
        the stamp after the half-pixel move of even stamps.
    """
    import galsim

    psf = np.asarray(psf, dtype=np.float64)
    s = psf.shape[0]
    image = galsim.Image(np.ascontiguousarray(psf), scale=pixel_scale)
    # Origin on pixel (S//2, S//2), where the PSF is centred; drawn without another pixel
    # convolution (the image is already the effective PSF) at the new stamp's true centre.
    profile = galsim.InterpolatedImage(image, use_true_center=False, normalization="flux",
                                       flux=float(flux))
    return profile.drawImage(nx=s, ny=s, scale=pixel_scale, method="no_pixel",
                             dtype=np.float64).array


def cosmic_ray_stamp(stamp_size, flux, rng, min_length=3.0, max_length=15.0, max_offset=4.0):
    """A noiseless one-pixel-wide cosmic-ray streak carrying ``flux``.

    Parameters
    ----------
    stamp_size : int
        S, pixels.
    flux : float
        Total flux of the streak.
    rng : numpy.random.Generator
        Draws the length (pixels), angle and position (within ``max_offset``
        pixels of the centre).
    min_length, max_length, max_offset : float
        pixels.

    Returns
    -------
    ndarray [S, S]
    """
    s = int(stamp_size)
    length = rng.uniform(min_length, max_length)
    angle = rng.uniform(0.0, np.pi)
    centre = (s - 1) / 2.0 + rng.uniform(-max_offset, max_offset, size=2)
    t = np.linspace(-0.5, 0.5, max(2, int(np.ceil(length * 4))))
    x = np.clip(np.rint(centre[0] + t * length * np.cos(angle)), 0, s - 1).astype(int)
    y = np.clip(np.rint(centre[1] + t * length * np.sin(angle)), 0, s - 1).astype(int)
    image = np.zeros((s, s))
    np.add.at(image, (y, x), 1.0)
    return image * (float(flux) / image.sum())


def hot_pixel_stamp(stamp_size, flux, rng, max_pixels=3, max_offset=6):
    """A noiseless stamp with one to ``max_pixels`` hot pixels sharing ``flux``.

    Parameters
    ----------
    stamp_size : int
        S, pixels.
    flux : float
        Total flux of the hot pixels.
    rng : numpy.random.Generator
        Draws their number, positions (within ``max_offset`` pixels of the
        centre) and shares of the flux.
    max_pixels, max_offset : int

    Returns
    -------
    ndarray [S, S]
    """
    s = int(stamp_size)
    n = int(rng.integers(1, max_pixels + 1))
    c = (s - 1) // 2
    lo, hi = max(0, c - max_offset), min(s - 1, c + max_offset + 1)
    y = rng.integers(lo, hi + 1, size=n)
    x = rng.integers(lo, hi + 1, size=n)
    share = rng.dirichlet(np.ones(n))
    image = np.zeros((s, s))
    np.add.at(image, (y, x), share * float(flux))
    return image


def make_non_galaxy_stamps(dataset, kind, rows, seed=0, progress=False):
    """Non-galaxy stamps of one kind, each made with a dataset row's PSF, noise and flux.

    Parameters
    ----------
    dataset : str, Path or StampDataset
        The stamp dataset whose rows are borrowed.
    kind : {'star', 'cosmic_ray', 'hot_pixel', 'noise'}
        What to draw (see the module docstring).
    rows : array_like of int
        Dataset rows to borrow (one stamp per row).
    seed : int
        Seed; stamp ``i`` depends only on ``(seed, kind, rows[i])``.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    dict
        ``stamp`` float32 [N, S, S], ``psf`` float32 [N, S, S], ``conditions``
        float32 [N, C] (the borrowed rows' catalogue values), ``noise_variance`` float32
        [N] and ``noise_power`` float32 [N, S, S//2 + 1] (theirs, (flux per pixel)**2: what
        each stamp's noise was drawn with), ``rows``.
    """
    from tqdm.auto import tqdm

    from ...data.format import flux_from_mag
    from ...data.reader import StampDataset

    if kind not in NON_GALAXY_KINDS:
        raise InputError(f"kind must be one of {NON_GALAXY_KINDS}, got {kind!r}")
    own = not isinstance(dataset, StampDataset)
    ds = StampDataset(dataset) if own else dataset
    try:
        rows = np.asarray(rows, dtype=np.int64)
        names = ds.condition_names
        if "mag_auto" not in names and kind != "noise":
            raise InputError(f"{ds.path} has no mag_auto condition to set the flux of the "
                             f"{kind} stamps (conditions: {names})")
        data = ds.read(rows, ["psf", "noise_power", "noise_variance", "conditions"])
        s, scale = ds.stamp_size, ds.pixel_scale
    finally:
        if own:
            ds.close()
    flux = (flux_from_mag(data["conditions"][:, names.index("mag_auto")])
            if "mag_auto" in names else np.zeros(len(rows)))
    stamps = np.empty((len(rows), s, s), dtype=np.float32)
    for i in tqdm(range(len(rows)), desc=f"{kind} stamps", unit="stamp", disable=not progress):
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), _KIND_TAG[kind],
                                                            int(rows[i])]))
        if kind == "star":
            image = star_stamp(data["psf"][i], flux[i], scale)
        elif kind == "cosmic_ray":
            image = cosmic_ray_stamp(s, flux[i], rng)
        elif kind == "hot_pixel":
            image = hot_pixel_stamp(s, flux[i], rng)
        else:
            image = np.zeros((s, s))
        stamps[i] = image + noise_from_power(data["noise_power"][i], rng)
    return {"stamp": stamps, "psf": data["psf"].astype(np.float32),
            "conditions": data["conditions"].astype(np.float32),
            "noise_variance": data["noise_variance"].astype(np.float32),
            "noise_power": data["noise_power"].astype(np.float32), "rows": rows}
