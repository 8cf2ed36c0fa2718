"""Priors for a rung's codes, compared by what a survey sees first: each galaxy's flux and
size against its truth's.

``sample_rung.py`` scores a prior with classifiers; the release check then found rung (g)'s
module with its ±100-clipped prior far easier to tell from the truths than 2.2.0 in every
survey view (HST depth 0.745 against 0.650) while the noiseless view was the same.  A
classifier at survey depth sees each galaxy's flux and size at its magnitude first, and the
mean flux that ``sample_rung.py`` reports (a ratio of sums, ruled by the bright rows) hides
a per-galaxy bias.  This script fits the prior under several settings to the same codes
(encoded once, cached in ``OUT/codes.npz``), draws one sample per held-out row of both sets,
and reports per galaxy, against the truth of the same row: the median and quartiles of the
flux ratio and of the HSM size ratio.  Canonical decodes, not turned (flux and size do not
depend on the turn), no wings.

Usage::

    .venv/bin/python research/bright_ladder/prior_sweep.py runs/bright_ladder/rung_g \\
        --checkpoint runs/bright_ladder/rung_g/kept4000/ckpt-4000 \\
        --setting clip10 --setting clip100 --setting clip100-weighted --setting clip30
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_bright import load_split  # noqa: E402
from sample_rung import fit_mix_prior, mix_codes  # noqa: E402
from score_rung import _write, load_network, set_threads  # noqa: E402
from train_rung import median_and_error  # noqa: E402


def parse_setting(text):
    """``clip<N>[-weighted][-means][-steps<N>]`` -> the fit's options."""
    options = {"clip": 10.0, "weighted": False, "posterior_samples": True, "steps": 3000}
    for part in text.split("-"):
        if part.startswith("clip"):
            options["clip"] = float(part[4:])
        elif part == "weighted":
            options["weighted"] = True
        elif part == "means":
            options["posterior_samples"] = False
        elif part.startswith("steps"):
            options["steps"] = int(part[5:])
        else:
            raise SystemExit(f"unknown part {part!r} of setting {text!r}")
    return options


def cached_mix_codes(network, bright, population, cache):
    """``sample_rung.mix_codes``, kept in ``cache`` (an ``.npz``) and read from it again."""
    if cache.is_file():
        with np.load(cache) as f:
            return {k: f[k] for k in f.files}
    out = mix_codes(network, bright, population)
    np.savez(cache, **out)
    return out


def ratios(network, flow, test, clip, seed, batch_size=100):
    """Per-galaxy flux and HSM size ratios of one sample per row to the row's truth."""
    import tensorflow as tf

    from galsim_deep.diagnostics.checkpoint_scores import hsm_g_sigma

    codes = flow.sample(test["conditions"], seed=[int(seed), 1], clip=clip)
    images = np.concatenate([network.decode(tf.constant(codes[i:i + batch_size], tf.float32))
                             .numpy() for i in range(0, len(codes), batch_size)])
    truth = test["truth"].astype(np.float64)
    flux = images.sum(axis=(1, 2)) / truth.sum(axis=(1, 2))
    (_, size), (_, true_size) = (hsm_g_sigma(np.asarray(a, np.float64), 0.06)
                                 for a in (images, truth))
    ok = np.isfinite(size) & np.isfinite(true_size)
    return {"flux": quartiles(flux), "size": quartiles(size[ok] / true_size[ok]),
            "size_failures": int((~ok).sum())}


def quartiles(values):
    q25, q75 = np.percentile(values, [25, 75])
    median, error = median_and_error(values)
    return {"q25": float(q25), "median": median, "q75": float(q75), "median_error": error}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", help="a train_rung.py run folder")
    parser.add_argument("--checkpoint")
    parser.add_argument("--setting", action="append", required=True,
                        help="clip<N>[-weighted][-means][-steps<N>] (repeatable)")
    parser.add_argument("--data", default="runs/bright_ladder/data")
    parser.add_argument("--population", default="runs/bright_ladder/population")
    parser.add_argument("--seed", type=int, default=95200)
    parser.add_argument("--out", default="runs/bright_ladder/prior_sweep")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    network, source = load_network(args.spec, args.checkpoint)
    codes = cached_mix_codes(network, load_split(args.data, "train"),
                      load_split(args.population, "train"), out / "codes.npz")
    tests = {"bright": load_split(args.data, "test"),
             "population": load_split(args.population, "test")}
    for setting in args.setting:
        options, t0 = parse_setting(setting), time.time()
        flow, _ = fit_mix_prior(codes, options["steps"], args.seed,
                                options["posterior_samples"], options["weighted"],
                                options["clip"])
        report = {"setting": setting, "options": options, "source": source,
                  "command": " ".join(sys.argv),
                  **{name: ratios(network, flow, test, options["clip"], args.seed)
                     for name, test in tests.items()}}
        report["seconds"] = time.time() - t0
        _write(out / f"{setting}.json", report)
        print(setting, json.dumps({k: report[k] for k in tests}), flush=True)


if __name__ == "__main__":
    main()
