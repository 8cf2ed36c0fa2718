"""The latent-space side of a module: encoding stamps, the flow's density, clusters.

:class:`LatentSpace` is a component that a :class:`galsim_deep.GenerativeGalaxyModel`
holds (``model.latent``): it runs the signatures other than ``sample`` on the model's
:class:`~galsim_deep.engine.network.Network`, in the engine's fixed blocks like it, and
checks its inputs against the module's metadata.  The model's ``encode``,
``log_prob``, ``elbo`` and ``cluster`` are these (:class:`LatentMethods`, which the model
inherits: a new latent method is added here once).  Each signature runs where
:meth:`Network.runner <galsim_deep.engine.network.Network.runner>` puts it: in
ONNX Runtime where the module's portable copy holds it (each one tf2onnx
converts, in the modules exported now: ``docs/latent.rst``), else in
TensorFlow, whose absence the call names with the extra to install.
"""
import numpy as np

from ..core.errors import InputError

__all__ = ["LatentSpace", "LatentMethods", "spatial_latent_shape"]

# Mixed into the seeds of the ELBO's posterior draws (a stream of their own).
_ELBO_TAG = 0xE1B0


def spatial_latent_shape(metadata):
    """``[H, W, C]`` of a module's spatial code from its metadata (an image flow's latent,
    row-major), else None."""
    shape = metadata.get("image_flow", {}).get("latent_shape")
    return None if shape is None else [int(v) for v in shape]


