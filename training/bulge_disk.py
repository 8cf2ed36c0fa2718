"""Smooth galaxy light drawn inside the network: a de Vaucouleurs bulge plus an exponential disk.

A decoder may draw a galaxy as *smooth light plus structure*
(``vae.smooth_profile: bulge_disk``, :mod:`~galsim_deep.training.flow_vae.networks`):
an analytic bulge + disk whose parameters a small network reads from the
latent code (this module), plus the ResNet's non-negative structure image
(knots, arms, asymmetry, companions).  The classic bulge/disk decomposition
of galaxy photometry (de Vaucouleurs bulge, exponential disk, each with its
own size, axis ratio and orientation; e.g. Simard et al. 2011) gives the
faint galaxies, whose stamps constrain little beyond a smooth blob, light
that falls off as galaxies do instead of what an unconstrained convolutional
decoder leaves in the empty sky.

Each Sérsic profile is drawn as a sum of concentric Gaussians that share its
ellipticity (the approach of Hogg & Lang 2013, PASP 125, 719; the amplitudes
here are our own non-negative least-squares fit, :func:`sersic_mixture`),
sampled at pixel centres with no pixel convolution, as the mock truths are
drawn (``method='no_pixel'``) and as the decoder's output is used (convolved
with the effective PSF in the forward model).  Over a galaxy's stamp the
mixtures match GalSim's ``Sersic`` drawing to 0.2-0.6% in L2 (tested).

Coordinates: pixel ``(i, j)`` (row, column) has its centre at ``(x, y) = (j
- c + 0.5, i - c + 0.5)`` pixels from the stamp's true centre, ``c = S / 2``,
which is where GalSim centres a profile drawn on an ``S x S`` image; a
component offset ``(dx, dy)`` moves it by that many pixels.  Shears follow
GalSim's convention (reduced shear ``g1, g2``, area-preserving).
"""
import functools
import math

import numpy as np
import tensorflow as tf
import tf_keras

from galsim_deep.physics.sersic import sersic_surface_brightness

__all__ = ["sersic_mixture", "COMPONENTS", "draw_sersic",
           "BulgeDiskLayer", "PARAMETERS", "MAX_LOG_FLUX"]

#: The two components: Sérsic index, number of Gaussians, range of their standard deviations
#: (units of the half-light radius) and the radii (same units) over which the mixture is
#: fitted.  Chosen by scanning the sigma ranges for the smallest weighted residual
#: (10 Gaussians for the disk and 14 for the bulge match their profiles within 1% between
#: 0.05 and 4 half-light radii).
COMPONENTS = {
    "bulge": {"n": 4.0, "n_gaussians": 14, "sigma_range": (0.0032, 15.2),
              "fit_range": (1e-3, 30.0)},
    "disk": {"n": 1.0, "n_gaussians": 10, "sigma_range": (0.1, 2.77),
             "fit_range": (1e-2, 8.0)},
}

#: Largest log-flux (network flux units) :class:`BulgeDiskLayer` draws: 1.6e5, ten times a
#: magnitude-18 galaxy's; e^30 let a far-out code's bulge overflow the float32 chi^2 (a run
#: went non-finite at step 100, ``docs/flow_vae_notes.rst``, "The bulge + disk network never
#: learned").
MAX_LOG_FLUX = 12.0

#: The parameters :class:`BulgeDiskLayer` reads from a latent code, in order, with their
#: units.
PARAMETERS = (("flux", "network flux units (the model's flux_scale per pixel), bulge + disk"),
              ("bulge_fraction", "B/T, in (0, 1)"),
              ("bulge_half_light_radius", "pixels"), ("bulge_g1", ""), ("bulge_g2", ""),
              ("bulge_dx", "pixels"), ("bulge_dy", "pixels"),
              ("disk_half_light_radius", "pixels"), ("disk_g1", ""), ("disk_g2", ""),
              ("disk_dx", "pixels"), ("disk_dy", "pixels"))


