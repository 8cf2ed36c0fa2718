"""What the benchmark sections share: the measured setting, timing helpers, the conditions.

Every section draws a 32x32 stamp at 0.2"/pixel with a Kolmogorov PSF of FWHM
0.7", galaxies with the conditions of :func:`write_conditions` (mock-COSMOS,
the default model's training population).  Timings take the best of several
rounds, since the machine may be shared.  galsim and galsim_deep are imported
inside the functions, so that ``run_benchmarks.py --help`` and ``--rst`` stay
fast.
"""
import json
import os
import resource
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

#: The repository's root folder.
ROOT = Path(__file__).resolve().parent.parent
PSF_FWHM = 0.7       # arcsec, Kolmogorov
PIXEL_SCALE = 0.2    # arcsec / pixel of the drawn stamps
STAMP = 32           # pixels
ZERO_POINT = 30.0    # AB mag for 1 count (only sets the flux scale)


def loadavg():
    """The machine's 1, 5 and 15 minute load averages (None where unknown)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return None


def best_time(fn, rounds):
    """Call ``fn`` ``rounds`` times; return the best and the median wall time, s."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), float(np.median(times))


def network_ms_per_galaxy(model, n, rounds, batch_size=None):
    """The network alone, per galaxy: ``sample_arrays(..., rotate=False)`` on ``n`` galaxies
    rounded up to whole blocks of ``model.EVAL_ROWS`` (a partial block costs a whole one;
    ``sample()`` rotates the profile's pixel grid, a cost paid in the draw, and
    ``sample_arrays``'s own rotation redraws each stamp).  Returns the best and the median
    of ``rounds``, ms, and the number of galaxies timed."""
    n = -(-n // model.EVAL_ROWS) * model.EVAL_ROWS
    cat = catalog(n)
    best, median = best_time(
        lambda: [None for _ in model.sample_arrays(cat, rng=1, batch_size=batch_size,
                                                   rotate=False)], rounds)
    return 1e3 * best / n, 1e3 * median / n, n


def interleaved_times(cases, rounds):
    """Time each case once per round, cases interleaved; return best and median per case."""
    times = {name: [] for name in cases}
    for _ in range(rounds):
        for name, fn in cases.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: (min(t), float(np.median(t))) for name, t in times.items()}


def run_python(code, timeout=3600):
    """Run ``code`` in a fresh Python; return its last stdout line parsed as JSON."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True,
                         text=True, timeout=timeout)
    if out.returncode:
        raise RuntimeError(f"benchmark subprocess failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def children_cpu():
    """CPU time (user + system, s) of this process's finished child processes."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_command(cmd, timeout=3600, cwd=None, cpu=False, env=None):
    """Run a command (in ``env``, default this process's environment); return its wall time
    (and, with ``cpu``, the CPU time of its processes)."""
    t0, c0 = time.perf_counter(), children_cpu()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                         env=env)
    if out.returncode:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{out.stderr[-3000:]}")
    wall = time.perf_counter() - t0
    return (wall, children_cpu() - c0) if cpu else wall


#: The conditions file every section draws its galaxies from (set by write_conditions()).
CONDITIONS = {"path": None, "rows": None}
N_CONDITIONS = 20000


def write_conditions(work):
    """Mock-COSMOS conditions (the default model's training population) in a FITS table."""
    from astropy.table import Table

    path = work / "conditions.fits"
    if not path.exists() or len(Table.read(path)) < N_CONDITIONS:
        from galsim_deep.data.mock_cosmos import sample_conditions

        table = sample_conditions(N_CONDITIONS, seed=0)
        table.meta.clear()
        table.write(path, overwrite=True)
    CONDITIONS["path"] = path
    CONDITIONS["rows"] = {c: np.asarray(Table.read(path)[c], dtype=np.float64)
                          for c in ("mag_auto", "flux_radius", "zphot")}
    return path


def catalog(n):
    """The first ``n`` rows of the conditions (repeated beyond the file's length)."""
    return {c: np.resize(v, n) for c, v in CONDITIONS["rows"].items()}


def cli_path():
    """The ``galsim-deep`` executable of this Python."""
    return str(Path(sys.executable).with_name("galsim-deep"))


def galsim_path():
    """The ``galsim`` executable of this Python."""
    return str(Path(sys.executable).with_name("galsim"))


def yaml_config(model_path, ntiles, nproc=1, out=None, nfiles=1):
    """A GalSim config: a Tiled image of ``ntiles**2`` generated galaxies from the conditions.

    With ``out``, also an output field (``nfiles`` files beside ``out``).
    """
    cfg = {
        "modules": ["galsim_deep"],
        "psf": {"type": "Kolmogorov", "fwhm": PSF_FWHM},
        "gal": {"type": "GenerativeModelGalaxy",
                "mag_auto": {"type": "Catalog", "col": "mag_auto"},
                "flux_radius": {"type": "Catalog", "col": "flux_radius"},
                "zphot": {"type": "Catalog", "col": "zphot"},
                "zero_point": ZERO_POINT},
        "image": {"type": "Tiled", "nx_tiles": ntiles, "ny_tiles": ntiles, "stamp_size": STAMP,
                  "pixel_scale": PIXEL_SCALE, "random_seed": 1234, "nproc": nproc},
        "input": {"generative_model": {"file_name": str(model_path), "range_policy": "clip"},
                  "catalog": {"file_name": str(CONDITIONS["path"])}},
    }
    if out is not None:
        cfg["output"] = {"file_name": str(out)}
        if nfiles > 1:
            cfg["output"] = {"nfiles": nfiles, "dir": str(Path(out).parent),
                             "file_name": {"type": "FormattedStr",
                                           "format": Path(out).stem + "_%d.fits",
                                           "items": [{"type": "Sequence", "nitems": nfiles}]}}
    return cfg


def draw_stamp(gal, psf, bandpass=None):
    """Convolve a galaxy with ``psf`` and draw the benchmarks' stamp (through ``bandpass``,
    for a chromatic galaxy)."""
    import galsim

    args = () if bandpass is None else (bandpass,)
    galsim.Convolve(gal, psf).drawImage(*args, nx=STAMP, ny=STAMP, scale=PIXEL_SCALE)


def write_json(results, path):
    """Write the results dict to ``path`` as JSON (atomically: never half-written)."""
    from galsim_deep.core.files import atomic_path

    with atomic_path(path) as t:
        t.write_text(json.dumps(results, indent=2, default=float) + "\n")
