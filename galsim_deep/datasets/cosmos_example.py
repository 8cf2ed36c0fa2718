"""The 100-galaxy real COSMOS example sample shipped with galsim_deep.

The package data folder ``galsim_deep/datasets/cosmos_example/`` holds the
real catalogs and the 100 real HST PSF images of GalSim's "23.5 example"
sample (see ``PROVENANCE.md`` there).  Its galaxy image file
(``real_galaxy_images.fits``) is not distributed; :func:`build_example_directory`
writes a complete, loadable real-format directory by drawing each galaxy's own
parametric catalog fit convolved with its own real PSF, plus COSMOS correlated
noise of the catalog's ``NOISE_VARIANCE``.  ``galsim.COSMOSCatalog``,
``galsim.RealGalaxyCatalog`` and ``galsim.RealGalaxy`` then load it as they load
the real 4 GB sample::

    from galsim_deep.datasets.cosmos_example import build_example_directory, EXAMPLE_FILE_NAME
    d = build_example_directory("cosmos_example_dir", seed=1)
    cat = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME, dir=d)
    gal = cat.makeGalaxy(0, gal_type="real")

:func:`load_example_catalog` returns the catalog columns (used to derive the
mock-COSMOS populations).
"""
import json
import math
import shutil
from pathlib import Path

import numpy as np

from .._io import atomic_directory, atomic_path, sha256sum
from .._version import __version__

__all__ = ["EXAMPLE_FILE_NAME", "EXAMPLE_IMAGE_FILE", "NOISE_FILE_NAME", "example_data_dir",
           "load_example_catalog", "example_psf_images", "build_example_directory",
           "is_example_directory"]

#: Name of the real-galaxy catalog of the example sample (``file_name`` for GalSim).
EXAMPLE_FILE_NAME = "real_galaxy_catalog_23.5_example.fits"
#: Name of the galaxy image file the catalog points to (built by :func:`build_example_directory`).
EXAMPLE_IMAGE_FILE = "real_galaxy_images.fits"
#: Name of the COSMOS noise correlation-function file (ships in the GalSim wheel).
NOISE_FILE_NAME = "acs_I_unrot_sci_20_cf.fits"
_PSF_FILE = "real_galaxy_PSF_images.fits"
_COPIED = (EXAMPLE_FILE_NAME, EXAMPLE_FILE_NAME.replace(".fits", "_fits.fits"),
           EXAMPLE_FILE_NAME.replace(".fits", "_selection.fits"), _PSF_FILE)
_MARKER = "EXAMPLE_BUILD.json"
_BUILD_VERSION = 2


def example_data_dir():
    """Folder of the shipped example catalogs and real HST PSF images.

    Returns
    -------
    pathlib.Path
    """
    return Path(__file__).resolve().parent / "cosmos_example"


def _check_data_dir():
    d = example_data_dir()
    missing = [name for name in _COPIED if not (d / name).is_file()]
    if missing:
        raise FileNotFoundError(
            f"the COSMOS example files {missing} are missing from {d}: reinstall galsim_deep "
            "(pip install -e .) so that its package data is present")
    return d


def load_example_catalog(exclusion_level="marginal"):
    """Catalog columns of the 100 real COSMOS example galaxies.

    Parameters
    ----------
    exclusion_level : {'none', 'bad_stamp', 'bad_fits', 'marginal'}
        GalSim's quality cut (``galsim.COSMOSCatalog``); the Lanusse et al. (2020)
        training sets use ``'marginal'`` (96 of the 100 galaxies pass).

    Returns
    -------
    astropy.table.Table
        One row per selected galaxy with ``IDENT``, ``mag_auto`` (AB mag),
        ``flux_radius`` (pixels of 0.03 arcsec), ``zphot``, ``sersic_hlr``
        (arcsec, the single-Sersic fit's half-light radius), ``sersic_n``,
        ``sersic_q``, ``sersic_beta`` (radians), ``sersic_flux`` (counts/s),
        ``bulge_to_total`` (the de Vaucouleurs + exponential fit's B/T, -1 when
        that fit failed), ``bulge_disk_size_ratio``, ``bulgefit_ok``,
        ``WEIGHT``, ``NOISE_VARIANCE`` ((counts/s)^2), ``PSF_HDU`` and
        ``index`` (row in the full catalog).
    """
    import galsim
    from astropy.io import fits
    from astropy.table import Table

    d = _check_data_dir()
    cat = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME, dir=str(d), use_real=False,
                               exclusion_level=exclusion_level)
    idx = np.asarray(cat.orig_index)
    par = fits.getdata(d / _COPIED[1])
    real = fits.getdata(d / EXAMPLE_FILE_NAME)
    if not np.array_equal(par["IDENT"], real["IDENT"]):
        raise ValueError(f"the example catalogs in {d} disagree on IDENT: reinstall galsim_deep")
    status = par["fit_status"]
    bulge_ok = (status[:, 0] > 0) & (status[:, 0] < 5)
    bf = par["bulgefit"]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(bf[:, 1] > 0, bf[:, 9] / bf[:, 1], np.nan)
    t = Table()
    t["index"] = idx
    t["IDENT"] = np.asarray(par["IDENT"][idx], dtype=np.int64)
    t["mag_auto"] = np.asarray(par["mag_auto"][idx], dtype=float)
    t["flux_radius"] = np.asarray(par["flux_radius"][idx], dtype=float)
    t["zphot"] = np.asarray(par["zphot"][idx], dtype=float)
    t["sersic_hlr"] = np.asarray(par["hlr"][idx, 0], dtype=float)
    t["sersic_n"] = np.asarray(par["sersicfit"][idx, 2], dtype=float)
    t["sersic_q"] = np.asarray(par["sersicfit"][idx, 3], dtype=float)
    t["sersic_beta"] = np.asarray(par["sersicfit"][idx, 7], dtype=float)
    t["sersic_flux"] = np.asarray(par["flux"][idx, 0], dtype=float)
    t["bulge_to_total"] = np.asarray(par["fit_dvc_btt"][idx], dtype=float)
    t["bulge_disk_size_ratio"] = ratio[idx]
    t["bulgefit_ok"] = bulge_ok[idx]
    t["WEIGHT"] = np.asarray(real["WEIGHT"][idx], dtype=float)
    t["NOISE_VARIANCE"] = np.asarray(real["NOISE_VARIANCE"][idx], dtype=float)
    t["PSF_HDU"] = np.asarray(real["PSF_HDU"][idx], dtype=np.int32)
    t["mag_auto"].unit = "mag"
    t["flux_radius"].unit = "pix"
    t["sersic_hlr"].unit = "arcsec"
    t.meta["exclusion_level"] = exclusion_level
    t.meta["source"] = str(d / EXAMPLE_FILE_NAME)
    return t


