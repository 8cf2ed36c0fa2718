"""Which latents of the hierarchical VAE classify? Simple classifiers on each level's codes.

The VDVAE paper (Andrianomena & Tang) classifies radio galaxies with simple classifiers on
the latents of a very deep VAE.  The shipped module exports only its top latent ``z_0``
(16 numbers), which classifies at chance (``docs/latent.rst``); its information is in the
lower latents (the KL of the lower blocks is 98-99% of the whole,
``docs/hierarchical_vae.rst``).  This script rebuilds the module's networks from its
weights (:func:`~galsim_deep.training.hierarchical_vae.train.network_of_module`), takes
the posterior mean of **every** latent of each stamp
(:meth:`~galsim_deep.training.hierarchical_vae.autoencoder.HierarchicalVAE.encode_latents`)
and fits the classifiers of ``research/classes/latent_classify.py`` (its
``classify_codes``) on the codes of each
resolution of the hierarchy, and on all of them:

* ``top``: ``z_0`` alone, what the module's ``encode`` returns;
* ``2x2``, ``4x4``, ``8x8``, ``16x16``: the latents of each decoder stage (the ``2x2``
  stage holds ``z_0`` and four more blocks);
* ``all``: every latent, 1,520 numbers.

With ``--references``, the same classifiers on the stamps themselves, so that what the
latents lose is visible: the first 256 principal components (seeded randomized PCA,
fitted on the training stamps) of

* ``pixels``: each observed stamp in units of its own noise (``stamp / sqrt(noise
  variance)``), what the encoder sees;
* ``truth``: each galaxy's noise-free profile before the PSF, in the same units, which no
  code inferred from a noisy stamp can beat.

Each group with logistic regression and gradient boosting on the first ``--n-small``
training galaxies; ``all`` with the four classifiers on the first ``--n-train``.  Test:
the whole test split.  Run from the repository root (TensorFlow needed)::

    python research/hierarchical/hierarchical_classify.py [--model MODULE] [--n-train 50000] \\
        [--n-small 5000] [--references] [--out docs/_static/classify/hierarchical-latents.json]

The codes are kept in ``runs/hierarchical-latents/`` (``--cache``) for a rerun, tagged
with the module's name and version (another module's codes are computed again), and a
rerun with the same settings keeps the groups its output already holds.  About
15 minutes on a 2-core CPU, and about 10 more with ``--references``.
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

DATASET = "data/mock-cosmos-25.2-64.h5"
MODEL = "hub:hierarchical-vae-mock-cosmos-25.2@0.1.0"


def latent_codes(model, dataset, split, n, cache, key, batch=256):
    """Every latent's posterior mean of the first ``n`` galaxies of a split (cached under
    ``key``, the module that computed them: another module's file is computed again)."""
    import tensorflow as tf
    from tqdm.auto import tqdm

    from galsim_deep.core.files import read_keyed_arrays, write_keyed_arrays
    from galsim_deep.data.reader import StampDataset

    path = Path(cache) / f"{split}-{n}.npz"
    fields = ("codes", "labels", "mag_auto", "rows")
    saved = read_keyed_arrays(path, key, fields)
    if saved is not None:
        return saved
    encode = tf.function(model.encode_latents)
    with StampDataset(dataset) as ds:
        rows = ds.indices(split)[:n]
        names = ds.condition_names
        codes, labels, mags = [], [], []
        for start in tqdm(range(0, len(rows), batch), desc=f"latents, {split}", unit="batch"):
            d = ds.read(rows[start:start + batch], ["stamp", "psf", "label", "conditions"])
            codes.append(encode(d["stamp"], d["psf"]).numpy())
            labels.append(d["label"])
            mags.append(d["conditions"][:, names.index("mag_auto")])
    out = {"codes": np.concatenate(codes), "labels": np.concatenate(labels),
           "mag_auto": np.concatenate(mags), "rows": np.asarray(rows)}
    path.parent.mkdir(parents=True, exist_ok=True)
    write_keyed_arrays(path, key, out)
    return out


def pixel_components(dataset, n_train, cache, components=256, batch=2048, seed=0):
    """PCA features of the observed stamps and of the truths, train and test (cached).

    Each stamp and truth is divided by the square root of its stamp's noise variance; the
    PCA (``components`` components, randomized, seeded) is fitted on the training rows.
    """
    from sklearn.decomposition import PCA

    from galsim_deep.core.files import atomic_path
    from galsim_deep.data.reader import StampDataset

    path = Path(cache) / f"pixels-{n_train}-{components}.npz"
    if path.is_file():
        with np.load(path) as saved:
            return dict(saved)
    out = {}
    with StampDataset(dataset) as ds:
        images = {}
        for split, rows in (("train", ds.indices("train")[:n_train]),
                            ("test", ds.indices("test"))):
            parts = {"pixels": [], "truth": []}
            for start in range(0, len(rows), batch):
                d = ds.read(rows[start:start + batch], ["stamp", "truth", "noise_variance"])
                sigma = np.sqrt(d["noise_variance"]).reshape(-1, 1, 1)
                parts["pixels"].append((d["stamp"] / sigma).reshape(len(sigma), -1))
                parts["truth"].append((d["truth"] / sigma).reshape(len(sigma), -1))
            images[split] = {k: np.concatenate(v).astype(np.float32) for k, v in parts.items()}
    for kind in ("pixels", "truth"):
        pca = PCA(components, svd_solver="randomized", random_state=seed)
        out[f"{kind}_train"] = pca.fit_transform(images["train"][kind])
        out[f"{kind}_test"] = pca.transform(images["test"][kind])
        out[f"{kind}_explained"] = np.asarray(pca.explained_variance_ratio_.sum())
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(tmp, **out)
    return out


