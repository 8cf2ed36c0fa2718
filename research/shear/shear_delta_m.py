"""A scored row's shear bias against the truths', through each PSF it was measured with.

A release or fidelity table's folder keeps each row's shear distortions
(``rows/ROW-shear-PSF.npz``) and the truths' (``reference/shear-PSF-truth.npz``); this
prints ``m`` of both and their difference ``Δm`` with its bootstrap error, and writes them
as JSON::

    python research/shear/shear_delta_m.py runs/distill/v2-4-32/fidelity \\
        flow-vae-mock-cosmos-25.2-2.0.0-16a84d18 --out docs/_static/shear_delta_m_2.0.0.json
"""
import argparse
import json
from pathlib import Path

import numpy as np

from galsim_deep.core.files import atomic_path
from galsim_deep.tools.validation.measures.shear.compute import shear_bias_difference


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", help="a release or fidelity table's folder")
    p.add_argument("row", help="the row's key (its file names' stem)")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    folder = Path(args.folder)
    out = {"folder": str(folder), "row": args.row, "psfs": {}}
    for path in sorted((folder / "rows").glob(f"{args.row}-shear-*.npz")):
        psf = path.stem[len(args.row) + len("-shear-"):]
        e = np.load(path)["e"]
        e_truth = np.load(folder / "reference" / f"shear-{psf}-truth.npz")["e"]
        d = shear_bias_difference(e, e_truth)
        out["psfs"][psf] = {"m": [d["a"]["m"], d["a"]["m_error"]],
                            "m_truth": [d["b"]["m"], d["b"]["m_error"]],
                            "delta_m": list(d["dm"]), "delta_m1": list(d["dm1"]),
                            "delta_m2": list(d["dm2"]), "n": [d["n_a"], d["n_b"]]}
        print(f"{psf:14s} m {1e3 * d['a']['m']:+7.2f}  truth {1e3 * d['b']['m']:+7.2f}  "
              f"dm {1e3 * d['dm'][0]:+6.2f} +- {1e3 * d['dm'][1]:.2f} (1e-3)")
    with atomic_path(args.out) as tmp:
        Path(tmp).write_text(json.dumps(out, indent=1, default=float))


if __name__ == "__main__":
    main()
