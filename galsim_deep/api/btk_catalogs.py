"""Catalog adapters of :mod:`galsim_deep.api.btk`: a CatSim galaxy's COSMOS size, and the
shipped COSMOS example galaxies as a BTK catalog.

:func:`catsim_flux_radius` estimates the COSMOS ``flux_radius`` condition of a
``btk.catalog.CatsimCatalog`` row (the default of
:data:`galsim_deep.api.btk.CATSIM_COLUMN_MAP`); :func:`cosmos_example_catalog` loads the
100 COSMOS example galaxies shipped with galsim_deep as a ``btk.catalog.CosmosCatalog``.
Both are re-exported by :mod:`galsim_deep.api.btk`, their public path.  This module
imports BTK only inside :func:`cosmos_example_catalog`, so it imports without the
optional extra ``[btk]``.
"""
from pathlib import Path

import numpy as np

from ..core.errors import MissingInputError

__all__ = ["catsim_flux_radius", "cosmos_example_catalog"]


def catsim_flux_radius(table, psf_fwhm=0.095, pixel_scale=0.03):
    """An estimate of COSMOS ``flux_radius`` (pixels of 0.03") for CatSim galaxies.

    The flux-weighted mean of the bulge and disk half-light radii
    (``sqrt(a * b)``, arcsec), added in quadrature to the half-light radius of
    a Gaussian HST/ACS F814W PSF of FWHM ``psf_fwhm`` (SExtractor's
    ``FLUX_RADIUS`` is measured on the PSF-convolved image).  An approximation:
    CatSim has no COSMOS measurement.

    Parameters
    ----------
    table : astropy.table.Table or Row
        CatSim columns ``a_d``, ``b_d``, ``a_b``, ``b_b`` (arcsec),
        ``fluxnorm_disk``, ``fluxnorm_bulge``, ``fluxnorm_agn``.
    psf_fwhm : float
        FWHM of the PSF the radius is measured through, arcsec.
    pixel_scale : float
        arcsec per pixel of the returned radius.

    Returns
    -------
    ndarray
        Radii in pixels of ``pixel_scale``.
    """
    disk = np.asarray(table["fluxnorm_disk"], dtype=float)
    bulge = np.asarray(table["fluxnorm_bulge"], dtype=float)
    total = disk + bulge
    total = np.where(total > 0, total, 1.0)
    hlr_d = np.sqrt(np.asarray(table["a_d"], float) * np.asarray(table["b_d"], float))
    hlr_b = np.sqrt(np.asarray(table["a_b"], float) * np.asarray(table["b_b"], float))
    hlr = (disk * hlr_d + bulge * hlr_b) / total
    psf_hlr = 0.5 * psf_fwhm  # a Gaussian's half-light radius is half its FWHM
    return np.hypot(hlr, psf_hlr) / pixel_scale


def cosmos_example_catalog(directory=None, exclusion_level="marginal"):
    """BTK's ``CosmosCatalog`` of the 100 COSMOS example galaxies shipped with galsim_deep.

    Parameters
    ----------
    directory : str or Path, optional
        A real-format directory written by
        :func:`galsim_deep.data.cosmos_example.build_example_directory`
        (needed by BTK's ``CosmosGenerator(gal_type='real')``, which reads the
        galaxy images); default: the shipped catalog files, enough for
        :class:`GenerativeModelGenerator` and ``gal_type='parametric'``.
    exclusion_level : str
        GalSim's quality cut (96 of the 100 galaxies pass ``'marginal'``).

    Returns
    -------
    btk.catalog.CosmosCatalog
        Its table has BTK's ``ra``, ``dec``, ``MAG`` (F814W AB mag) and
        ``btk_index`` and the conditions ``mag_auto``, ``flux_radius``
        (pixels of 0.03"), ``zphot``.
    """
    from btk.catalog import CosmosCatalog

    from ..data.example_data import EXAMPLE_FILE_NAME, check_data_dir

    folder = check_data_dir() if directory is None else Path(directory)
    files = [folder / EXAMPLE_FILE_NAME, folder / EXAMPLE_FILE_NAME.replace(".fits", "_fits.fits")]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise MissingInputError(f"{missing} do not exist; pass a directory written by "
                                f"galsim_deep.data.cosmos_example.build_example_directory, "
                                f"or no directory for the shipped catalog")
    return CosmosCatalog.from_file([str(f) for f in files], exclusion_level=exclusion_level)