@functools.lru_cache(maxsize=None)
def sersic_mixture(n, n_gaussians, sigma_range, fit_range, n_radii=1000):
    """Concentric Gaussians whose sum approximates a unit-flux Sérsic profile.

    The standard deviations are fixed, log-spaced over ``sigma_range``; the
    amplitudes are the non-negative least-squares fit of the surface brightness
    at ``n_radii`` log-spaced radii over ``fit_range``, each residual weighted
    by ``r / sqrt(I(r))`` (a relative error weighted by the flux per unit
    ``log r``, so the fit follows the light from the core to the wings).

    Parameters
    ----------
    n : float
        Sérsic index.
    n_gaussians : int
    sigma_range, fit_range : tuple of float
        In units of the half-light radius.
    n_radii : int

    Returns
    -------
    amplitudes, sigmas : numpy.ndarray
        float64 ``[n_gaussians]``: the flux of each Gaussian (summing to about
        1) and its standard deviation (half-light radii).
    """
    from scipy.optimize import nnls

    r = np.geomspace(fit_range[0], fit_range[1], n_radii)
    target = sersic_surface_brightness(n, r)
    sigmas = np.geomspace(sigma_range[0], sigma_range[1], n_gaussians)
    basis = np.exp(-0.5 * (r[:, None] / sigmas) ** 2) / (2.0 * math.pi * sigmas ** 2)
    weight = r / np.sqrt(target)
    amplitudes, _ = nnls(basis * weight[:, None], target * weight, maxiter=100 * n_gaussians)
    return amplitudes, sigmas


def _mixture_tensors(component):
    spec = COMPONENTS[component]
    amplitudes, sigmas = sersic_mixture(spec["n"], spec["n_gaussians"],
                                        tuple(spec["sigma_range"]), tuple(spec["fit_range"]))
    return tf.constant(amplitudes, tf.float32), tf.constant(sigmas, tf.float32)


def draw_sersic(component, flux, half_light_radius, g1, g2, dx, dy, stamp_size):
    """Draw elliptical bulge or disk profiles on ``S x S`` stamps, sampled at pixel centres.

    Parameters
    ----------
    component : {"bulge", "disk"}
        Which profile of :data:`COMPONENTS`.
    flux, half_light_radius, g1, g2, dx, dy : tf.Tensor
        float32 ``[B]``: total flux (any unit; the image is in that unit per
        pixel), half-light radius (pixels), reduced shear (``|g| < 1``) and
        offset from the stamp's true centre (pixels, x along columns).
    stamp_size : int
        ``S``.

    Returns
    -------
    tf.Tensor
        float32 ``[B, S, S]``.
    """
    amplitudes, sigmas = _mixture_tensors(component)
    coords = tf.range(stamp_size, dtype=tf.float32) - stamp_size / 2.0 + 0.5
    x = coords[None, None, :] - dx[:, None, None]
    y = coords[None, :, None] - dy[:, None, None]
    g1, g2 = g1[:, None, None], g2[:, None, None]
    stretch = tf.math.rsqrt(1.0 - g1 * g1 - g2 * g2)
    # The inverse of GalSim's shear matrix maps the sheared profile back to a round one.
    u = stretch * ((1.0 - g1) * x - g2 * y)
    v = stretch * (-g2 * x + (1.0 + g1) * y)
    r2 = (u * u + v * v) / tf.square(half_light_radius)[:, None, None]       # [B, S, S]
    var = tf.square(sigmas)                                                   # [K]
    gauss = tf.exp(-0.5 * r2[..., None] / var) * (amplitudes / (2.0 * math.pi * var))
    return flux[:, None, None] * tf.reduce_sum(gauss, axis=-1) / tf.square(
        half_light_radius)[:, None, None]


