"""The 100-galaxy real COSMOS example sample shipped with galsim_deep.

The package data folder ``galsim_deep/data/cosmos_example/`` holds the
real catalogs and the 100 real HST PSF images of GalSim's "23.5 example"
sample (see ``PROVENANCE.md`` there).  Its galaxy image file
(``real_galaxy_images.fits``) is not distributed; :func:`build_example_directory`
writes a complete, loadable real-format directory by drawing each galaxy's own
parametric catalog fit convolved with its own real PSF, plus COSMOS correlated
noise of the catalog's ``NOISE_VARIANCE``.  ``galsim.COSMOSCatalog``,
``galsim.RealGalaxyCatalog`` and ``galsim.RealGalaxy`` then load it as they load
the real 4 GB sample::

    from galsim_deep.data.cosmos_example import build_example_directory, EXAMPLE_FILE_NAME
    d = build_example_directory("cosmos_example_dir", seed=1)
    cat = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME, dir=d)
    gal = cat.makeGalaxy(0, gal_type="real")

The shipped files themselves are read by :mod:`galsim_deep.data.example_data`
(:func:`load_example_catalog`, :func:`example_psf_images`, :func:`example_data_dir`,
re-exported here); imports flow one way: ``example_data`` <- ``psf`` <-
``cosmos_example``.
"""
import json
import math
import shutil
from pathlib import Path

import numpy as np

from ..core.files import atomic_directory, atomic_path, sha256sum
from .._version import __version__
from .example_data import (COPIED_FILES, EXAMPLE_FILE_NAME, check_data_dir,
                           example_data_dir, example_psf_images, load_example_catalog)
from .psf import centre_psf
from ..core.errors import InputError, MissingInputError

__all__ = ["EXAMPLE_FILE_NAME", "EXAMPLE_IMAGE_FILE", "NOISE_FILE_NAME", "example_data_dir",
           "load_example_catalog", "example_psf_images", "build_example_directory",
           "is_example_directory"]

#: Name of the galaxy image file the catalog points to (built by :func:`build_example_directory`).
EXAMPLE_IMAGE_FILE = "real_galaxy_images.fits"
#: Name of the COSMOS noise correlation-function file (ships in the GalSim wheel).
NOISE_FILE_NAME = "acs_I_unrot_sci_20_cf.fits"
_COPIED = COPIED_FILES
_MARKER = "EXAMPLE_BUILD.json"
_BUILD_VERSION = 2


def _stamp_size_for(flux_radius):
    """Even stamp size (pixels) holding a galaxy of this flux_radius (pixels) with margin."""
    n = 2 * int(math.ceil(5.0 * flux_radius))
    return int(min(192, max(64, n)))


def is_example_directory(path, seed=None):
    """True if ``path`` is a complete directory written by :func:`build_example_directory`.

    Parameters
    ----------
    path : str or Path
    seed : int, optional
        If given, also require that it was built with this seed.
    """
    path = Path(path)
    marker = path / _MARKER
    if not marker.is_file():
        return False
    try:
        info = json.loads(marker.read_text())
    except (OSError, ValueError):
        return False
    if info.get("build_version") != _BUILD_VERSION:
        return False
    if seed is not None and info.get("seed") != seed:
        return False
    files = info.get("files", {})
    for name, digest in files.items():
        f = path / name
        if not f.is_file() or f.stat().st_size != digest["size"]:
            return False
    return len(files) == len(_COPIED) + 2


