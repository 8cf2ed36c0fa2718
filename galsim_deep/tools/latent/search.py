"""Similarity search in latent space: the k galaxies whose codes are nearest a query's.

:class:`SimilarityIndex` wraps scikit-learn's
:class:`~sklearn.neighbors.NearestNeighbors`.  For the low-dimensional codes of
galsim_deep modules (L = 4 to 64) its KD-tree answers exact k-nearest-neighbour
queries over a million codes in milliseconds per query, and it needs no
library beyond scikit-learn (which the linear probe uses anyway).

Cosine similarity is computed exactly as a Euclidean search on the codes
normalised to unit length: for unit vectors ``|a - b|^2 = 2 (1 - cos(a, b))``,
so both give the same order and the tree still applies (scikit-learn's
``metric='cosine'`` would fall back to a brute-force scan).
"""
import numpy as np
from ...core.errors import InputError

__all__ = ["SimilarityIndex", "ranking_index", "precision_at_k", "footprint", "METRICS",
           "RANKINGS", "EVERY_RANKING", "FOOTPRINT_CELLS"]

#: The similarity measures :class:`SimilarityIndex` offers.
METRICS = ("cosine", "euclidean")

#: The rankings of the latent tools: by code (:data:`METRICS`), and ``likelihood``, by
#: closeness of the module's log-density (the normalizing-flow slides' ranking: a
#: Euclidean search on the one number ``log p``).
RANKINGS = METRICS + ("likelihood",)

#: Every ranking :func:`ranking_index` builds: :data:`RANKINGS`, and ``footprint`` for the
#: spatial codes of an image flow (:func:`footprint`).
EVERY_RANKING = RANKINGS + ("footprint",)

#: Cells on a side of the central window of a spatial code that :func:`footprint` keeps:
#: 8 cells of an image flow's squeezed latent are the central 16x16 pixels of its stamp.
FOOTPRINT_CELLS = 8


def footprint(codes, latent_shape, cells=FOOTPRINT_CELLS):
    """The central ``cells x cells`` window of spatial codes, flattened: the galaxy's part.

    An image flow's code (``docs/image_flow.rst``) is its latent ``[H, W, C]``, row-major,
    one number per pixel and aligned with the stamp (each cell a 2x2 block of pixels after
    the squeeze): most of it is sky.  Its central window is the code of the pixels where
    the galaxies sit, a representation that follows the galaxy rather than its sky.

    Parameters
    ----------
    codes : array_like [N, H * W * C]
        Spatial codes, row-major ``[H, W, C]``.
    latent_shape : sequence of 3 int
        ``[H, W, C]`` (an image flow's metadata ``image_flow.latent_shape``).
    cells : int
        Side of the window in cells, at most ``min(H, W)``.

    Returns
    -------
    ndarray [N, cells * cells * C]
    """
    codes = _as_codes(codes)
    h, w, c = (int(v) for v in latent_shape)
    if codes.shape[1] != h * w * c:
        raise InputError(f"codes of size {codes.shape[1]} are not spatial codes of shape "
                         f"{[h, w, c]}; the footprint ranking is for an image flow's latent")
    if not 1 <= int(cells) <= min(h, w):
        raise InputError(f"cells must be between 1 and {min(h, w)}, got {cells}")
    top, left = (h - int(cells)) // 2, (w - int(cells)) // 2
    window = codes.reshape(-1, h, w, c)[:, top:top + int(cells), left:left + int(cells)]
    return window.reshape(len(codes), -1)


def _as_codes(codes, what="codes"):
    codes = np.asarray(codes, dtype=np.float64)
    if codes.ndim != 2 or codes.shape[0] == 0 or codes.shape[1] == 0:
        raise InputError(f"{what} must be a non-empty [N, L] array of latent codes, "
                         f"got shape {codes.shape}")
    if not np.all(np.isfinite(codes)):
        bad = np.flatnonzero(~np.isfinite(codes).all(axis=1))
        raise InputError(f"{what} rows {bad[:10].tolist()} contain NaN or infinite values; "
                         f"drop them (or re-encode their stamps) before searching")
    return codes


def _unit(codes):
    norm = np.linalg.norm(codes, axis=1, keepdims=True)
    if np.any(norm == 0):
        raise InputError("cosine similarity is undefined for an all-zero code; use "
                         "metric='euclidean' or drop the zero rows")
    return codes / norm


