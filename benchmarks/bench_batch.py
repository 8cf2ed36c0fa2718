"""``batch`` section: cost per galaxy against batch size."""
from _shared import best_time, catalog


def run(args, model):
    """Network and ``sample()`` time per galaxy for each of ``--batch-sizes``, and the
    network's time per galaxy against its block size (``EVAL_ROWS``)."""
    rows = []
    for batch in args.batch_sizes:
        # whole network blocks (a partial block costs a whole one); small batches pad
        # each call to a whole block: slow
        block = model.EVAL_ROWS
        n = -(-min(args.n, max(2 * block, 32 * batch)) // block) * block
        cat = catalog(n)
        # The network alone: sample_arrays unrotated (sample() rotates the profile's
        # pixel grid, a cost paid in the draw; sample_arrays(rotate=True) redraws each stamp).
        net, net_median = best_time(
            lambda: [None for _ in model.sample_arrays(cat, rng=1, batch_size=batch,
                                                       rotate=False)], args.rounds)
        full = best_time(lambda: model.sample(cat, rng=1, batch_size=batch), args.rounds)[0]
        rows.append({"batch_size": batch, "n": n, "network_ms_per_galaxy": 1e3 * net / n,
                     "network_median_ms_per_galaxy": 1e3 * net_median / n,
                     "sample_ms_per_galaxy": 1e3 * full / n})
    # The block size itself (GenerativeGalaxyModel.EVAL_ROWS), on the same whole blocks.
    blocks = []
    default = model.EVAL_ROWS
    n = 512
    cat = catalog(n)
    for size in (16, 32, 64, 128):
        model.EVAL_ROWS = size  # this instance only
        try:
            net, net_median = best_time(
                lambda: [None for _ in model.sample_arrays(cat, rng=1, batch_size=n,
                                                           rotate=False)], args.rounds)
        finally:
            model.EVAL_ROWS = default
        blocks.append({"eval_rows": size, "n": n, "network_ms_per_galaxy": 1e3 * net / n,
                       "network_median_ms_per_galaxy": 1e3 * net_median / n})
    return {"rows": rows, "eval_rows": model.EVAL_ROWS, "blocks": blocks,
            "note": f"the network always runs in blocks of {model.EVAL_ROWS} rows "
                    "(GenerativeGalaxyModel.EVAL_ROWS); batch_size sets how many "
                    "blocks one Python call handles"}
