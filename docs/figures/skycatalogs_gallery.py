"""Draw docs/_static/skycatalogs_gallery.png: cosmoDC2 galaxies drawn both ways.

Eight galaxies of the CI sample the skyCatalogs wheel ships, inside the default model's
training range and spread over its magnitudes, each drawn twice through the same
Kolmogorov PSF (0.7") and LSST i band on 0.2" pixels, the way imSim draws skyCatalogs
objects: the catalog's own bulge + disk + knots above ours (the default model's galaxy
conditioned on the catalog's columns, turned to its position angle, with the galaxy's own
SED); the figure ``galsim-deep demo`` writes as ``gallery_skycatalogs.png`` where
skyCatalogs is installed (:mod:`galsim_deep.tools.demo.skycatalogs`).  Run from the
repository root with the ``[skycatalogs]`` extra (``make env``)::

    python docs/figures/skycatalogs_gallery.py [--seed 2026] [--band i]

About ten seconds on a 2-core CPU.
"""
import argparse
import warnings
from pathlib import Path

from galsim_deep.tools.demo.skycatalogs import draw_skycatalog_gallery

OUT = Path("docs/_static/skycatalogs_gallery.png")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--band", default="i")
    parser.add_argument("--n", type=int, default=8)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with warnings.catch_warnings():   # all eight lie inside the training range
        warnings.simplefilter("error")
        print(draw_skycatalog_gallery(args.out, n=args.n, band=args.band, seed=args.seed))


if __name__ == "__main__":
    main()
