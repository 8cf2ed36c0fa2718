"""The one-band kinds: ``mono`` (a Flow-VAE's ``sample``) and ``clusters`` (an MPCC module's
``sample`` and ``sample_cluster``, a mixture prior whose component a caller may choose)."""
import numpy as np

from ...core.errors import InputError, InputTypeError
from .base import SamplingKind

__all__ = ["MonoKind", "ClustersKind"]


class MonoKind(SamplingKind):
    """One image per galaxy from ``sample``: a ``galsim.InterpolatedImage`` in the module's
    flux band."""

    name = "mono"


class ClustersKind(SamplingKind):
    """A mixture-prior (MPCC) module: ``sample`` draws the component from the prior,
    ``sample_cluster`` takes it from the caller (``cluster=``, 0 .. ``n_clusters - 1``)."""

    name = "clusters"

    @classmethod
    def claims(cls, metadata):
        return "sample_cluster" in metadata["signatures"]

    @classmethod
    def sampling_signatures(cls, metadata):
        return ["sample", "sample_cluster"]

    @property
    def n_clusters(self):
        """The mixture's components."""
        return int(self.metadata["n_clusters"])

    def check_clusters(self, cluster, n):
        """A ``cluster`` argument (an int, or one per row) as int32 ``[n]``.

        Raises
        ------
        InputTypeError
            For anything but an int or a 1-d array of ints.
        InputError
            For the wrong length or a value outside 0 .. ``n_clusters - 1``.
        """
        k = self.n_clusters
        values = np.asarray(cluster)
        if values.dtype.kind not in "iu" or values.ndim > 1:
            raise InputTypeError(f"cluster must be an int or a 1-d array of ints, got "
                                 f"{cluster!r}")
        values = np.broadcast_to(values, (n,)) if values.ndim == 0 else values
        if len(values) != n:
            raise InputError(f"cluster has {len(values)} values for {n} galaxies")
        if n and (values.min() < 0 or values.max() >= k):
            raise InputError(f"cluster values must lie in 0..{k - 1} ({k} clusters), got "
                             f"{np.unique(values[(values < 0) | (values >= k)]).tolist()}")
        return values.astype(np.int32)

    def signature_inputs(self, conditions, normals, cluster=None):
        """``sample``'s inputs, or with ``cluster`` ``sample_cluster``'s (each row's cluster)."""
        if cluster is None:
            return super().signature_inputs(conditions, normals)
        _, arrays = super().signature_inputs(conditions, normals)
        arrays["cluster"] = self.check_clusters(cluster, len(normals))
        return "sample_cluster", arrays
