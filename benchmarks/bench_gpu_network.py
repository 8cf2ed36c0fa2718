"""Time a module's ``sample`` network on a CUDA GPU, through its portable ONNX copy.

A galsim_deep module ships, beside its TensorFlow SavedModel, a portable ONNX copy of
its ``sample`` signature (``portable/sample.onnx``: latent flow + decoder; inputs one
float32 ``[N]`` tensor per condition, e.g. ``mag_auto``, ``flux_radius``, ``zphot``, and
``random_normal`` ``[N, latent_size]``; output ``image`` ``[N, H, W]``).  This script
converts that ONNX graph to PyTorch with `onnx2torch <https://github.com/ENOT-AutoDL/onnx2torch>`_
and times it on a CUDA GPU.  PyTorch is used because TensorFlow and onnxruntime-gpu are
too large to carry to the lent GPU machine, which has PyTorch (CUDA) and a CPU-only
onnxruntime but no internet; onnx2torch is a small pure-Python wheel.

The numbers are the network alone (inputs already on the device, output left there),
not rendering: no GalSim drawing, PSF convolution or host transfers are included.

The graph is first prepared and converted by ``onnx_to_torch.py`` (loops unrolled, shape
arithmetic kept on the host, a torchvision stub where it is missing).

Agreement: onnxruntime (CPU) runs the *original* ONNX graph on a 64-row batch and the
script reports ``max|torch - ort| / max|ort|``, for fp32 and for TF32 (matmul and
cuDNN ``allow_tf32``).  Timing: per batch size, 3 warm-up calls, then ``--repeats``
calls each bracketed by ``torch.cuda.synchronize()``; best and median ms per batch and
per galaxy, in rows ``fp32`` and ``tf32``.  Each row comes in two modes: ``eager`` (the
onnx2torch module called from Python: some 5000 small ops, so small batches measure
Python and kernel-launch overhead) and, on CUDA, ``graph`` (the same call captured
once in a CUDA graph and replayed: the GPU's own time; skip with ``--no-cuda-graph``).
Results are printed as a table and written as JSON (``--out``, rewritten after each
model), with the device name, torch / onnx / onnxruntime / onnx2torch versions and the
UTC date.

Examples
--------
On the GPU machine::

    python3 benchmarks/bench_gpu_network.py \\
        --model default-1.1.1=.gpu/models/default-1.1.1.onnx \\
        --model leg-l=.gpu/models/leg-l.onnx --out gpu_network.json

A quick local check on the CPU::

    python3 benchmarks/bench_gpu_network.py --device cpu --batch 64 --repeats 3 \\
        --model default=~/.cache/galsim_deep/<module>/portable/sample.onnx
"""
import argparse
import copy
import datetime
import importlib
import json
import os
import platform
import statistics
import sys
import time
import traceback
import warnings
from pathlib import Path

import numpy as np

from onnx_to_torch import (CONDITION_RANGES, convert, input_specs, loop_trip_counts,
                           make_inputs, ort_session, prune_dead, stub_torchvision,
                           unroll_loops)


def _dist_version(dist):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return None


def _device_name(device):
    import torch
    if torch.device(device).type == "cuda":
        return torch.cuda.get_device_name(torch.device(device))
    return platform.processor() or platform.machine()


def _sync(device):
    import torch
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(torch.device(device))


def _set_tf32(flag):
    import torch
    torch.backends.cuda.matmul.allow_tf32 = flag
    torch.backends.cudnn.allow_tf32 = flag


def _to_device(feeds, order, device):
    import torch
    return [torch.from_numpy(feeds[name]).to(device) for name in order]


def _first(out):
    return out[0] if isinstance(out, (tuple, list)) else out


def capture_graph(gm, args, warmup=3):
    """A CUDA graph of one call of ``gm`` on the static inputs ``args`` (warm-up on a
    side stream first, as PyTorch asks); returns (graph, static output)."""
    import torch
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.inference_mode():
        with torch.cuda.stream(stream):
            for _ in range(warmup):
                gm(*args)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out = _first(gm(*args))
    return graph, out


def run_torch(gm, feeds, order, device, graph=False):
    """Output of ``gm`` on ``feeds`` as numpy (through a CUDA graph replay if asked)."""
    import torch
    args = _to_device(feeds, order, device)
    if graph:
        g, out = capture_graph(gm, args)
        g.replay()
        result = out.float().cpu().numpy()
        del g
        return result
    with torch.inference_mode():
        return _first(gm(*args)).float().cpu().numpy()


def count_syncs(gm, args, device):
    """Host-device synchronisations in one call (CUDA sync debug mode), else None."""
    import torch
    if torch.device(device).type != "cuda" or not hasattr(torch.cuda, "set_sync_debug_mode"):
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            with torch.inference_mode():
                gm(*args)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    _sync(device)
    return sum("synchroniz" in str(w.message).lower() for w in caught)


