"""Sizes shared by the ResNets of every model family (Lanusse et al. 2020, Table 1)."""

__all__ = ["stage_depths"]


def stage_depths(n_stages, base_depth, max_depth):
    """Depths ``d(i) = min(base_depth * 2**i, max_depth)`` for ``i = 0 .. n_stages``.

    Returns
    -------
    list of int
        ``n_stages + 1`` depths: one per stage and the bottleneck's.
    """
    return [min(base_depth * 2 ** i, max_depth) for i in range(n_stages + 1)]
