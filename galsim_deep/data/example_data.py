"""The files of the shipped COSMOS example sample: catalogs and real HST PSF images.

The package data folder ``galsim_deep/data/cosmos_example/`` holds the real
catalogs and the 100 real HST/ACS F814W PSF images of GalSim's "23.5 example"
sample (see ``PROVENANCE.md`` there).  This module only *reads* them; it
imports nothing else of the package, so every other module may import it at
module level:

* :mod:`~galsim_deep.data.psf` (the real HST PSF set) reads the PSF images;
* :mod:`~galsim_deep.data.cosmos_example` (the real-format example
  directory, which uses :mod:`~galsim_deep.data.psf`) reads both;
* :mod:`~galsim_deep.data.population` derives the mock populations from
  the catalog.
"""
from pathlib import Path

import numpy as np
from ..core.errors import InputError, MissingInputError

__all__ = ["EXAMPLE_FILE_NAME", "PSF_FILE_NAME", "COPIED_FILES", "example_data_dir",
           "check_data_dir", "load_example_catalog", "example_psf_images"]

#: Name of the real-galaxy catalog of the example sample (``file_name`` for GalSim).
EXAMPLE_FILE_NAME = "real_galaxy_catalog_23.5_example.fits"
#: Name of the file of the 100 real HST PSF images (one HDU each, ``PSF_HDU`` order).
PSF_FILE_NAME = "real_galaxy_PSF_images.fits"
#: The shipped files: real-galaxy catalog, parametric fits, selection catalog, PSF images.
COPIED_FILES = (EXAMPLE_FILE_NAME, EXAMPLE_FILE_NAME.replace(".fits", "_fits.fits"),
                EXAMPLE_FILE_NAME.replace(".fits", "_selection.fits"), PSF_FILE_NAME)


def example_data_dir():
    """Folder of the shipped example catalogs and real HST PSF images.

    Returns
    -------
    pathlib.Path
    """
    return Path(__file__).resolve().parent / "cosmos_example"


def check_data_dir():
    """:func:`example_data_dir`, after checking that every shipped file is there.

    Raises
    ------
    FileNotFoundError
        Naming the missing files and the fix (reinstall the package).
    """
    d = example_data_dir()
    missing = [name for name in COPIED_FILES if not (d / name).is_file()]
    if missing:
        raise MissingInputError(
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

    d = check_data_dir()
    cat = galsim.COSMOSCatalog(file_name=EXAMPLE_FILE_NAME, dir=str(d), use_real=False,
                               exclusion_level=exclusion_level)
    idx = np.asarray(cat.orig_index)
    par = fits.getdata(d / COPIED_FILES[1])
    real = fits.getdata(d / EXAMPLE_FILE_NAME)
    if not np.array_equal(par["IDENT"], real["IDENT"]):
        raise InputError(f"the example catalogs in {d} disagree on IDENT: reinstall galsim_deep")
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

    d = check_data_dir()
    with fits.open(d / PSF_FILE_NAME, memmap=False) as hdus:
        return [np.ascontiguousarray(h.data, dtype=np.float64) for h in hdus]