def time_batch(gm, specs, order, n, device, repeats, seed, graph=False, warmup=3):
    """Best / median time of one call on ``n`` rows: eager, or a CUDA graph replay."""
    import torch
    feeds = make_inputs(specs, n, seed)
    dev = torch.device(device)
    if dev.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)
    times = []
    inputs = _to_device(feeds, order, device)
    with torch.inference_mode():
        if graph:
            cuda_graph, _ = capture_graph(gm, inputs, warmup)
            call = cuda_graph.replay
        else:
            def call():
                gm(*inputs)
        for _ in range(warmup):
            call()
        _sync(device)
        for _ in range(repeats):
            _sync(device)
            t0 = time.perf_counter()
            call()
            _sync(device)
            times.append(time.perf_counter() - t0)
    row = {
        "batch": n,
        "best_ms": 1e3 * min(times),
        "median_ms": 1e3 * statistics.median(times),
        "best_ms_per_galaxy": 1e3 * min(times) / n,
        "median_ms_per_galaxy": 1e3 * statistics.median(times) / n,
        "repeats": repeats,
    }
    if dev.type == "cuda":
        row["peak_mem_mib"] = torch.cuda.max_memory_allocated(dev) / 2 ** 20
    return row


def bench_model(name, path, args):
    import onnx
    import torch
    rec = {"name": name, "path": str(path)}
    t0 = time.perf_counter()
    original = onnx.load(str(path))
    specs = input_specs(original)
    order = [s[0] for s in specs]
    rec["inputs"] = [{"name": s[0], "rank": s[1], "last_dim": s[2]} for s in specs]
    rec["outputs"] = [o.name for o in original.graph.output]
    counts = loop_trip_counts(original, specs, args.threads)
    rec["loops"] = len(counts)
    rec["loop_trip_counts"] = sorted(set(counts.values()))
    prepared = unroll_loops(original, counts) if counts else prune_dead(copy.deepcopy(original))
    rec["nodes_original"] = len(original.graph.node)
    rec["nodes_prepared"] = len(prepared.graph.node)

    gm, info = convert(prepared, args.device, host_placement=not args.no_host_shapes)
    rec.update(info)
    rec["prepare_s"] = time.perf_counter() - t0

    feeds = make_inputs(specs, 64, args.seed)
    ref = ort_session(original, args.threads).run(None, feeds)[0]
    scale = float(np.max(np.abs(ref)))

    def agreement(graph=False):
        out = run_torch(gm, feeds, order, args.device, graph)
        return float(np.max(np.abs(out - ref)) / scale)

    try:
        rec["agreement_fp32"] = agreement()
    except Exception as exc:  # host placement failed on the device: all on the device
        if info["placement"] == "all-device":
            raise
        rec["host_placement_error"] = f"{type(exc).__name__}: {exc}"
        print(f"[{name}] host placement failed ({exc}); all tensors on {args.device}", flush=True)
        gm, info = convert(prepared, args.device, host_placement=False)
        rec.update(info)
        rec["agreement_fp32"] = agreement()
    cuda = torch.device(args.device).type == "cuda"
    syncs = None
    if cuda:
        syncs = count_syncs(gm, _to_device(feeds, order, args.device), args.device)
        rec["host_syncs_per_call"] = syncs
    print(f"[{name}] {len(counts)} loops unrolled (trip counts {rec['loop_trip_counts']}), "
          f"{rec['nodes_prepared']} nodes, placement {rec['placement']}, "
          f"host syncs/call {syncs}, agreement fp32 {rec['agreement_fp32']:.2e}", flush=True)

    precisions = ["fp32", "tf32"] if cuda else ["fp32"]
    plan = [("eager", p) for p in precisions]
    if cuda and not args.no_cuda_graph:
        if syncs:   # a capture would fail (and may spoil the CUDA context)
            rec["cuda_graph_error"] = f"skipped: {syncs} host syncs per call"
        else:
            plan += [("graph", p) for p in precisions]
    rec["rows"] = []
    for mode, precision in plan:
        _set_tf32(precision == "tf32")
        try:
            key = f"agreement_{precision}" + ("_cuda_graph" if mode == "graph" else "")
            if key not in rec:
                try:
                    rec[key] = agreement(graph=mode == "graph")
                except Exception as exc:
                    if mode != "graph":
                        raise
                    rec["cuda_graph_error"] = f"{type(exc).__name__}: {exc}"
                    print(f"[{name}] no CUDA graph: {exc}", flush=True)
                    break
                print(f"[{name}] {key} {rec[key]:.2e}", flush=True)
            for n in args.batch:
                try:
                    row = time_batch(gm, specs, order, n, args.device, args.repeats,
                                     args.seed + n, graph=mode == "graph")
                except Exception as exc:  # e.g. out of memory at the largest batch
                    row = {"batch": n, "error": f"{type(exc).__name__}: {exc}"}
                    if cuda:
                        torch.cuda.synchronize()
                        torch.cuda.empty_cache()
                row["precision"] = precision
                row["mode"] = mode
                rec["rows"].append(row)
                print(_fmt_row(name, row), flush=True)
        finally:
            _set_tf32(False)
    return rec