class SimilarityIndex:
    """A k-nearest-neighbour index of latent codes.

    Parameters
    ----------
    codes : array_like [N, L]
        The codes to search (e.g. posterior means from
        :meth:`galsim_deep.GenerativeGalaxyModel.encode`).
    metric : {'cosine', 'euclidean'}
        Cosine similarity (the default: insensitive to the length of a code)
        or Euclidean distance.
    algorithm : str
        scikit-learn's ``NearestNeighbors`` algorithm ('auto', 'kd_tree',
        'ball_tree', 'brute'; default 'auto').

    Examples
    --------
    >>> index = SimilarityIndex(codes)                          # doctest: +SKIP
    >>> rows, similarity = index.query(codes[:1], k=10)         # doctest: +SKIP
    """

    def __init__(self, codes, metric="cosine", algorithm="auto"):
        from sklearn.neighbors import NearestNeighbors

        if metric not in METRICS:
            raise InputError(f"metric must be one of {METRICS}, got {metric!r}")
        self.metric = metric
        codes = _as_codes(codes)
        self.latent_size = codes.shape[1]
        self._points = _unit(codes) if metric == "cosine" else codes
        self._nn = NearestNeighbors(algorithm=algorithm, metric="euclidean")
        self._nn.fit(self._points)

    def __len__(self):
        return len(self._points)

    def query(self, codes, k=10, exclude=None):
        """The ``k`` indexed codes most similar to each query code.

        Parameters
        ----------
        codes : array_like [M, L] or [L]
            Query codes.
        k : int
            Number of neighbours per query (at most the index size).
        exclude : array_like of int [M], optional
            Per query, an index row to leave out (the query's own row when the
            query is in the index); -1 for none.

        Returns
        -------
        rows : ndarray [M, k] of int
            Index rows, most similar first.
        score : ndarray [M, k] of float
            Cosine similarity (1 = same direction; decreasing) for
            ``metric='cosine'``, Euclidean distance (increasing) otherwise.
        """
        codes = _as_codes(np.atleast_2d(np.asarray(codes, dtype=np.float64)), "query codes")
        if codes.shape[1] != self.latent_size:
            raise InputError(f"query codes have {codes.shape[1]} dimensions, the index "
                             f"{self.latent_size}; encode the queries with the same model")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise InputError(f"k must be a positive integer, got {k!r}")
        extra = 0 if exclude is None else 1
        if k + extra > len(self):
            raise InputError(f"k={k} neighbours asked of an index of {len(self)} codes"
                             + (" (one excluded per query)" if extra else "")
                             + f"; ask for at most {len(self) - extra}")
        points = _unit(codes) if self.metric == "cosine" else codes
        dist, rows = self._nn.kneighbors(points, n_neighbors=k + extra)
        if exclude is not None:
            exclude = np.broadcast_to(np.asarray(exclude, dtype=np.int64), (len(codes),))
            keep = rows != exclude[:, None]
            # Keep the first k of each row not excluded (one extra was fetched).
            order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
            rows = np.take_along_axis(rows, order, axis=1)
            dist = np.take_along_axis(dist, order, axis=1)
        if self.metric == "cosine":
            return rows, 1.0 - 0.5 * dist ** 2
        return rows, dist

    def neighbours_of_members(self, k=10):
        """The ``k`` nearest other members of the index for every indexed code.

        Returns
        -------
        rows : ndarray [N, k] of int
            Neighbours of each row, most similar first, the row itself left out.
        score : ndarray [N, k] of float
            As in :meth:`query`.
        """
        n = len(self)
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k < n:
            raise InputError(f"k must be an integer in 1..{n - 1} (the other codes), got {k!r}")
        dist, rows = self._nn.kneighbors(None, n_neighbors=k)  # sklearn leaves each point out
        if self.metric == "cosine":
            return rows, 1.0 - 0.5 * dist ** 2
        return rows, dist


