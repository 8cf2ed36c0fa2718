"""Look at latent space: a query and its most similar galaxies; the least and most likely ones.

:func:`similar_gallery` (``galsim-deep latent similar``) and
:func:`anomaly_gallery` (``galsim-deep latent anomalies``) read a ``codes.h5`` file
(:mod:`galsim_deep.tools.latent.codes`), rank its galaxies, and draw the stamps of
the encoded dataset in a PNG.
"""
from pathlib import Path

import numpy as np

from .anomaly import flow_anomaly_score
from .codes import read_codes
from .plots import plot_stamp_rows
from .search import EVERY_RANKING, footprint, ranking_index
from ...core.errors import InputError

__all__ = ["parse_query", "similar_gallery", "anomaly_gallery"]


def parse_query(query):
    """Split a query into ``(dataset path or None, row)``.

    ``"123"`` is row 123 of the dataset the codes were made from;
    ``"other.h5:123"`` is row 123 of another stamp dataset (it is encoded with
    the codes' model, so galaxies of one survey can be matched in another).
    """
    text = str(query)
    path, sep, row = text.rpartition(":")
    if not sep:
        path, row = None, text
    try:
        row = int(row)
    except ValueError:
        raise InputError(f"query {text!r} must be a dataset row (e.g. 42) or FILE.h5:ROW "
                         f"(e.g. other.h5:42)") from None
    if row < 0:
        raise InputError(f"query row must be >= 0, got {row}")
    return (Path(path) if path else None), row


def _caption(codes, i, extra=""):
    names = codes.class_names
    label = ""
    if codes.labels is not None and names:
        label = f" {names[int(codes.labels[i])]}"
    return f"#{int(codes.indices[i])}{label}{extra}"


def _stamps(dataset, rows):
    from ...data.reader import StampDataset

    with StampDataset(dataset) as ds:
        return ds.read(np.asarray(rows, dtype=np.int64), ["stamp"])["stamp"]


def _encode_query(model, dataset, row):
    """The code and log-density of row ``row`` of a stamp dataset, encoded by ``model``
    (with the row's conditions where the dataset has the model's)."""
    from ...api.model import GenerativeGalaxyModel
    from ...data.reader import StampDataset

    gm = GenerativeGalaxyModel(model)
    with StampDataset(dataset) as ds:
        if row >= ds.n_examples:
            raise InputError(f"query row {row} is beyond the {ds.n_examples} rows of {dataset}")
        data = ds.read([row], ["stamp", "psf", "conditions"])
        names = ds.condition_names
    cond = ({q: data["conditions"][:, names.index(q)] for q in gm.quantities}
            if all(q in names for q in gm.quantities) else None)
    mean, _ = gm.encode(data["stamp"], data["psf"], conditions=cond)
    log_prob = None
    if cond is not None and "log_prob" in gm.signatures:
        log_prob = gm.latent.density(data["stamp"], mean, cond, range_policy="clip")[0]
    return data["stamp"][0], mean[0], log_prob


def _latent_shape(model):
    """An image flow's latent shape from its module's metadata (no network loaded)."""
    from ...core.module_format import read_metadata
    from ...data.hub import resolve
    from ...engine.latent import spatial_latent_shape

    meta = read_metadata(resolve(str(model)))
    shape = spatial_latent_shape(meta)
    if shape is None:
        raise InputError(f"module {meta['name']} ({meta['family']}) has no spatial latent; the "
                         f"footprint ranking is for an image flow's codes: use cosine or "
                         f"euclidean")
    return shape