def _fmt_row(name, row):
    head = f"{name:<16} {row['precision']:<5} {row.get('mode', 'eager'):<6} {row['batch']:>6}"
    if "error" in row:
        return f"{head}  ERROR {row['error'][:80]}"
    mem = f"{row['peak_mem_mib']:>9.0f}" if "peak_mem_mib" in row else f"{'-':>9}"
    return (f"{head} {row['best_ms']:>10.3f} {row['median_ms']:>10.3f} "
            f"{row['best_ms_per_galaxy']:>11.5f} {row['median_ms_per_galaxy']:>11.5f} {mem}")


def _header():
    return (f"{'model':<16} {'prec':<5} {'mode':<6} {'batch':>6} {'best ms':>10} "
            f"{'median ms':>10} {'best ms/gal':>11} {'med ms/gal':>11} {'peak MiB':>9}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", action="append", required=True, metavar="NAME=PATH",
                        help="a portable sample.onnx to time (repeatable)")
    parser.add_argument("--batch", action="append", type=int,
                        help="rows per call (repeatable; default 64, 1024, 8192)")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per batch (20)")
    parser.add_argument("--out", help="JSON file to write")
    parser.add_argument("--device", default=None,
                        help="torch device (default 'cuda' if available, else 'cpu')")
    parser.add_argument("--seed", type=int, default=2024, help="input generator seed")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for torch and onnxruntime (default: theirs)")
    parser.add_argument("--no-host-shapes", action="store_true",
                        help="put every tensor on the device (no host shape arithmetic)")
    parser.add_argument("--no-cuda-graph", action="store_true",
                        help="skip the CUDA-graph replay rows (mode 'graph')")
    args = parser.parse_args(argv)
    args.batch = args.batch or [64, 1024, 8192]

    stub = stub_torchvision()
    # benign, checked by the agreement: tf2onnx's nearest Resize (scale 2), and onnx2torch's
    # Slice indexing with a list
    warnings.filterwarnings("ignore", message="Pytorch's nearest neighbor interpolation")
    warnings.filterwarnings("ignore", message="Using a non-tuple sequence")
    import onnx
    importlib.import_module("onnx2torch")   # fails early if missing
    import torch

    from galsim_deep.engine.runtimes import import_onnxruntime

    onnxruntime = import_onnxruntime()  # without its usage telemetry
    if args.device is None:
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    if args.threads:
        torch.set_num_threads(args.threads)
    models = []
    for item in args.model:
        name, sep, path = item.partition("=")
        if not sep:
            parser.error(f"--model wants NAME=PATH, got {item!r}")
        models.append((name, Path(os.path.expanduser(path))))

    result = {
        "benchmark": "bench_gpu_network",
        "what": "portable ONNX 'sample' network (latent flow + decoder) converted with "
                "onnx2torch; network alone, inputs on the device, no rendering",
        "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "device": args.device,
        "device_name": _device_name(args.device),
        "host": platform.node(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
        "onnx2torch": _dist_version("onnx2torch"),
        "torchvision_stub": stub,
        "torch_threads": torch.get_num_threads(),
        "batches": args.batch,
        "repeats": args.repeats,
        "warmup": 3,
        "seed": args.seed,
        "condition_ranges": CONDITION_RANGES,
        "agreement": "max|torch - onnxruntime CPU (original graph)| / max|onnxruntime|, 64 rows",
        "models": [],
    }
    print(f"device {args.device} ({result['device_name']}), torch {torch.__version__}, "
          f"onnx {onnx.__version__}, onnxruntime {onnxruntime.__version__}, "
          f"onnx2torch {result['onnx2torch']}{' (torchvision stub)' if stub else ''}", flush=True)

    def write():
        if args.out:
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            Path(args.out).write_text(json.dumps(result, indent=1) + "\n")

    failed = 0
    for name, path in models:
        try:
            rec = bench_model(name, path, args)
        except Exception as exc:
            failed += 1
            traceback.print_exc()
            rec = {"name": name, "path": str(path), "error": f"{type(exc).__name__}: {exc}"}
        result["models"].append(rec)
        write()

    print()
    print(_header())
    for rec in result["models"]:
        if "error" in rec:
            print(f"{rec['name']:<16} ERROR {rec['error'][:100]}")
            continue
        for row in rec["rows"]:
            print(_fmt_row(rec["name"], row))
    print()
    for rec in result["models"]:
        if "error" not in rec:
            agree = ", ".join(f"{k[len('agreement_'):]} {rec[k]:.2e}" for k in (
                "agreement_fp32", "agreement_tf32", "agreement_fp32_cuda_graph",
                "agreement_tf32_cuda_graph") if rec.get(k) is not None)
            print(f"{rec['name']}: agreement {agree}; placement {rec['placement']}"
                  + (f"; CUDA graph failed: {rec['cuda_graph_error'][:80]}"
                     if "cuda_graph_error" in rec else "")
                  + (f"; host syncs/call {rec['host_syncs_per_call']}"
                     if rec.get("host_syncs_per_call") is not None else ""))
    if args.out:
        print(f"wrote {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