def build_example_directory(out_dir, seed=0, overwrite=False):
    """Write a complete real-format COSMOS directory for the 100 example galaxies.

    The directory holds the four shipped files (real-galaxy catalog, parametric
    fits, selection catalog, the 100 real HST PSF images), GalSim's COSMOS
    noise correlation file, and a built ``real_galaxy_images.fits``: galaxy
    ``i`` (HDU ``GAL_HDU[i]``) is its own single-Sersic or bulge+disk catalog
    fit (``galsim.COSMOSCatalog.makeGalaxy(i, gal_type='parametric')``,
    exact Sersic index), convolved with its own real PSF (HDU ``PSF_HDU[i]``,
    shifted so that its centroid is at the origin: the PSF images have their
    peak about a pixel off their centre, and a real stamp is centred on the
    observed galaxy),
    drawn at 0.03 arcsec/pixel with ``method='no_pixel'`` (the PSF images
    already include the pixel response) at the stamp's true centre, plus
    COSMOS correlated noise (``galsim.getCOSMOSNoise``) of pixel variance
    ``NOISE_VARIANCE[i]``.  Stamps are square with an even size of
    ``5 x flux_radius`` on each side of the centre, clipped to 64-192 pixels.
    The noise has zero mean (the catalog's ``NOISE_MEAN`` sky residual is not
    added).  ``galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME, dir=out_dir)``
    and ``galsim.RealGalaxyCatalog`` load the result as real data.

    Parameters
    ----------
    out_dir : str or Path
        Directory to create.  If it already holds a complete example directory
        built with the same ``seed``, it is returned as is (a cache).
    seed : int, optional
        Seed of the noise: galaxy ``i`` uses ``numpy.random.SeedSequence([seed, i])``.
    overwrite : bool, optional
        Replace an existing directory that is not a complete example directory of
        this seed.  Without it such a directory is an error.

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    ValueError
        If ``out_dir`` exists (and is not this build) and ``overwrite`` is False,
        or ``seed`` is not a non-negative integer.
    """
    import galsim
    from astropy.io import fits

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    out_dir = Path(out_dir)
    if is_example_directory(out_dir, seed=seed):
        return out_dir
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(f"{out_dir} exists and is not a directory: choose another out_dir")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise InputError(f"{out_dir} exists and is not a complete example directory built with "
                         f"seed={seed}: pass overwrite=True to replace it, or choose another "
                         "out_dir")
    src = check_data_dir()
    noise_src = Path(galsim.meta_data.share_dir) / NOISE_FILE_NAME
    if not noise_src.is_file():
        raise MissingInputError(f"GalSim's COSMOS noise file {noise_src} is missing: reinstall "
                                "galsim (pip install --force-reinstall galsim)")

    with atomic_directory(out_dir) as tmp:
        for name in _COPIED:
            shutil.copyfile(src / name, tmp / name)
        shutil.copyfile(noise_src, tmp / NOISE_FILE_NAME)
        hdus = _draw_stamps(tmp, seed)
        with atomic_path(tmp / EXAMPLE_IMAGE_FILE) as part:
            fits.HDUList(hdus).writeto(part)
        _write_notes(tmp, seed)
    return out_dir


def _draw_stamps(tmp, seed):
    """The HDUs of ``real_galaxy_images.fits``, in ``GAL_HDU`` order: each galaxy's
    parametric fit convolved with its own centred PSF, plus COSMOS noise of its variance
    (seeded by ``SeedSequence([seed, i])``), read from the copied files in ``tmp``."""
    import galsim
    from astropy.io import fits

    real = fits.getdata(tmp / EXAMPLE_FILE_NAME)
    params = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME, dir=str(tmp), use_real=False,
                                  exclusion_level="none")
    fr = fits.getdata(tmp / _COPIED[1])["flux_radius"]
    psfs = example_psf_images()
    unit_noise = galsim.getCOSMOSNoise(file_name=str(tmp / NOISE_FILE_NAME), variance=1.0)
    n_gal = len(real)
    order = np.argsort(real["GAL_HDU"])
    if not np.array_equal(np.asarray(real["GAL_HDU"])[order], np.arange(n_gal)):
        raise InputError("the example catalog's GAL_HDU is not 0..N-1: reinstall galsim_deep")
    hdus = []
    for i in order:
        scale = float(real["PIXEL_SCALE"][i])
        gal = params.makeGalaxy(int(i), gal_type="parametric", sersic_prec=0.0)
        psf = centre_psf(galsim.InterpolatedImage(
            galsim.Image(psfs[int(real["PSF_HDU"][i])], scale=scale), flux=1.0), scale)
        size = _stamp_size_for(float(fr[i]))
        image = galsim.Convolve(gal, psf).drawImage(nx=size, ny=size, scale=scale,
                                                     method="no_pixel")
        state = np.random.SeedSequence([seed, int(i)]).generate_state(1)[0]
        noise = unit_noise.copy(rng=galsim.BaseDeviate(int(state) or 1))
        noise = noise.withVariance(float(real["NOISE_VARIANCE"][i]))
        image.addNoise(noise)
        data = image.array.astype(np.float32)
        hdus.append(fits.PrimaryHDU(data) if not hdus else fits.ImageHDU(data))
    return hdus


def _write_notes(tmp, seed):
    """The built folder's README (what is real, what synthetic) and its marker of
    :func:`is_example_directory`: build version, seed, versions and each file's size and
    sha256."""
    import galsim

    (tmp / "README.md").write_text(
        "# Real-format COSMOS example directory (built)\n\n"
        f"Written by galsim_deep {__version__} "
        "(galsim_deep.data.cosmos_example.build_example_directory, "
        f"seed={seed}).\n\nThe catalogs and PSF images are the real COSMOS 23.5 example "
        "files shipped with galsim_deep (see PROVENANCE.md in "
        "galsim_deep/data/cosmos_example).  real_galaxy_images.fits is SYNTHETIC: "
        "each galaxy's parametric catalog fit convolved with its own real PSF, plus "
        "COSMOS correlated noise of the catalog's NOISE_VARIANCE.\n")
    files = {name: {"size": (tmp / name).stat().st_size,
                    "sha256": sha256sum(tmp / name)}
             for name in (*_COPIED, NOISE_FILE_NAME, EXAMPLE_IMAGE_FILE)}
    info = {"build_version": _BUILD_VERSION, "seed": seed, "galsim_deep_version": __version__,
            "galsim_version": galsim.__version__, "files": files}
    (tmp / _MARKER).write_text(json.dumps(info, indent=1, sort_keys=True))