def similar_gallery(codes_path, query, out, k=10, metric="cosine", model=None):
    """Find the ``k`` galaxies most similar to a query and draw them in a PNG.

    Parameters
    ----------
    codes_path : str or Path
        A ``codes.h5`` file.
    query : int or str
        A row of the codes' dataset (encoded now if the file does not hold it: a test
        galaxy against training codes), or ``"FILE.h5:ROW"`` for a stamp of another
        dataset (see :func:`parse_query`).
    out : str or Path
        PNG to write: the query and its neighbours, most similar first.
    k : int
        Number of neighbours.
    metric : {'cosine', 'euclidean', 'likelihood', 'footprint'}
        By code (:data:`~.search.METRICS`), or ``likelihood``: the galaxies whose
        log-density (the file's ``log_prob``) is closest to the query's, the
        normalizing-flow slides' ranking (an image flow's ``log p(stamp | conditions)``),
        or ``footprint`` (an image flow's codes): Euclidean on the central window of the
        latent (:func:`~.search.footprint`), the galaxy without its sky.
    model : str, optional
        Module that encodes a query the file does not hold (default: the codes' model).

    Returns
    -------
    dict
        ``query`` (dataset, row), ``rows`` (dataset rows of the neighbours),
        ``scores`` (similarity or distance: ``|log p - log p(query)|`` in nats for
        ``likelihood``), ``labels`` (class names when known), ``out``.
    """
    if metric not in EVERY_RANKING:
        raise InputError(f"metric must be one of {EVERY_RANKING}, got {metric!r}")
    codes = read_codes(codes_path)
    by_density = metric == "likelihood"
    if by_density and codes.log_prob is None:
        raise InputError(f"{codes_path} has no log_prob: its model {codes.attrs['model_name']} "
                         f"has no log_prob signature; rank by code (cosine or euclidean)")
    shape = _latent_shape(model or codes.attrs["model"]) if metric == "footprint" else None
    index = ranking_index(metric, codes.codes, codes.log_prob, latent_shape=shape)
    point_of = (lambda code: footprint(np.atleast_2d(code), shape)) if shape else np.asarray
    dataset, row = parse_query(query)
    same = dataset is None or Path(dataset).resolve() == codes.dataset.resolve()
    held = same and np.any(codes.indices == row)
    if held:
        at = codes.row_of(row)
        point = codes.log_prob[at:at + 1] if by_density else point_of(codes.codes[at])
        found, scores = index.query(point, k=k, exclude=[at])
        query_stamp = _stamps(codes.dataset, [row])[0]
        query_caption = "query " + _caption(codes, at)
        query_dataset = codes.dataset
    else:
        query_dataset = codes.dataset if same else Path(dataset)
        query_stamp, mean, log_prob = _encode_query(model or codes.attrs["model"],
                                                    query_dataset, row)
        if by_density and log_prob is None:
            raise InputError(f"{query_dataset} lacks the conditions of the model, so the "
                             f"query has no log_prob; rank by code (cosine or euclidean)")
        found, scores = index.query([log_prob] if by_density else point_of(mean), k=k)
        query_caption = f"query {Path(query_dataset).name} #{row}"
    found, scores = found[0], scores[0]
    stamps = _stamps(codes.dataset, codes.indices[found])
    unit = {"cosine": "cos", "euclidean": "d", "likelihood": "|Δlog p|", "footprint": "d"}[metric]
    panels = [(query_stamp, query_caption)] + [
        (stamps[j], _caption(codes, i, f"\n{unit}={scores[j]:.3f}"))
        for j, i in enumerate(found)]
    where = "by log p" if by_density else "in the latent space"
    plot_stamp_rows([("", panels)], out,
                    title=f"{k} nearest neighbours ({metric}) {where} of "
                          f"{codes.attrs['model_name']}")
    labels = ([codes.class_names[int(codes.labels[i])] for i in found]
              if codes.labels is not None and codes.class_names else None)
    return {"query": (str(query_dataset), row), "rows": codes.indices[found].tolist(),
            "scores": scores.tolist(), "labels": labels, "out": Path(out)}


#: ``anomaly_gallery``'s scores: the codes file's field, the caption's label, what the
#: figure's title says, and the fix where a file lacks the field.
_SCORES = {
    "log_prob": ("log_prob", "-log p", "-log p(z | conditions) under the latent flow",
                 "has no latent flow (log_prob signature); encode with a Flow-VAE or MPCC "
                 "module"),
    "information": ("information_score", "-S",
                    "minus the information score log p(z|y) + h(q(z|x))",
                    "has no mixture prior; use --score log_prob"),
    "elbo": ("elbo", "-ELBO", "minus the stamp's evidence lower bound",
             "has no elbo signature (the hierarchical VAE's modules have one); use --score "
             "log_prob"),
}


def anomaly_gallery(codes_path, out, n=10, score="log_prob"):
    """Draw the ``n`` least and ``n`` most likely galaxies of a codes file.

    Parameters
    ----------
    codes_path : str or Path
        A ``codes.h5`` file.
    out : str or Path
        PNG to write: top row the most anomalous, bottom row the most typical.
    n : int
        Galaxies per row.
    score : {'log_prob', 'information', 'elbo'}
        Rank by ``-log p(z | conditions)`` of the module's latent flow (the
        file's ``log_prob``; modules with a ``log_prob`` signature), by minus
        the MPCC information score (the file's ``information_score``; modules
        with a mixture prior) or by minus the stamp's ELBO (the file's ``elbo``;
        modules with an ``elbo`` signature, the hierarchical VAE).

    Returns
    -------
    dict
        ``most_anomalous`` and ``most_typical`` (dataset rows), their
        ``scores`` (anomaly scores, nats), ``score``, ``out``.
    """
    if score not in _SCORES:
        raise InputError(f"score must be one of {', '.join(map(repr, _SCORES))}, got "
                         f"{score!r}")
    field, label, what, fix = _SCORES[score]
    codes = read_codes(codes_path)
    values = getattr(codes, field)
    if values is None:
        raise InputError(f"{codes_path} has no {field}: its model "
                         f"{codes.attrs['model_name']} {fix}")
    # Each score is a log-likelihood-like number: minus it ranks the outliers first.
    anomaly = (flow_anomaly_score(values) if score == "log_prob"
               else -np.asarray(values, dtype=np.float64))
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InputError(f"n must be a positive integer, got {n!r}")
    order = np.argsort(-anomaly, kind="stable")
    n = min(n, len(order))
    worst, best = order[:n], order[::-1][:n]
    stamps = _stamps(codes.dataset, codes.indices[np.concatenate([worst, best])])
    rows = [("most anomalous", [(stamps[j], _caption(codes, i, f"\n{label}={anomaly[i]:.1f}"))
                                for j, i in enumerate(worst)]),
            ("most typical", [(stamps[n + j], _caption(codes, i, f"\n{label}={anomaly[i]:.1f}"))
                              for j, i in enumerate(best)])]
    plot_stamp_rows(rows, out, title=f"least and most likely galaxies of "
                                     f"{codes.attrs['model_name']}: {what} (nats)")
    return {"most_anomalous": codes.indices[worst].tolist(),
            "most_typical": codes.indices[best].tolist(),
            "scores": {"most_anomalous": anomaly[worst].tolist(),
                       "most_typical": anomaly[best].tolist()},
            "score": score, "out": Path(out)}
