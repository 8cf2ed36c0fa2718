"""Running the tile tasks on a ``dask.distributed`` cluster.

A ``LocalCluster`` of worker processes on this machine, or any scheduler by
address.  Each worker process loads the model once and sets its threads
(:class:`SamplerPlugin`); every tile's ``tile`` task waits only for the
``stamps`` tasks of its own and its neighbours' galaxies, so tiles finish
while others are still sampling.

Dask is the optional extra ``[simulate]``: importing this module without it
raises an ``ImportError`` that names the extra (``pip install ".[simulate]"`` in the
clone).  Only runs with workers need it; ``simulate(...,
n_workers=0)`` runs the same tasks in this process without Dask.
"""
import logging

from ...core.extras import require

require("simulate", "galsim_deep.api.simulate")

from distributed import Client, LocalCluster, WorkerPlugin, as_completed  # noqa: E402

from ...core import parallel  # noqa: E402
from .plan import _neighbours  # noqa: E402
from .render import _stamps_task, _tile_task, worker_model  # noqa: E402

__all__ = ["SamplerPlugin", "run_dask"]


class SamplerPlugin(WorkerPlugin):
    """A Dask worker plugin that prepares each worker process to sample.

    At worker start it sets TensorFlow's and GalSim's threads to ``threads``
    (default: the worker's Dask thread count) and loads the model once
    (:func:`~galsim_deep.api.simulate.worker_model`).

    Parameters
    ----------
    model : str
        Model name or path (resolved on the worker).
    batch_size : int
        Galaxies per network call.
    range_policy : str
        See `GenerativeGalaxyModel`.
    threads : int, optional
        Threads per worker process.
    """

    name = "galsim-deep-sampler"
    idempotent = True

    def __init__(self, model, batch_size=64, range_policy="warn", threads=None):
        self.model, self.batch_size = model, batch_size
        self.range_policy, self.threads = range_policy, threads

    def setup(self, worker):
        """Set the threads and load the model (called by Dask in each worker)."""
        threads = self.threads or getattr(getattr(worker, "state", worker), "nthreads", 1)
        parallel.configure_worker(1, threads=max(1, int(threads)))
        worker_model(self.model, self.batch_size, self.range_policy)


def run_dask(todo, needed, stamp_path, model_ref, settings, settings_dict, scheduler,
             n_workers, bar):
    """Run the stamps and tile tasks of a simulation on Dask; return when every tile is written.

    Parameters
    ----------
    todo : list of tuple
        ``(field name, field, tile, stamp path, tile path)`` of each unfinished tile.
    needed : dict
        ``(field name, tile name) -> (field, tile)`` of every tile whose stamps
        an unfinished tile needs.
    stamp_path : dict
        ``(field name, tile name) -> Path`` of each stamp file.
    model_ref : str
        The model as the workers load it (a name or a local module folder).
    settings : SimulationSettings
        The run's settings.
    settings_dict : dict
        The same, as :meth:`SimulationSettings.to_dict` (what the tasks receive).
    scheduler : str or None
        Address of a running scheduler; None starts a ``LocalCluster``.
    n_workers : int
        Worker processes of the ``LocalCluster``.
    bar : tqdm.tqdm
        Progress bar, advanced once per finished tile.
    """
    if scheduler:
        client, cluster = Client(scheduler), None
        threads = None
    else:
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        threads = max(1, parallel.cpu_count() // n_workers)
    try:
        client.register_plugin(SamplerPlugin(model_ref, settings.batch_size,
                                             settings.range_policy, threads))
        stamp_futures = {}
        for key, (field, nb) in needed.items():
            stamp_futures[key] = client.submit(
                _stamps_task, str(stamp_path[key]), model_ref, field["rows"][nb.name],
                settings_dict, field["wcs"], key=f"stamps-{key[0]}-{key[1]}", pure=False)
        tile_futures = []
        for fname, field, tile, _, tile_path in todo:
            deps = [stamp_futures[(fname, nb.name)] for nb in _neighbours(tile, field)]
            tile_futures.append(client.submit(_tile_task, str(tile_path), tile, deps,
                                              settings_dict, field["wcs"],
                                              key=f"tile-{fname}-{tile.name}", pure=False))
        for future in as_completed(tile_futures):
            future.result()  # re-raises a task's error here
            bar.update(1)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
