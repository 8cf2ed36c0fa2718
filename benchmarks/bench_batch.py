"""``batch`` section: cost per galaxy against batch size."""
from _shared import best_time, catalog, network_ms_per_galaxy


def run(args, model):
    """Network and ``sample()`` time per galaxy for each of ``--batch-sizes``, and the
    network's time per galaxy against its block size (``EVAL_ROWS``)."""
    rows = []
    for batch in args.batch_sizes:
        # small batches pad each call to a whole block: slow
        net, net_median, n = network_ms_per_galaxy(
            model, min(args.n, max(2 * model.EVAL_ROWS, 32 * batch)), args.rounds, batch)
        cat = catalog(n)
        full = best_time(lambda: model.sample(cat, rng=1, batch_size=batch), args.rounds)[0]
        rows.append({"batch_size": batch, "n": n, "network_ms_per_galaxy": net,
                     "network_median_ms_per_galaxy": net_median,
                     "sample_ms_per_galaxy": 1e3 * full / n})
    # The block size itself (GenerativeGalaxyModel.EVAL_ROWS), on 512 galaxies in one call.
    blocks = []
    default = model.EVAL_ROWS
    for size in (16, 32, 64, 128):
        model.EVAL_ROWS = size  # this instance only
        try:
            net, net_median, n = network_ms_per_galaxy(model, 512, args.rounds, 512)
        finally:
            model.EVAL_ROWS = default
        blocks.append({"eval_rows": size, "n": n, "network_ms_per_galaxy": net,
                       "network_median_ms_per_galaxy": net_median})
    return {"rows": rows, "eval_rows": model.EVAL_ROWS, "blocks": blocks,
            "note": f"the network always runs in blocks of {model.EVAL_ROWS} rows "
                    "(GenerativeGalaxyModel.EVAL_ROWS); batch_size sets how many "
                    "blocks one Python call handles"}
