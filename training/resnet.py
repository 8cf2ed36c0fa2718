"""Sizes shared by the ResNets of every model family (Lanusse et al. 2020, Table 1)."""

from galsim_deep.core.errors import InputError

__all__ = ["stage_depths", "bottom_size"]


def bottom_size(stamp_size, n_stages):
    """Side of the feature map after ``n_stages`` x2 downsamplings of an ``S x S`` stamp.

    Raises
    ------
    InputError
        When ``stamp_size`` is not a multiple of ``2**n_stages``.
    """
    if stamp_size % 2 ** n_stages:
        raise InputError(f"stamp_size {stamp_size} is not a multiple of 2**n_stages = "
                         f"{2 ** n_stages}; use fewer stages or another stamp size")
    return stamp_size // 2 ** n_stages


def stage_depths(n_stages, base_depth, max_depth):
    """Depths ``d(i) = min(base_depth * 2**i, max_depth)`` for ``i = 0 .. n_stages``.

    Returns
    -------
    list of int
        ``n_stages + 1`` depths: one per stage and the bottleneck's.
    """
    return [min(base_depth * 2 ** i, max_depth) for i in range(n_stages + 1)]
