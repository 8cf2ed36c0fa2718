"""A circular window on the images a module's network draws: light that fades before the edge.

A network can leave faint light out to the corners of its square stamp.  Seen unrotated it
is hard to notice; once the engine turns the stamp (:func:`~galsim_deep.engine.profiles.
rotate_stamps`), the stamp's straight edges show in a strong stretch as a square outline.
A module's optional metadata entry ``window`` (``docs/module_format.rst``) asks for a
circular taper about the stamp's true centre, applied at run time to every image its
sampling signature outputs (:meth:`SamplingKind.run
<galsim_deep.engine.kinds.SamplingKind.run>`), so that every caller (the API, the YAML
types, ``galsim-deep field render``, the BTK generator, the validation samples) gets the
same pixels from one place:

* :func:`raised_cosine` - the taper as a function of radius;
* :func:`window_weights` - its values at the pixel centres of a stamp;
* :func:`apply_window` - the taper applied to a stack of images, each rescaled back to
  its own total flux, so the window never changes a flux;
* :class:`StampWindow` - a module's window, read from its metadata
  (:func:`module_window`), which windows a signature's image outputs;
* :func:`window_entry` - the metadata entry for given radii (``galsim-deep hub window``
  writes it into a module).

A module without the entry is drawn exactly as before (no array is touched).
"""
import numpy as np

from ..core.errors import InputError
from ..core.module_format import WINDOW_PROFILES

__all__ = ["raised_cosine", "window_weights", "apply_window", "StampWindow", "module_window",
           "window_entry"]


def raised_cosine(radius, inner_radius, outer_radius):
    """The raised-cosine taper at given radii.

    Parameters
    ----------
    radius : array_like
        Distances from the stamp's centre, pixels.
    inner_radius, outer_radius : float
        Pixels, ``0 < inner_radius < outer_radius``: the taper is 1 up to ``inner_radius``,
        ``0.5 * (1 + cos(pi * (r - inner_radius) / (outer_radius - inner_radius)))``
        between, and 0 from ``outer_radius`` on.

    Returns
    -------
    ndarray
        float64, the shape of ``radius``, in [0, 1].

    Raises
    ------
    InputError
        Unless ``0 < inner_radius < outer_radius``.
    """
    inner, outer = float(inner_radius), float(outer_radius)
    if not (np.isfinite(outer) and 0 < inner < outer):
        raise InputError(f"a window needs 0 < inner_radius < outer_radius (pixels), got "
                         f"inner_radius {inner_radius!r}, outer_radius {outer_radius!r}")
    r = np.asarray(radius, np.float64)
    t = np.clip((r - inner) / (outer - inner), 0.0, 1.0)
    return 0.5 * (1.0 + np.cos(np.pi * t))


def window_weights(stamp_size, inner_radius, outer_radius):
    """The taper at the pixel centres of a square stamp.

    The radius is measured from the stamp's true centre, ``(S - 1) / 2`` in 0-based pixel
    indices (between the four central pixels of an even stamp), the ``true_center``
    convention of the module format.

    Parameters
    ----------
    stamp_size : int
        Side ``S`` of the stamp, pixels.
    inner_radius, outer_radius : float
        Pixels (:func:`raised_cosine`).

    Returns
    -------
    ndarray [S, S]
        float64 weights in [0, 1].
    """
    s = int(stamp_size)
    if s < 1:
        raise InputError(f"stamp_size must be a positive number of pixels, got {stamp_size!r}")
    offset = np.arange(s, dtype=np.float64) - (s - 1) / 2.0
    return raised_cosine(np.hypot(offset[:, None], offset[None, :]), inner_radius,
                         outer_radius)


def apply_window(images, weights):
    """Multiply images by a window and give each back its own total flux.

    Parameters
    ----------
    images : array_like [..., S, S]
        Images, flux per pixel (float32 from a network); the window acts on the last two
        axes, each ``[S, S]`` image on its own (a colour module's components one by one).
    weights : ndarray [S, S]
        The window (:func:`window_weights`).

    Returns
    -------
    ndarray [..., S, S]
        float32 (the product in float32, the sums in float64).  Each image is
        ``weights * image`` scaled so that its sum is the un-windowed image's, to float32
        rounding; an image whose windowed sum is not positive (empty, or light only where
        the window is 0) is windowed but not rescaled, as no factor could give back its
        flux.
    """
    images = np.asarray(images, np.float32)
    weights = np.asarray(weights, np.float32)
    if images.ndim < 2 or images.shape[-2:] != weights.shape:
        raise InputError(f"the window is {list(weights.shape)} pixels but the images are "
                         f"{list(images.shape)}: the window acts on the last two axes")
    flat = images.reshape(-1, *weights.shape)
    windowed = flat * weights
    before = flat.sum(axis=(1, 2), dtype=np.float64)
    after = windowed.sum(axis=(1, 2), dtype=np.float64)
    ok = after > 0
    scale = np.where(ok, before / np.where(ok, after, 1.0), 1.0).astype(np.float32)
    windowed *= scale[:, None, None]
    return windowed.reshape(images.shape)