class BulgeDiskLayer(tf_keras.layers.Layer):
    """Reads a bulge + disk's :data:`PARAMETERS` from a latent code and draws it.

    ``z -> Dense(hidden, activation) -> Dense(12)``, then bounded maps to the
    parameters: ``flux = exp(min(a, MAX_LOG_FLUX))``; ``B/T = sigmoid(a)``; half-light radius
    ``initial_radius * exp(3.5 tanh(a / 3.5))`` pixels (0.03 to 33 times the
    initial radius); shear ``(g1, g2) = 0.9 tanh(|a|) a / |a|`` (axis ratio
    >= 0.05); offsets ``max_offset * tanh(a / max_offset)`` pixels.  The last
    layer starts with small weights and biases that draw every code as the
    same round galaxy of ``initial_flux`` and ``initial_radius``, half bulge.

    Parameters
    ----------
    stamp_size : int
        ``S``, pixels.
    hidden : int
        Units of the hidden layer.
    activation : str
    initial_flux : float
        Network flux units.
    initial_radius : float
        Pixels.
    max_offset : float
        Largest offset of a component from the stamp's centre, pixels.
    seed : int
        Seeds the initialisers.
    """

    def __init__(self, stamp_size, hidden=64, activation="elu", initial_flux=10.0,
                 initial_radius=4.0, max_offset=4.0, seed=0, **kwargs):
        super().__init__(**kwargs)
        self.stamp_size = int(stamp_size)
        self.initial_radius = float(initial_radius)
        self.max_offset = float(max_offset)
        self.hidden = tf_keras.layers.Dense(
            hidden, activation=activation, name="hidden",
            kernel_initializer=tf_keras.initializers.GlorotUniform(seed=seed))
        bias = np.zeros(len(PARAMETERS), np.float32)
        bias[0] = math.log(initial_flux)
        self.params = tf_keras.layers.Dense(
            len(PARAMETERS), name="parameters",
            kernel_initializer=tf_keras.initializers.RandomNormal(stddev=0.01, seed=seed + 1),
            bias_initializer=tf_keras.initializers.Constant(bias))

    def _shear(self, a1, a2):
        norm = tf.sqrt(a1 * a1 + a2 * a2 + 1e-12)
        factor = 0.9 * tf.tanh(norm) / norm
        return a1 * factor, a2 * factor

    def parameters(self, z):
        """The bulge + disk parameters of latent codes.

        Parameters
        ----------
        z : tf.Tensor
            float32 ``[B, L]``.

        Returns
        -------
        dict of tf.Tensor
            float32 ``[B]`` for each name of :data:`PARAMETERS`.
        """
        raw = self.params(self.hidden(z))
        a = tf.unstack(raw, axis=-1)
        out = {"flux": tf.exp(tf.minimum(a[0], MAX_LOG_FLUX)),
               "bulge_fraction": tf.sigmoid(a[1])}
        for k, name in ((2, "bulge"), (7, "disk")):
            out[f"{name}_half_light_radius"] = self.initial_radius * tf.exp(
                3.5 * tf.tanh(a[k] / 3.5))
            out[f"{name}_g1"], out[f"{name}_g2"] = self._shear(a[k + 1], a[k + 2])
            out[f"{name}_dx"] = self.max_offset * tf.tanh(a[k + 3] / self.max_offset)
            out[f"{name}_dy"] = self.max_offset * tf.tanh(a[k + 4] / self.max_offset)
        return out

    def call(self, z):
        """Draw the bulge + disk of each code: float32 ``[B, S, S]``, network flux units."""
        p = self.parameters(z)
        image = 0.0
        for name, flux in (("bulge", p["flux"] * p["bulge_fraction"]),
                           ("disk", p["flux"] * (1.0 - p["bulge_fraction"]))):
            image = image + draw_sersic(name, flux, p[f"{name}_half_light_radius"],
                                        p[f"{name}_g1"], p[f"{name}_g2"], p[f"{name}_dx"],
                                        p[f"{name}_dy"], self.stamp_size)
        return image
