"""The finished field: the mosaic FITS image of a field's tiles and its PNG preview.

Both read and write through memory maps or bands of rows, so memory stays flat
however large the field.
"""
from pathlib import Path

import galsim
import numpy as np
from astropy.io import fits

from ...core.files import atomic_path

__all__ = ["write_mosaic", "write_preview"]


def write_mosaic(path, field_size, wcs, tile_paths, header=None):
    """Copy finished tiles into one FITS image, through a memory map (flat memory).

    Parameters
    ----------
    path : str or Path
        The mosaic file.
    field_size : tuple of int
        ``(nx, ny)`` pixels.
    wcs : galsim.BaseWCS
        The field's WCS (written to the header).
    tile_paths : dict of Tile -> path
        The tiles' FITS files.
    header : dict, optional
        Extra header cards.

    Returns
    -------
    Path
    """
    nx, ny = field_size
    hdr = fits.Header()
    hdr["SIMPLE"] = True
    hdr["BITPIX"] = -32
    hdr["NAXIS"] = 2
    hdr["NAXIS1"] = nx
    hdr["NAXIS2"] = ny
    gs_header = galsim.FitsHeader()
    wcs.writeToFitsHeader(gs_header, galsim.BoundsI(1, nx, 1, ny))
    for card in gs_header.header.cards:
        hdr[card.keyword] = (card.value, card.comment)
    for key, value in (header or {}).items():
        hdr[key] = value
    data_bytes = nx * ny * 4
    padded = -(-data_bytes // 2880) * 2880
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            hdr.tofile(f)
            offset = f.tell()
            f.truncate(offset + padded)
        mosaic = np.memmap(tmp, dtype=">f4", mode="r+", offset=offset, shape=(ny, nx))
        for tile, tile_path in tile_paths.items():
            with fits.open(tile_path, memmap=False) as hdul:
                mosaic[tile.ymin - 1:tile.ymax, tile.xmin - 1:tile.xmax] = hdul[0].data
        mosaic.flush()
        del mosaic
    return Path(path)


def write_preview(mosaic_path, out, max_pixels=1024):
    """Save a PNG preview of a mosaic, block-averaged to at most ``max_pixels`` a side.

    Parameters
    ----------
    mosaic_path : str or Path
        The mosaic FITS file (read through a memory map).
    out : str or Path
        The PNG file.
    max_pixels : int
        Largest side of the preview, pixels.

    Returns
    -------
    Path
    """
    import matplotlib  # (heavy: imported only to draw)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with fits.open(mosaic_path, memmap=True) as hdul:
        data, header = hdul[0].data, hdul[0].header
        ny, nx = data.shape
        f = max(1, -(-max(nx, ny) // max_pixels))
        small = np.zeros((-(-ny // f), -(-nx // f)))
        for y0 in range(0, ny, f * 256):  # a band of rows at a time: flat memory
            band = np.asarray(data[y0:y0 + f * 256], dtype=np.float64)
            h = -(-band.shape[0] // f)
            padded = np.zeros((h * f, small.shape[1] * f))
            padded[:band.shape[0], :nx] = band
            small[y0 // f:y0 // f + h] = padded.reshape(h, f, -1, f).mean(axis=(1, 3))
        sky = float(header.get("SKYLEVEL", 0.0))
    noise = np.sqrt(sky / f ** 2) if sky > 0 else max(float(np.percentile(small, 99.5)), 1e-30) / 50
    fig, ax = plt.subplots(figsize=(7, 7 * small.shape[0] / small.shape[1] + 0.4))
    ax.imshow(np.arcsinh(small / (3 * noise)), origin="lower", cmap="gray_r", vmin=-1, vmax=6,
              extent=(0.5, nx + 0.5, 0.5, ny + 0.5))
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    ax.set_title(f"{Path(mosaic_path).name}: {nx} x {ny} pixels"
                 + (f" (preview binned {f}x{f})" if f > 1 else ""), fontsize=9)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png", bbox_inches="tight")
    plt.close(fig)
    return Path(out)