class StampWindow:
    """A module's window (its metadata entry ``window``), applied to its image outputs.

    Parameters
    ----------
    stamp_size : int
        Side of the module's stamps, pixels.
    inner_radius, outer_radius : float
        Pixels (:func:`raised_cosine`).
    profile : str
        One of :data:`~galsim_deep.core.module_format.WINDOW_PROFILES`.

    Attributes
    ----------
    weights : ndarray [S, S]
        The window at the pixel centres (:func:`window_weights`).
    """

    def __init__(self, stamp_size, inner_radius, outer_radius, profile="raised_cosine"):
        if profile not in WINDOW_PROFILES:
            raise InputError(f"unknown window profile {profile!r}; choose one of "
                             f"{list(WINDOW_PROFILES)}")
        self.stamp_size = int(stamp_size)
        self.inner_radius, self.outer_radius = float(inner_radius), float(outer_radius)
        self.profile = profile
        self.weights = window_weights(self.stamp_size, self.inner_radius, self.outer_radius)

    def __repr__(self):
        return (f"StampWindow({self.profile}, {self.inner_radius:g} to {self.outer_radius:g} "
                f"pixels on {self.stamp_size}x{self.stamp_size} stamps)")

    def is_image(self, spec):
        """Whether a signature output (its ``{dtype, shape}`` in the metadata) is an image
        of the module's stamps: a float array whose last two axes are the stamp's."""
        shape = list(spec.get("shape") or [])
        return (str(spec.get("dtype", "")).startswith("float") and len(shape) >= 3
                and shape[-2:] == [self.stamp_size, self.stamp_size])

    def __call__(self, images):
        """:func:`apply_window` with this window."""
        return apply_window(images, self.weights)

    def outputs(self, out, specs):
        """A signature's outputs with every image windowed (:meth:`is_image`), the others as
        they are.

        Parameters
        ----------
        out : dict of str -> ndarray
            The signature's outputs.
        specs : dict of str -> dict
            Their metadata specs (``signatures[NAME]['outputs']``).

        Returns
        -------
        dict of str -> ndarray
        """
        return {key: self(value) if key in specs and self.is_image(specs[key]) else value
                for key, value in out.items()}


def module_window(metadata):
    """A module's :class:`StampWindow`, or None where its metadata has no ``window`` entry.

    Parameters
    ----------
    metadata : dict
        The module's validated metadata (``docs/module_format.rst``: the entry's
        ``profile``, ``inner_radius`` and ``outer_radius``, in pixels, the one ``unit``
        the format knows).
    """
    entry = metadata.get("window")
    if entry is None:
        return None
    return StampWindow(metadata["stamp_size"], entry["inner_radius"], entry["outer_radius"],
                       entry["profile"])


def window_entry(inner_radius, outer_radius, profile="raised_cosine"):
    """The metadata entry ``window`` of a module (``docs/module_format.rst``).

    Parameters
    ----------
    inner_radius, outer_radius : float
        Pixels of the module's stamps, ``0 < inner_radius < outer_radius``.
    profile : str
        One of :data:`~galsim_deep.core.module_format.WINDOW_PROFILES`.

    Returns
    -------
    dict
        ``{"profile", "inner_radius", "outer_radius", "unit": "pixel"}``.

    Raises
    ------
    InputError
        For an unknown profile or radii out of order.
    """
    if profile not in WINDOW_PROFILES:
        raise InputError(f"unknown window profile {profile!r}; choose one of "
                         f"{list(WINDOW_PROFILES)}")
    raised_cosine(0.0, inner_radius, outer_radius)  # a clear error for radii out of order
    return {"profile": profile, "inner_radius": float(inner_radius),
            "outer_radius": float(outer_radius), "unit": "pixel"}