def example_psf_images():
    """The 100 real HST/ACS F814W PSF images of the example sample.

    Returns
    -------
    list of numpy.ndarray
        float64 images at 0.03 arcsec/pixel (effective PSFs, pixel response
        included), in ``PSF_HDU`` order, as stored (not normalised).
    """
    from astropy.io import fits

    d = _check_data_dir()
    with fits.open(d / _PSF_FILE, memmap=False) as hdus:
        return [np.ascontiguousarray(h.data, dtype=np.float64) for h in hdus]


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

    from .psf import centre_psf

    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    seed = int(seed)
    out_dir = Path(out_dir)
    if is_example_directory(out_dir, seed=seed):
        return out_dir
    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"{out_dir} exists and is not a directory: choose another out_dir")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise ValueError(f"{out_dir} exists and is not a complete example directory built with "
                         f"seed={seed}: pass overwrite=True to replace it, or choose another "
                         "out_dir")
    src = _check_data_dir()
    noise_src = Path(galsim.meta_data.share_dir) / NOISE_FILE_NAME
    if not noise_src.is_file():
        raise FileNotFoundError(f"GalSim's COSMOS noise file {noise_src} is missing: reinstall "
                                "galsim (pip install --force-reinstall galsim)")

    with atomic_directory(out_dir) as tmp:
        for name in _COPIED:
            shutil.copyfile(src / name, tmp / name)
        shutil.copyfile(noise_src, tmp / NOISE_FILE_NAME)
        real = fits.getdata(tmp / EXAMPLE_FILE_NAME)
        params = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME, dir=str(tmp), use_real=False,
                                      exclusion_level="none")
        fr = fits.getdata(tmp / _COPIED[1])["flux_radius"]
        psfs = example_psf_images()
        unit_noise = galsim.getCOSMOSNoise(file_name=str(tmp / NOISE_FILE_NAME), variance=1.0)
        n_gal = len(real)
        order = np.argsort(real["GAL_HDU"])
        if not np.array_equal(np.asarray(real["GAL_HDU"])[order], np.arange(n_gal)):
            raise ValueError("the example catalog's GAL_HDU is not 0..N-1: reinstall galsim_deep")
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
        with atomic_path(tmp / EXAMPLE_IMAGE_FILE) as part:
            fits.HDUList(hdus).writeto(part)
        (tmp / "README.md").write_text(
            "# Real-format COSMOS example directory (built)\n\n"
            f"Written by galsim_deep {__version__} "
            "(galsim_deep.datasets.cosmos_example.build_example_directory, "
            f"seed={seed}).\n\nThe catalogs and PSF images are the real COSMOS 23.5 example "
            "files shipped with galsim_deep (see PROVENANCE.md in "
            "galsim_deep/datasets/cosmos_example).  real_galaxy_images.fits is SYNTHETIC: "
            "each galaxy's parametric catalog fit convolved with its own real PSF, plus "
            "COSMOS correlated noise of the catalog's NOISE_VARIANCE.\n")
        files = {name: {"size": (tmp / name).stat().st_size,
                        "sha256": sha256sum(tmp / name)}
                 for name in (*_COPIED, NOISE_FILE_NAME, EXAMPLE_IMAGE_FILE)}
        info = {"build_version": _BUILD_VERSION, "seed": seed, "galsim_deep_version": __version__,
                "galsim_version": galsim.__version__, "files": files}
        (tmp / _MARKER).write_text(json.dumps(info, indent=1, sort_keys=True))
    return out_dir
