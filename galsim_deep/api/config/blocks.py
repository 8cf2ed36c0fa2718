"""Block drawing in a YAML field: a group's galaxies through their shared PSF in one Fourier step.

GalSim's config builds and draws every object on its own: one ``InterpolatedImage``, one
convolution and one ``drawImage`` per galaxy.  Where an object's stamp is a
``GenerativeModelGalaxy`` as built (no ``shear``, ``rotate``, ``dilate``... of GalSim's
after it: those make another profile), convolved with an achromatic PSF and drawn with
``draw_method`` ``auto`` or ``fft`` on a square stamp whose local WCS is one pixel scale
(no sensor, no bandpass), the stamp builder (:mod:`galsim_deep.api.config.stamp`) draws it
from its group's block instead (:class:`~galsim_deep.engine.block.BlockDrawing`, the field
renderer's drawing, within 1e-4 of the peak of GalSim's):

* at the first such object of a group, the group's model stamps are transformed through
  the PSF and the pixel once (:meth:`~galsim_deep.engine.block.BlockDrawing.spectra`);
* each object then costs one inverse transform onto its own stamp, at its own sub-pixel
  place (:meth:`~galsim_deep.engine.block.BlockDrawing.images`), so the positions of the
  group's other objects (drawn later) are not needed.

An object whose PSF differs from the PSF its group's block was made for is drawn by
GalSim, as is anything else (a sheared galaxy, a colour module's, noise padding, photon
shooting).  A stamp does not depend on which objects share its group, so the image is the
same whatever ``batch_size`` and ``image.nproc``.  ``input.generative_model.block_drawing:
false`` draws every object with GalSim.
"""
import galsim
import numpy as np
from galsim.config import ParseValue

from ...engine.block import batch_drawing, local_pixel_scale

__all__ = ["block_drawing_enabled", "record_galaxy", "record_psf", "draw_from_block"]

# base-dict key: the current object's galaxy, as its builder made it, when it may be drawn
# from its group's block.
_GALAXY_KEY = "_galsim_deep_block_galaxy"
#: The input option that turns block drawing off.
OPTION = "block_drawing"


def block_drawing_enabled(config, base):
    """Whether the object's ``generative_model`` input draws in blocks (its
    ``block_drawing``, default true).

    Parameters
    ----------
    config : dict
        The object's config (``gal``): its ``num`` picks the input.
    base : dict
        The GalSim config being processed.
    """
    inputs = base.get("input", {}).get("generative_model")
    if isinstance(inputs, list):
        inputs = inputs[int(config.get("num", 0))]
    if not isinstance(inputs, dict) or OPTION not in inputs:
        return True
    return bool(ParseValue(inputs, OPTION, base, bool)[0])


def record_galaxy(base, profile, state, row, factor, x_interpolant):
    """Note the object's galaxy as its builder returns it, for :func:`draw_from_block`.

    Parameters
    ----------
    base : dict
    profile : galsim.InterpolatedImage
        The galaxy the builder returns.
    state : dict
        Its group (:func:`~galsim_deep.api.config.batching.current_group`).
    row : int
        Its row in the group's batch.
    factor : float or None
        Its flux factor (None: 1).
    x_interpolant : str or None
        Its ``x_interpolant`` (None: quintic).
    """
    base[_GALAXY_KEY] = {"profile": profile, "state": state, "row": row,
                         "factor": 1.0 if factor is None else float(factor),
                         "x_interpolant": x_interpolant, "psf": None}


def record_psf(base, prof, psf):
    """Keep the recorded galaxy only if the stamp's profile is that galaxy, untouched,
    convolved with ``psf`` (an achromatic GalSim profile), and note the PSF."""
    galaxy = base.get(_GALAXY_KEY)
    if galaxy is None:
        return
    if (isinstance(psf, galsim.GSObject) and isinstance(prof, galsim.Convolution)
            and prof.obj_list[0] is galaxy["profile"]):
        galaxy["psf"] = psf
    else:
        base.pop(_GALAXY_KEY)


def draw_from_block(image, method, offset, base):
    """Draw the current object's stamp from its group's block, or say it cannot (None).

    Parameters
    ----------
    image : galsim.Image or None
        The stamp, made by the stamp builder (None where GalSim sizes it itself).
    method : str
        The draw method.
    offset : galsim.PositionD
        The profile's offset from the stamp's true centre, pixels.
    base : dict

    Returns
    -------
    galsim.Image or None
        ``image``, drawn; None where GalSim must draw it.
    """
    galaxy = base.pop(_GALAXY_KEY, None)
    if (galaxy is None or galaxy["psf"] is None or image is None
            or method not in ("auto", "fft") or base.get("sensor") is not None
            or base.get("bandpass") is not None):
        return None
    ny, nx = image.array.shape
    local = base["wcs"].local(image_pos=base["image_pos"])
    scale = local_pixel_scale(local)
    if nx != ny or scale is None:
        return None
    state, psf = galaxy["state"], galaxy["psf"]
    blocks = state.setdefault("blocks", {})
    if blocks.get("psf", psf) != psf:  # a PSF that varies by object: GalSim draws it
        return None
    blocks["psf"] = psf
    batch = state["batch"]
    x_interpolant = galaxy["x_interpolant"]
    key = (nx, scale, repr(x_interpolant))
    if key not in blocks:
        prepared = batch_drawing(batch, psf, nx, scale, x_interpolant=x_interpolant)
        if prepared is None:    # a kind whose galaxies are not one image through the PSF
            blocks[key] = None
        else:
            drawing, arrays = prepared
            blocks[key] = (drawing, *drawing.spectra(arrays))
    if blocks[key] is None:
        return None
    drawing, spectra, fluxes = blocks[key]
    row = galaxy["row"]
    centre = np.array([[(nx - 1) / 2 + offset.x, (ny - 1) / 2 + offset.y]])
    drawn = drawing.images(spectra[row:row + 1], fluxes[row:row + 1], centre)[0]
    image.array[:, :] = galaxy["factor"] * drawn
    image.wcs = local
    image.added_flux = float(image.array.sum(dtype=np.float64))  # as drawImage records it
    return image
