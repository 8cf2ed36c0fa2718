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
from .search import SimilarityIndex
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


def similar_gallery(codes_path, query, out, k=10, metric="cosine", model=None):
    """Find the ``k`` galaxies most similar to a query and draw them in a PNG.

    Parameters
    ----------
    codes_path : str or Path
        A ``codes.h5`` file.
    query : int or str
        A row of the codes' dataset, or ``"FILE.h5:ROW"`` for a stamp of
        another dataset (see :func:`parse_query`).
    out : str or Path
        PNG to write: the query and its neighbours, most similar first.
    k : int
        Number of neighbours.
    metric : {'cosine', 'euclidean'}
    model : str, optional
        Module that encodes an external query (default: the codes' model).

    Returns
    -------
    dict
        ``query`` (dataset, row), ``rows`` (dataset rows of the neighbours),
        ``scores`` (similarity or distance), ``labels`` (class names when
        known), ``out``.
    """
    codes = read_codes(codes_path)
    index = SimilarityIndex(codes.codes, metric=metric)
    dataset, row = parse_query(query)
    if dataset is None or Path(dataset).resolve() == codes.dataset.resolve():
        at = codes.row_of(row)
        found, scores = index.query(codes.codes[at], k=k, exclude=[at])
        query_stamp = _stamps(codes.dataset, [row])[0]
        query_caption = "query " + _caption(codes, at)
        query_dataset = codes.dataset
    else:
        from ...api.model import GenerativeGalaxyModel
        from ...data.reader import StampDataset

        gm = GenerativeGalaxyModel(model or codes.attrs["model"])
        with StampDataset(dataset) as ds:
            if row >= ds.n_examples:
                raise InputError(f"query row {row} is beyond the {ds.n_examples} rows of "
                                 f"{dataset}")
            data = ds.read([row], ["stamp", "psf"])
        mean, _ = gm.encode(data["stamp"], data["psf"])
        found, scores = index.query(mean[0], k=k)
        query_stamp = data["stamp"][0]
        query_caption = f"query {Path(dataset).name} #{row}"
        query_dataset = Path(dataset)
    found, scores = found[0], scores[0]
    stamps = _stamps(codes.dataset, codes.indices[found])
    unit = "cos" if metric == "cosine" else "d"
    panels = [(query_stamp, query_caption)] + [
        (stamps[j], _caption(codes, i, f"\n{unit}={scores[j]:.3f}"))
        for j, i in enumerate(found)]
    plot_stamp_rows([("", panels)], out,
                    title=f"{k} nearest neighbours ({metric}) in the latent space of "
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