class LatentSpace:
    """``encode``, ``log_prob``, ``elbo`` and ``cluster`` of a module.

    Parameters
    ----------
    kind : galsim_deep.engine.kinds.SamplingKind
        The module's sampling kind (its network, metadata and the stamps ``encode`` takes).
    range_policy : {'warn', 'clip', 'error'}
        Default treatment of conditions outside the training range (:meth:`log_prob`).

    Attributes
    ----------
    stamp_size : int
        Side of the module's stamps, pixels.
    pixel_scale : float
        Their pixel scale, arcsec.
    """

    def __init__(self, kind, range_policy="warn"):
        self.network, self.metadata = kind.network, kind.metadata
        self._stamp_shape = kind.stamp_shape
        self.range_policy = range_policy
        self.stamp_size = int(kind.stamp_size)
        self.pixel_scale = float(kind.pixel_scale)

    @property
    def density_of_stamps(self):
        """True where ``log_prob`` is the density of the stamps themselves, not of codes, and
        ``encode`` takes the stamps' conditions, not their PSFs (an image flow's,
        ``docs/image_flow.rst``)."""
        signatures = self.metadata["signatures"]
        return "log_prob" in signatures and "image" in signatures["log_prob"]["inputs"]

    @property
    def latent_shape(self):
        """``[H, W, C]`` of a spatial code (an image flow's latent, row-major), else None."""
        return spatial_latent_shape(self.metadata)

    def density(self, stamps, codes, conditions, first_row=0, range_policy=None):
        """:meth:`log_prob` of what the module's density is of: the stamps themselves
        (:attr:`density_of_stamps`), else their codes (the :meth:`encode` means).

        Returns
        -------
        ndarray [N]
            float32 log-density, nats.
        """
        return self.log_prob(stamps if self.density_of_stamps else codes, conditions,
                             first_row, range_policy=range_policy)

    def _signature(self, name):
        """A clear error for a module without signature ``name`` (from its metadata: the
        signature then runs where :meth:`Network.runner
        <galsim_deep.engine.network.Network.runner>` chooses, ONNX Runtime where the
        module has its portable copy, with no TensorFlow loaded to check a name)."""
        self.network.check_signature(name)

    def _stamp_inputs(self, stamps, psfs, what):
        """Check stamps [N, S, S] (or one [S, S]; the kind's :attr:`~galsim_deep.engine.
        kinds.SamplingKind.stamp_shape`, a chromatic module's [N, B, S, S] in its training
        bands) and PSFs (per stamp, or one for all)."""
        shape, wanted = self._stamp_shape
        stamps = np.asarray(stamps, dtype=np.float32)
        psfs = np.asarray(psfs, dtype=np.float32)
        if stamps.ndim == len(shape):
            stamps = stamps[None]
        if stamps.shape[1:] != shape:
            raise InputError(f"{what}: stamps must be {wanted} at the module's stamp_size and "
                             f"{self.pixel_scale}\"/pixel, got shape {stamps.shape}; cut or "
                             f"redraw the stamps at that size and pixel scale")
        if psfs.shape == shape:
            psfs = np.broadcast_to(psfs, stamps.shape)
        if psfs.shape != stamps.shape:
            raise InputError(f"{what}: psfs must be one {list(shape)} image or one per stamp "
                             f"{stamps.shape}, got shape {psfs.shape}")
        axes = tuple(range(1, stamps.ndim))
        for label, a in (("stamps", stamps), ("psfs", psfs)):
            bad = ~np.isfinite(a).all(axis=axes)
            if bad.any():
                raise InputError(f"{what}: {label} {np.flatnonzero(bad)[:10].tolist()} contain "
                                 f"NaN or infinite pixels; mask or replace them (e.g. by noise) "
                                 f"before encoding")
        return {"image": stamps, "psf": np.ascontiguousarray(psfs)}

    def check_stamp_geometry(self, stamp_size, pixel_scale, source):
        """Raise unless stamps of ``stamp_size`` pixels at ``pixel_scale`` arcsec fit the module.

        Parameters
        ----------
        stamp_size : int
            Pixels on a side of the stamps (e.g. a dataset's).
        pixel_scale : float
            arcsec per pixel of the stamps.
        source : str
            What the stamps come from, for the message (e.g. a dataset path).

        Raises
        ------
        ValueError
            Naming both geometries and the command that builds a matching dataset.
        """
        if int(stamp_size) != self.stamp_size or \
                abs(float(pixel_scale) - self.pixel_scale) > 1e-9:
            raise InputError(
                f"{source} has {stamp_size}x{stamp_size} stamps at {pixel_scale}\"/pixel but "
                f"module {self.metadata['name']} works on {self.stamp_size}x{self.stamp_size} "
                f"at {self.pixel_scale}\"/pixel; build a matching dataset with `galsim-deep "
                f"dataset build --stamp-size {self.stamp_size} --pixel-scale "
                f"{self.pixel_scale} ...`")

    def encode(self, stamps, psfs, first_row=0, conditions=None):
        """Posterior mean and standard deviation of the latent code of observed stamps.

        Runs the module's ``encode`` signature (Flow-VAE modules have one) in
        the fixed blocks of :meth:`generate`, so a stamp's code does not depend
        on how the stamps are batched.

        Parameters
        ----------
        stamps : array_like [N, stamp_size, stamp_size] (or one [S, S])
            Observed, PSF-convolved, noisy stamps in the module's flux units
            (flux per pixel), at the module's :attr:`pixel_scale` (arcsec), the
            galaxy on the stamp's true centre; a chromatic module's are
            ``[N, B, S, S]``, one image per training band (``chromatic['bands']``
            of its metadata, in that order).
        psfs : array_like [N, S, S] or [S, S]
            Effective PSF images (unit sum, centred on pixel (S//2, S//2)), one
            per stamp or one for all (a chromatic module's: ``[N, B, S, S]`` or
            ``[B, S, S]``).
        first_row : int
            Index of the first stamp in the whole list (for the block alignment).
        conditions : catalog or dict of numpy arrays, optional
            One row per stamp with the module's :attr:`quantities`, for a module whose
            ``encode`` takes them and no PSF (an image flow's: ``psfs`` may be None, and
            its code is the flow's latent, ``stddev`` 0; ``docs/image_flow.rst``).

        Returns
        -------
        mean, stddev : ndarray [N, L]
            float32 mean and standard deviation of the Gaussian posterior
            ``q(z | stamp)`` per galaxy.
        """
        self._signature("encode")  # a clear error for modules without one
        inputs = self.metadata["signatures"]["encode"]["inputs"]
        if "psf" not in inputs:  # a flow on the stamps (image-flow): no PSF, conditions
            arrays = self._stamp_inputs(stamps, stamps if psfs is None else psfs, "encode")
            del arrays["psf"]
            arrays.update(self._conditions_of(inputs, conditions, len(arrays["image"]),
                                              "encode", "stamps"))
        else:
            arrays = self._stamp_inputs(stamps, psfs, "encode")
        out = self.network.run_blocks("encode", arrays, first_row)
        return out["mean"], out["stddev"]

    def log_prob(self, z, conditions, first_row=0, column_map=None, range_policy=None):
        """Log-density of latent codes under the module's latent flow, ``log p(z | conditions)``.

        Parameters
        ----------
        z : array_like [N, L]
            Latent codes (e.g. the means from :meth:`encode`); for a module whose
            ``log_prob`` takes stamps (an image flow's, ``docs/image_flow.rst``), stamps
            ``[N, S, S]`` (flux per pixel), whose density ``log p(stamp | conditions)``
            it returns.
        conditions : catalog or dict of numpy arrays
            One row per code with the module's :attr:`quantities` (as for
            :meth:`sample`).
        first_row : int
            Index of the first row in the whole list (for the block alignment).
        column_map, range_policy
            As in :meth:`sample`.

        Returns
        -------
        ndarray [N]
            float32 ``log p(z | conditions)`` in nats.
        """
        self._signature("log_prob")  # a clear error for modules without one
        inputs = self.metadata["signatures"]["log_prob"]["inputs"]
        if "image" in inputs:  # a density of the stamps themselves (image-flow)
            arrays = self._stamp_inputs(z, z, "log_prob")
            del arrays["psf"]
            arrays.update(self._conditions_of(inputs, conditions, len(arrays["image"]),
                                              "log_prob", "stamps", column_map,
                                              range_policy))
            return self.network.run_blocks("log_prob", arrays, first_row)["log_prob"]
        width = inputs["z"]["shape"][1]
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or (width is not None and z.shape[1] != width):
            raise InputError(f"log_prob: z must be [N, {width}] latent codes, got shape {z.shape}")
        if not np.all(np.isfinite(z)):
            raise InputError("log_prob: z contains NaN or infinite values; drop those rows")
        conds = self.network.condition_arrays(conditions, column_map,
                                        range_policy or self.range_policy)
        n = len(next(iter(conds.values())))
        if n != len(z):
            raise InputError(f"log_prob: {len(z)} codes but {n} rows of conditions; give one "
                             f"row of conditions per code")
        return self.network.run_blocks("log_prob", {"z": z, **conds}, first_row)["log_prob"]

    def _conditions_of(self, inputs, conditions, n, what, rows, column_map=None,
                       range_policy=None):
        """The condition inputs of a signature that takes them (none if it takes none)."""
        names = [c["name"] for c in self.metadata["conditions"] if c["name"] in inputs]
        if not names:
            return {}
        if conditions is None:
            raise InputError(f"{what}: module {self.metadata['name']} needs the conditions "
                             f"{names} of the {rows}, one row each")
        conds = self.network.condition_arrays(conditions, column_map,
                                              range_policy or self.range_policy)
        if len(next(iter(conds.values()))) != n:
            raise InputError(f"{what}: {n} {rows} but {len(next(iter(conds.values())))} rows "
                             f"of conditions; give one row of conditions per stamp")
        return conds

    def elbo(self, stamps, psfs, noise_variance, seed=0, samples=1, first_row=0):
        """Evidence lower bound of observed stamps, a per-galaxy likelihood (nats).

        ``ELBO = E_q[log p(stamp | z)] - KL(q(z | stamp) || p(z))``, the module's ``elbo``
        signature (hierarchical-VAE modules have one) averaged over ``samples``
        posterior draws: a lower bound of ``log p(stamp)``, the density of the stamp's
        pixels (flux per pixel) through its PSF under its noise.  Not
        :meth:`log_prob`, the latent flow's density of a code given the conditions.
        Low values flag stamps the model cannot explain; but the likeliest stamp is a
        blank sky, so it scores brightness as much as oddity (``docs/latent.rst``).

        Parameters
        ----------
        stamps, psfs
            As in :meth:`encode`.
        noise_variance : float or array_like [N]
            Each stamp's pixel noise variance, (flux per pixel)**2 (a dataset's
            ``noise_variance``).
        seed : int
            Seed of the posterior draws: row ``r``'s draw ``d`` depends only on
            ``(seed, r, d)``, so a stamp's ELBO does not depend on the batching.
        samples : int
            Posterior draws averaged (each one more pass of the network).
        first_row : int
            Index of the first stamp in the whole list (for the block alignment and the
            draws).

        Returns
        -------
        ndarray [N]
            float64 ELBO per stamp, nats.
        """
        self._signature("elbo")  # a clear error for modules without one
        arrays = self._stamp_inputs(stamps, psfs, "elbo")
        n = len(arrays["image"])
        variance = np.broadcast_to(np.asarray(noise_variance, dtype=np.float32), (n,)).copy()
        if not (np.all(np.isfinite(variance)) and np.all(variance > 0)):
            raise InputError("elbo: noise_variance must be finite and > 0 ((flux per "
                             "pixel)**2), one value or one per stamp; give each stamp's "
                             "pixel noise variance (a dataset's noise_variance)")
        samples = int(samples)
        if samples < 1:
            raise InputError(f"elbo: samples must be >= 1, got {samples}")
        width = self.metadata["signatures"]["elbo"]["inputs"]["random_normal"]["shape"][1]
        total = np.zeros(n)
        for draw in range(samples):
            normals = np.stack([
                np.random.default_rng([int(seed) & 0xFFFFFFFF, _ELBO_TAG, row, draw])
                .standard_normal(width, dtype=np.float32)
                for row in range(int(first_row), int(first_row) + n)]) if n else \
                np.zeros((0, width), np.float32)
            out = self.network.run_blocks("elbo", {**arrays, "noise_variance": variance,
                                                   "random_normal": normals}, first_row)
            total += out["elbo"].astype(np.float64)
        return total / samples

    def cluster(self, stamps, psfs, first_row=0):
        """Cluster membership probabilities ``q(y | stamp)`` of a mixture-prior (MPCC) module.

        Parameters
        ----------
        stamps, psfs, first_row
            As in :meth:`encode`.

        Returns
        -------
        ndarray [N, K]
            float32 probabilities of the K mixture components (rows sum to 1).
        """
        self._signature("cluster")  # a clear error for modules without one
        return self.network.run_blocks("cluster", self._stamp_inputs(stamps, psfs, "cluster"),
                                first_row)["probabilities"]


class LatentMethods:
    """The latent-space methods of an object that holds a :class:`LatentSpace` as
    ``latent`` (:class:`galsim_deep.GenerativeGalaxyModel`): each one is the
    :class:`LatentSpace`'s."""

    def encode(self, stamps, psfs, first_row=0, conditions=None):
        """:meth:`galsim_deep.engine.latent.LatentSpace.encode`."""
        return self.latent.encode(stamps, psfs, first_row, conditions)

    def log_prob(self, z, conditions, first_row=0, column_map=None, range_policy=None):
        """:meth:`galsim_deep.engine.latent.LatentSpace.log_prob`."""
        return self.latent.log_prob(z, conditions, first_row, column_map, range_policy)

    def elbo(self, stamps, psfs, noise_variance, seed=0, samples=1, first_row=0):
        """:meth:`galsim_deep.engine.latent.LatentSpace.elbo`."""
        return self.latent.elbo(stamps, psfs, noise_variance, seed, samples, first_row)

    def cluster(self, stamps, psfs, first_row=0):
        """:meth:`galsim_deep.engine.latent.LatentSpace.cluster`."""
        return self.latent.cluster(stamps, psfs, first_row)
