"""Render a bright-enriched mock-COSMOS set (issue 95's ladder): noiseless truths and noisy stamps.

The galaxies are the ``mock-cosmos`` builder's own (:class:`galsim_deep.data.mock_cosmos.
MockCosmosSource`, population ``cosmos-25.2``, 64 x 64 stamps at 0.06 arcsec/pixel: the
default's training stamps), galaxy ``i`` of seed ``seed`` exactly as a build with that seed
draws it.  Their conditions are drawn first (cheap, :func:`~galsim_deep.data.mock_cosmos.
sample_conditions`) and only those with ``mag_auto <= max_mag`` are rendered, so the set is
the population's bright tail with its own mix of sizes, classes and PSFs.  The first
``n_test`` bright galaxies are the held-out split, the next ``n_train`` the training split.

Each split is written in chunks of ``chunk`` galaxies (``<split>-NNN.npz`` under ``out``);
a chunk already on disk is kept, so a rerun of the same command resumes where it stopped.
Each chunk holds ``truth`` (noiseless, unconvolved, flux per pixel, ``method='no_pixel'``),
``stamp`` (convolved with one of the real HST PSFs, binned from 0.03 arcsec, with COSMOS
noise), ``psf`` (unit sum), ``noise_variance`` ((flux per pixel)^2), ``conditions``
(``mag_auto`` AB mag, ``flux_radius`` pixels of 0.03 arcsec, ``zphot``), ``label`` (mock
morphology class) and ``ident`` (the galaxy's index ``i`` in the build).  Flips and quarter
turns are left to the training script (exact on the pixel grid).

Usage (about 0.33 s per bright galaxy on one core)::

    OMP_NUM_THREADS=1 .venv/bin/python research/bright_ladder/render_bright.py \\
        --out runs/bright_ladder/data --n-train 2000 --n-test 300 --seed 9500
"""
import argparse
import json
import sys
from pathlib import Path

import numpy as np

FIELDS = ("truth", "stamp", "psf", "noise_variance", "conditions", "label", "ident")


def bright_indices(n, seed, max_mag, population="cosmos-25.2"):
    """Indices of the first ``n`` galaxies of a ``mock-cosmos`` build (64 x 64 at 0.06
    arcsec/pixel) with ``mag_auto <= max_mag`` (AB mag).

    Conditions are drawn in blocks of 20,000 galaxies until ``n`` pass.

    Returns
    -------
    ndarray of int
    """
    from galsim_deep.data.mock_cosmos import sample_conditions

    if not n >= 1:
        raise ValueError(f"n must be >= 1 bright galaxies, got {n}")
    drawn = 20000
    while True:
        cat = sample_conditions(drawn, seed, 64, 0.06, population=population)
        kept = np.flatnonzero(np.asarray(cat["mag_auto"]) <= max_mag)
        if len(kept) >= n:
            return kept[:n]
        if drawn > 4_000_000:
            raise ValueError(f"only {len(kept)} of {drawn} galaxies have mag_auto <= "
                             f"{max_mag}: raise --max-mag or lower --n-train/--n-test")
        drawn *= 2


def render_chunk(source, indices):
    """The ``FIELDS`` arrays of the galaxies ``indices`` of ``source`` (a set-up
    :class:`~galsim_deep.data.mock_cosmos.MockCosmosSource`)."""
    rows = [source.make(int(i)) for i in indices]
    out = {k: np.stack([np.asarray(r[k]) for r in rows]) for k in FIELDS}
    for k in ("truth", "stamp", "psf"):
        out[k] = out[k].astype(np.float32)
    return out


def render_split(source, name, indices, out, chunk, progress=True):
    """Write ``<name>-NNN.npz`` chunks of ``indices`` under ``out``; chunks on disk are kept."""
    from tqdm.auto import tqdm

    starts = range(0, len(indices), chunk)
    for c, start in enumerate(tqdm(starts, desc=name, disable=not progress)):
        path = out / f"{name}-{c:03d}.npz"
        if path.is_file():
            continue
        arrays = render_chunk(source, indices[start:start + chunk])
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, **arrays)
        tmp.rename(path)


def load_split(folder, name):
    """Concatenate the ``<name>-NNN.npz`` chunks of ``folder``: dict of ``FIELDS`` arrays.

    Raises
    ------
    FileNotFoundError
        When there is no chunk (render the set first).
    """
    paths = sorted(Path(folder).glob(f"{name}-[0-9][0-9][0-9].npz"))
    if not paths:
        raise FileNotFoundError(f"no {name}-NNN.npz in {folder}: run "
                                f"research/bright_ladder/render_bright.py --out {folder}")
    parts = [dict(np.load(p)) for p in paths]
    return {k: np.concatenate([p[k] for p in parts]) for k in FIELDS}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bright_ladder/data")
    parser.add_argument("--n-train", type=int, default=2000)
    parser.add_argument("--n-test", type=int, default=300)
    parser.add_argument("--max-mag", type=float, default=21.0, help="AB mag (default 21)")
    parser.add_argument("--seed", type=int, default=9500,
                        help="the build's seed (default 9500; the default model's build used 0)")
    parser.add_argument("--chunk", type=int, default=100)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    from galsim_deep.data.mock_cosmos import MockCosmosSource

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    indices = bright_indices(args.n_test + args.n_train, args.seed, args.max_mag)
    settings = {"seed": args.seed, "max_mag": args.max_mag, "n_test": args.n_test,
                "n_train": args.n_train, "chunk": args.chunk, "population": "cosmos-25.2",
                "stamp_size": 64, "pixel_scale": 0.06, "psf": "hst", "noise": "cosmos"}
    manifest = out / "manifest.json"
    if manifest.is_file():  # a set may grow its training split, nothing else
        old = json.loads(manifest.read_text())
        if ({**old, "n_train": 0} != {**settings, "n_train": 0}
                or old["n_train"] > args.n_train):
            sys.exit(f"{out} holds a set rendered with {manifest.read_text()}; use another "
                     f"--out (only --n-train may grow)")
    manifest.write_text(json.dumps(settings, indent=1))
    source = MockCosmosSource(64, 0.06, args.seed, population="cosmos-25.2")
    source.setup()
    render_split(source, "test", indices[:args.n_test], out, args.chunk, not args.no_progress)
    render_split(source, "train", indices[args.n_test:], out, args.chunk, not args.no_progress)


if __name__ == "__main__":
    main()
