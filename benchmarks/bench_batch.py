"""``batch`` section: cost per galaxy against batch size."""
from _shared import best_time, catalog


def run(args, model):
    """Network and ``sample()`` time per galaxy for each of ``--batch-sizes``."""
    rows = []
    for batch in args.batch_sizes:
        n = min(args.n, max(32, 32 * batch))  # small batches pad to 16-row blocks: slow
        cat = catalog(n)
        net = best_time(
            lambda: [None for _ in model.sample_arrays(cat, rng=1, batch_size=batch)],
            args.rounds)[0]
        full = best_time(lambda: model.sample(cat, rng=1, batch_size=batch), args.rounds)[0]
        rows.append({"batch_size": batch, "n": n, "network_ms_per_galaxy": 1e3 * net / n,
                     "sample_ms_per_galaxy": 1e3 * full / n})
    return {"rows": rows, "note": "the network always runs in blocks of 16 rows "
                                  "(GenerativeGalaxyModel.EVAL_ROWS); batch_size sets how many "
                                  "blocks one Python call handles"}