def groups(latent_shapes):
    """Column ranges of ``top``, each resolution's latents and ``all``."""
    sizes = [int(np.prod(shape)) for shape in latent_shapes]
    edges = np.concatenate([[0], np.cumsum(sizes)])
    out = {"top": np.arange(sizes[0])}
    for side in sorted({shape[0] for shape in latent_shapes}):
        cols = [np.arange(edges[i], edges[i + 1]) for i, shape in enumerate(latent_shapes)
                if shape[0] == side]
        out[f"{side}x{side}"] = np.concatenate(cols)
    out["all"] = np.arange(edges[-1])
    return out


def main():
    from galsim_deep.core.module_format import read_metadata
    from galsim_deep.core.reporting import write_json
    from galsim_deep.data import hub
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "classes"))
    from latent_classify import CLASSIFIERS, classify_codes  # research/classes/latent_classify.py
    from galsim_deep.training.hierarchical_vae.train import network_of_module

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=50000)
    parser.add_argument("--n-small", type=int, default=5000)
    parser.add_argument("--references", action="store_true",
                        help="also classify 256 principal components of the stamps and truths")
    parser.add_argument("--model", default=MODEL,
                        help=f"the hierarchical VAE's module (default {MODEL})")
    parser.add_argument("--cache", default=None,
                        help="folder of the codes (default runs/hierarchical-latents, with "
                             "the module's folder name appended for another --model)")
    parser.add_argument("--out", default="docs/_static/classify/hierarchical-latents.json",
                        type=Path)
    args = parser.parse_args()

    module = hub.resolve(args.model)
    model = network_of_module(module)
    cache = args.cache or ("runs/hierarchical-latents" if args.model == MODEL
                           else f"runs/hierarchical-latents-{module.name}")
    meta = read_metadata(module)
    key = f"{meta['name']} {meta['version']} {DATASET}"
    train = latent_codes(model, DATASET, "train", args.n_train, cache, key)
    test = latent_codes(model, DATASET, "test", None, cache, key)
    result = {"model": args.model, "dataset": DATASET, "n_test": int(len(test["labels"])),
              "chance": float(np.mean(test["labels"] == np.bincount(train["labels"]).argmax())),
              "n_train": args.n_train, "n_small": args.n_small, "groups": {}}
    if args.out.is_file():  # resume: keep the groups a run with the same settings finished
        done = json.loads(args.out.read_text())
        if all(done.get(k) == result[k] for k in ("model", "dataset", "n_train", "n_small")):
            result["groups"] = done["groups"]
    for name, cols in groups(model.latent_shapes).items():
        if name in result["groups"]:
            continue
        runs = classify_codes(train["codes"][:, cols], train["labels"], test["codes"][:, cols],
                              test["labels"], test["mag_auto"], n_train=[args.n_small],
                              classifiers=("logistic", "gradient_boosting"), what=name)
        if name == "all":
            runs += classify_codes(train["codes"], train["labels"], test["codes"],
                                   test["labels"], test["mag_auto"], n_train=[args.n_train],
                                   classifiers=CLASSIFIERS, what="all")
        result["groups"][name] = {"size": int(len(cols)), "runs": runs}
        for r in runs:
            print(f"{name:6s} ({len(cols):4d} numbers) {r['classifier']:18s} n_train "
                  f"{r['n_train']:6d}: accuracy {r['accuracy']:.3f} ± {r['error']:.3f}")
        write_json(result, args.out)  # after each group: an interruption keeps what finished
    if args.references:
        pcs = pixel_components(DATASET, args.n_train, cache)
        result["references"] = {}
        for kind in ("pixels", "truth"):
            runs = classify_codes(pcs[f"{kind}_train"], train["labels"], pcs[f"{kind}_test"],
                                  test["labels"], test["mag_auto"],
                                  n_train=[args.n_small, args.n_train],
                                  classifiers=("logistic", "gradient_boosting"),
                                  what=f"{kind}, 256 principal components")
            result["references"][kind] = {
                "components": 256, "explained_variance": float(pcs[f"{kind}_explained"]),
                "runs": runs}
            for r in runs:
                print(f"{kind:6s} (256 components) {r['classifier']:18s} n_train "
                      f"{r['n_train']:6d}: accuracy {r['accuracy']:.3f} ± {r['error']:.3f}")
            write_json(result, args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
