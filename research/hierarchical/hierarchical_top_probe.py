"""What a hierarchical VAE's top latent holds: catalogue quantities regressed from it.

Reads the posterior means ``research/hierarchical/hierarchical_classify.py`` cached for a module
(its ``--cache`` folder: ``train-N.npz`` and ``test-None.npz``, every latent, the top one's
16 numbers first), fits gradient boosting from the top code (or every latent) to each
catalogue quantity of the stamps on the first ``--n-train`` training galaxies, and writes
the coefficient of determination R² on the test split::

    python research/hierarchical/hierarchical_top_probe.py runs/hierarchical-latents-module \\
        --out runs/hierarchical-top/top_probe.json
"""
import argparse
import json
from pathlib import Path

import numpy as np

from galsim_deep.core.files import atomic_path
from galsim_deep.data.reader import StampDataset

DATASET = "data/mock-cosmos-25.2-64.h5"


def conditions(rows):
    with StampDataset(DATASET) as ds:
        order = np.argsort(rows)
        values = ds.read(np.asarray(rows)[order], ["conditions"])["conditions"]
        out = np.empty_like(values)
        out[order] = values
        return dict(zip(ds.condition_names, out.T))


def main(argv=None):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.metrics import r2_score

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("cache")
    p.add_argument("--top", type=int, default=16, help="numbers of the top latent")
    p.add_argument("--n-train", type=int, default=20000)
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    cache = Path(args.cache)
    train = dict(np.load(next(cache.glob("train-*.npz"))))
    test = dict(np.load(cache / "test-None.npz"))
    n = min(args.n_train, len(train["rows"]))
    c_train, c_test = conditions(train["rows"][:n]), conditions(test["rows"])
    out = {"cache": str(cache), "n_train": n, "n_test": len(test["rows"]), "r2": {}}
    for group, cols in (("top", slice(0, args.top)), ("all", slice(None))):
        for name in c_train:
            model = HistGradientBoostingRegressor(random_state=0)
            model.fit(train["codes"][:n, cols], c_train[name])
            r2 = r2_score(c_test[name], model.predict(test["codes"][:, cols]))
            out["r2"][f"{group}: {name}"] = float(r2)
            print(f"{group:4s} {name:12s} R2 {r2:.3f}")
    with atomic_path(args.out) as tmp:
        Path(tmp).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
