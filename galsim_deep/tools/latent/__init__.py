"""Latent-space tools: encode datasets, similarity search, anomaly scores, linear probes.

* :mod:`~galsim_deep.tools.latent.codes` - ``codes.h5``: a dataset's posterior
  means, standard deviations and flow log-likelihoods (``galsim-deep latent encode``);
* :mod:`~galsim_deep.tools.latent.search` - k-nearest-neighbour search (cosine or
  Euclidean) and precision@k (``galsim-deep latent similar``);
* :mod:`~galsim_deep.tools.latent.anomaly` - ``-log p(z | conditions)``, the MPCC
  information score, AUROC, the class-as-outlier flow
  (``galsim-deep latent anomalies``);
* :mod:`~galsim_deep.tools.latent.probe` - a logistic-regression probe;
* :mod:`~galsim_deep.tools.latent.outliers` - stars, cosmic rays, hot pixels and
  noise-only stamps made with a dataset's PSFs and noise;
* :mod:`~galsim_deep.tools.latent.latent_report` - the measures of ``galsim-deep
  latent-report``; :mod:`~galsim_deep.tools.latent.gallery` and
  :mod:`~galsim_deep.tools.latent.plots` - the PNGs.

TensorFlow is imported only by the functions that run a network.  Needs the
``[validate]`` extra (scikit-learn, matplotlib).
"""
from ...core.extras import require

require("validate", "galsim_deep.tools.latent")

from .anomaly import (auroc, flow_anomaly_score, gaussian_entropy,  # noqa: E402
                      held_out_class_auroc, information_score)
from .codes import LatentCodes, encode_dataset, read_codes  # noqa: E402
from .gallery import anomaly_gallery, similar_gallery  # noqa: E402
from .outliers import NON_GALAXY_KINDS, make_non_galaxy_stamps, noise_from_power  # noqa: E402
from .probe import linear_probe  # noqa: E402
from .latent_report import latent_report  # noqa: E402
from .search import SimilarityIndex, precision_at_k  # noqa: E402

__all__ = [
    "LatentCodes", "encode_dataset", "read_codes", "SimilarityIndex", "precision_at_k",
    "flow_anomaly_score", "gaussian_entropy", "information_score", "auroc",
    "held_out_class_auroc", "linear_probe", "NON_GALAXY_KINDS",
    "make_non_galaxy_stamps", "noise_from_power", "similar_gallery", "anomaly_gallery",
    "latent_report",
]
