"""The codes a distillation trains on, and what a dark student draws.

``model distill`` trains its student on the teacher's latent flow's codes at the teacher's
population (:func:`~galsim_deep.training.distill_pool.training_pairs`).  This script writes
how far those codes reach: the flow's clip range per latent dimension, the share of draws
with some ``|z|`` beyond 10 and 30 and each dimension's spread, on ``--draws`` draws; over
``--batches`` training batches, the largest ``|z|`` and the range of the teacher's summed
squared profile (the relative error's denominator).  With ``--run RUN`` it also draws 64
random codes with that distillation run's latest student and writes its brightest pixel and
the pre-activation (inverse softplus) of its pixels::

    python research/distill/distill_codes.py hub:flow-vae-mock-cosmos-25.2@2.0.0 \\
        --run runs/distill/v2-8-64-pop --out docs/_static/distill_codes_2.0.0.json
"""
import argparse
import json
from pathlib import Path

import numpy as np


def main(argv=None):
    import tensorflow as tf

    from galsim_deep.core.files import atomic_path
    from galsim_deep.training.distill import load_teacher, restore_student
    from galsim_deep.training.distill_pool import training_pairs, weighted_pool
    from galsim_deep.training.families import family_of

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("teacher")
    p.add_argument("--draws", type=int, default=20000)
    p.add_argument("--batches", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--run", default=None, help="a distillation run whose student to probe")
    p.add_argument("--out", required=True)
    args = p.parse_args(argv)

    network, flow, recipe, metadata, _ = load_teacher(args.teacher)
    vae = family_of(recipe).autoencoder(network)
    conditions, log_weights = weighted_pool(recipe, metadata, 50000, args.seed, 0.0)
    rng = np.random.default_rng(args.seed)
    rows = np.asarray(conditions)[rng.integers(0, len(conditions), args.draws)]
    eps = rng.standard_normal((args.draws, flow.latent_size)).astype(np.float32)
    z = flow.sample_from_normal(tf.constant(eps), tf.constant(rows)).numpy()
    reach = np.abs(z).max(axis=1)
    result = {"teacher": args.teacher, "draws": args.draws,
              "clip_low": np.asarray(flow.latent_low).tolist(),
              "clip_high": np.asarray(flow.latent_high).tolist(),
              "fraction_beyond_10": float((reach > 10).mean()),
              "fraction_beyond_30": float((reach > 30).mean()),
              "spread_per_dimension": z.std(axis=0).tolist()}
    largest, power = [], []
    for i in range(args.batches):
        codes, target = training_pairs(flow, vae, conditions,
                                       tf.constant([args.seed, i], tf.int64), args.batch_size,
                                       log_weights)
        largest.append(float(np.abs(codes.numpy()).max()))
        power.append((target.numpy().astype(np.float64) ** 2).sum(axis=(1, 2)))
    power = np.concatenate(power)
    result["training_pairs"] = {
        "pairs": int(len(power)), "largest_abs_code": max(largest),
        "summed_squared_profile": {"min": float(power.min()), "median": float(np.median(power)),
                                   "max": float(power.max())}}
    if args.run:
        student_network, _, student_recipe, _, log = restore_student(args.run)
        decoder = family_of(student_recipe).autoencoder(student_network).decoder
        probe = tf.random.stateless_normal([64, flow.latent_size], seed=[1, 2])
        image = decoder(probe)["profile"].numpy().astype(np.float64)
        raw = np.log(np.expm1(np.maximum(image, 1e-300)))  # the softplus's input
        result["student"] = {"run": args.run, "step": int(log.get("steps", 0)),
                             "brightest_pixel": float(image.max()),
                             "pre_activation_max": float(raw.max()),
                             "pre_activation_median": float(np.median(raw))}
    with atomic_path(args.out) as tmp:
        Path(tmp).write_text(json.dumps(result, indent=1))
    print(json.dumps({k: v for k, v in result.items() if not isinstance(v, list)}, indent=1))


if __name__ == "__main__":
    main()
