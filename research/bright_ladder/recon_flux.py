"""Each network's reconstructions of the population's held-out *noisy* stamps: their flux
over the truth's, median per bin of ``mag_auto``.

A decoder that draws no negative light and is not charged for light the noise hides can fit
a faint galaxy's noise with light of its own; the ladder's held-out residual (of noiseless
stamps) cannot show it, and a survey's classifier sees it first.  Encoder means of the
noisy stamps (through their PSFs), decoded and turned by each stamp's pose
(``train_rung.reconstruct``).

Usage::

    .venv/bin/python research/bright_ladder/recon_flux.py \\
        hub:flow-vae-mock-cosmos-25.2@2.0.0 \\
        runs/bright_ladder/rung_g@runs/bright_ladder/rung_g/kept4000/ckpt-4000 \\
        --out research/bright_ladder/scores/recon_flux.json
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_bright import load_split  # noqa: E402
from score_rung import _write, load_network, set_threads  # noqa: E402
from train_rung import median_and_error, reconstruction_flux_ratios  # noqa: E402

#: ``mag_auto`` bins (AB).
EDGES = (17.0, 21.0, 23.0, 24.0, 25.3)


def by_magnitude(ratios, mag):
    """Median, its standard error and the count in each bin of :data:`EDGES`, and over all."""
    rows = {}
    for lo, hi in zip(EDGES[:-1], EDGES[1:]):
        r = ratios[(mag >= lo) & (mag < hi)]
        if len(r):
            rows[f"{lo:g}-{hi:g}"] = _row(r)
    rows["all"] = _row(ratios)
    return rows


def _row(ratios):
    median, error = median_and_error(ratios)
    return {"median": median, "n": int(len(ratios)), "error": error}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="+",
                        help="a module, or a train_rung.py run folder with @CHECKPOINT")
    parser.add_argument("--population", default="runs/bright_ladder/population")
    parser.add_argument("--out", default="research/bright_ladder/scores/recon_flux.json")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    set_threads(args.threads)
    test = load_split(args.population, "test")
    report = {"command": " ".join(sys.argv), "edges": list(EDGES), "rows": {}}
    for spec in args.spec:
        folder, _, checkpoint = spec.partition("@") if not spec.startswith("hub:") else (
            spec, "", "")
        network, source = load_network(folder, checkpoint or None)
        rows = by_magnitude(reconstruction_flux_ratios(network, test, batch_size=100),
                            test["conditions"][:, 0])
        report["rows"][spec] = rows
        print(spec, "  ".join(f"{k}: {v['median']:.3f} ± {v['error']:.3f} ({v['n']})"
                              for k, v in rows.items()), flush=True)
    _write(Path(args.out), report)


if __name__ == "__main__":
    main()