def ranking_index(ranking, codes, log_prob=None, latent_shape=None):
    """The :class:`SimilarityIndex` of one of :data:`RANKINGS`: of the codes by a metric,
    or (``likelihood``) of the one number ``log p`` of each galaxy, searched by distance;
    or ``footprint``, Euclidean on the :func:`footprint` of spatial codes.

    Parameters
    ----------
    ranking : str
        One of :data:`RANKINGS` or ``footprint``.
    codes : array_like [N, L]
        The galaxies' codes (for ``cosine``, ``euclidean`` and ``footprint``).
    log_prob : array_like [N], optional
        Their log-densities (for ``likelihood``; a query's point is then ``[log p]``).
    latent_shape : sequence of 3 int, optional
        The codes' spatial shape (for ``footprint``; a query's point is then its
        footprint).

    Returns
    -------
    SimilarityIndex
    """
    if ranking not in EVERY_RANKING:
        raise InputError(f"ranking must be one of {EVERY_RANKING}, got {ranking!r}")
    if ranking == "footprint":
        if latent_shape is None:
            raise InputError("the footprint ranking needs the codes' spatial shape "
                             "(latent_shape: an image flow's latent)")
        return SimilarityIndex(footprint(codes, latent_shape), "euclidean")
    if ranking != "likelihood":
        return SimilarityIndex(codes, metric=ranking)
    if log_prob is None:
        raise InputError("the likelihood ranking needs each galaxy's log_prob; rank by code "
                         "(cosine or euclidean)")
    return SimilarityIndex(np.asarray(log_prob, np.float64)[:, None], "euclidean")


def precision_at_k(labels, neighbours, k=None, pool_labels=None):
    """Fraction of each galaxy's neighbours that share its label, averaged by label.

    Parameters
    ----------
    labels : array_like [N] of int
        Label of every indexed galaxy (of every query, with ``pool_labels``).
    neighbours : array_like [N, k] of int
        Neighbour rows of every galaxy (itself excluded), e.g. from
        :meth:`SimilarityIndex.neighbours_of_members`; with ``pool_labels``, rows of the
        pool (:meth:`SimilarityIndex.query` of the queries on the pool's index).
    k : int, optional
        Use the first ``k`` neighbours (default: all columns).
    pool_labels : array_like [M] of int, optional
        Labels of another set of galaxies the neighbours come from (test galaxies
        searched among training galaxies); then a label's chance is its share of the
        pool, ``n_label / M``.

    Returns
    -------
    dict
        ``per_galaxy`` (ndarray [N]), ``by_label`` (label -> mean precision),
        ``mean`` (over galaxies) and its ``mean_error`` (the standard error over
        galaxies; galaxies that share neighbours are not independent, so it is a
        guide, not a bound), ``macro`` (mean over labels), ``chance`` (label ->
        expected precision of random neighbours, ``(n_label - 1) / (N - 1)``),
        ``chance_mean`` (its mean over the galaxies, what ``mean`` would be for
        random neighbours), ``excess_sigma`` (``(mean - chance_mean) / mean_error``),
        ``k``.
    """
    labels = np.asarray(labels)
    neighbours = np.asarray(neighbours)
    if labels.ndim != 1 or neighbours.ndim != 2 or len(labels) != len(neighbours):
        raise InputError(f"labels [N] and neighbours [N, k] must have the same N, got "
                         f"{labels.shape} and {neighbours.shape}")
    k = neighbours.shape[1] if k is None else int(k)
    if not 1 <= k <= neighbours.shape[1]:
        raise InputError(f"k must be in 1..{neighbours.shape[1]}, got {k}")
    pool = labels if pool_labels is None else np.asarray(pool_labels)
    in_pool = neighbours.size == 0 or 0 <= neighbours.min() <= neighbours.max() < len(pool)
    if pool.ndim != 1 or not in_pool:
        raise InputError(f"neighbours must be rows of the {len(pool)} pool labels")
    hits = pool[neighbours[:, :k]] == labels[:, None]
    per_galaxy = hits.mean(axis=1)
    n = len(labels)
    by_label = {v.item(): float(per_galaxy[labels == v].mean()) for v in np.unique(labels)}
    counts = {v.item(): int(c) for v, c in zip(*np.unique(pool, return_counts=True))}
    chance = {v: (float((counts.get(v, 0) - 1) / max(n - 1, 1)) if pool_labels is None
                  else counts.get(v, 0) / len(pool)) for v in by_label}
    chance_mean = float(np.mean([chance[v.item()] for v in labels]))
    error = float(per_galaxy.std(ddof=1) / np.sqrt(n)) if n > 1 else None
    excess = ((float(per_galaxy.mean()) - chance_mean) / error) if error else None
    return {"per_galaxy": per_galaxy, "by_label": by_label, "mean": float(per_galaxy.mean()),
            "mean_error": error, "macro": float(np.mean(list(by_label.values()))),
            "chance": chance, "chance_mean": chance_mean, "excess_sigma": excess, "k": k}
