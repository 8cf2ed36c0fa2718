"""Reporting benchmark results: the printed tables, the reStructuredText tables of
``docs/performance_tables.inc`` (``run_benchmarks.py --rst``) and the PNG figure.

They read the JSON keys each section writes (see the ``bench_*`` modules).
"""
import json
from pathlib import Path

from _shared import PIXEL_SCALE, PSF_FWHM, STAMP


def _bias(row, key):
    """``mean +- error`` of an accuracy row's mean signed difference ``mean_<key>_diff``."""
    value = row.get(f"mean_{key}_diff")
    if value is None:
        return "-"
    mean, error = value if isinstance(value, list) else (value, float("nan"))
    return f"{mean:+.1e} +- {error:.0e}"


def _kind_table(title, rows, formats):
    """Print a title, then one line per kind: its name and its values in ``formats``."""
    print(title)
    for kind, values in rows.items():
        print(f"    {kind:58s} " + " ".join(format(v, spec) for v, spec in zip(values, formats)))


def print_report(res):
    """Print the results of a run as plain-text tables."""
    print(f"\nmodel: {res['model']}\nmachine: {res['machine']}, {res['cpus']} CPUs")
    if "training" in res:
        print("\ntraining throughput (steady state)")
        for r in res["training"]["rows"]:
            print(f"  {r['recipe']:22s} {r['part'][:40]:40s} {r['seconds_per_step']:7.3f} s/step"
                  f"  {r['images_per_s']:7.1f} images/s")
    if "load" in res:
        r = res["load"]
        print(f"\nload: import tensorflow {r['import_tensorflow_s']:.2f} s, metadata "
              f"{1e3 * r['metadata_s']:.1f} ms, graph {r['graph_load_s']:.2f} s, first sample "
              f"{r['first_sample_s']:.2f} s, warm single sample "
              f"{1e3 * r['warm_single_sample_s']:.1f} ms")
    if "end_to_end" in res:
        r = res["end_to_end"]
        print(f"\nend to end (sample, Kolmogorov {PSF_FWHM}\", {STAMP}x{STAMP} at "
              f"{PIXEL_SCALE}\"/pixel)        ms/galaxy   median")
        for row in r["rows"]:
            print(f"  {row['case'][:62]:62s} {row['ms_per_galaxy']:8.2f} "
                  f"{row['median_ms_per_galaxy']:8.2f}")
        print(f"  generated / Sersic = {r['generated_over_sersic']:.2f} (target <= 2); "
              f"generated / real = {r['generated_over_real']:.2f} (target < 1)")
        if "generated_over_parametric" in r:
            print(f"  generated / COSMOSCatalog parametric = "
                  f"{r['generated_over_parametric']:.2f} (target <= 1.5, stretch <= 1.0; "
                  f"with the exact rotation: {r['exact_rotation_over_parametric']:.2f})")
    if "breakdown" in res:
        print("\nwhere a generated galaxy's time goes (ms/galaxy)")
        for k, v in res["breakdown"]["ms_per_galaxy"].items():
            print(f"  {k:55s} {v:8.3f}")
    if "network" in res:
        print("\nthe network (latent flow + decoder), ms/galaxy      best   median")
        for row in res["network"]["rows"]:
            print(f"  {row['case']:45s} {row['ms_per_galaxy']:7.3f} "
                  f"{row['median_ms_per_galaxy']:7.3f}")
        print(f"  target <= {res['network']['target_ms_per_galaxy']} ms: "
              f"{'met' if res['network']['target_met'] else 'missed'}")
    if "accuracy" in res:
        print(f"\naccuracy against {res['accuracy']['reference']}: largest |pixel diff| / peak, "
              f"|flux diff|, |e1, e2 diff|, |sigma diff| (relative)")
        for row in res["accuracy"]["rows"]:
            e = "-" if row["max_e_diff"] is None else f"{row['max_e_diff']:.1e}"
            sg = "-" if row["max_sigma_diff"] is None else f"{row['max_sigma_diff']:.1e}"
            print(f"  {row['draw'][:42]:42s} {row['setting'][:26]:26s} "
                  f"{row['max_pixel_diff_over_peak']:.1e} {row['max_flux_diff']:.1e} {e} {sg}")
        if "isotropy" in res["accuracy"]:
            r = res["accuracy"]["isotropy"]
            print(f"  isotropy of {r['n']} generated galaxies, rotated by default "
                  f"({'met' if r['rotated']['passed'] else 'missed'}; unrotated: "
                  f"{'met' if r['unrotated']['passed'] else 'missed'}), mean +- error [1e-3]:")
            for key in ("rotated", "unrotated"):
                cells = [f"{c} {1e3 * v['mean']:+.1f} +- {1e3 * v['error']:.1f}"
                         for c, v in r[key]["overall"].items()]
                print(f"    {key:10s} " + ", ".join(cells))
    if "batch" in res:
        print("\nbatch size   network ms/gal   sample() ms/gal")
        for row in res["batch"]["rows"]:
            print(f"  {row['batch_size']:8d} {row['network_ms_per_galaxy']:14.3f} "
                  f"{row['sample_ms_per_galaxy']:15.3f}")
        if res["batch"].get("blocks"):
            print("\nnetwork block rows (EVAL_ROWS)   network ms/gal (best, median)")
            for row in res["batch"]["blocks"]:
                print(f"  {row['eval_rows']:8d} {row['network_ms_per_galaxy']:22.3f} "
                      f"{row['network_median_ms_per_galaxy']:8.3f}")
    if "yaml" in res:
        r = res["yaml"]
        print(f"\nYAML vs API ({r['n']} galaxies, Tiled image): API {r['api_ms_per_galaxy']:.2f}, "
              f"config {r['yaml_in_process_ms_per_galaxy']:.2f} ms/galaxy -> YAML throughput "
              f"{r['yaml_over_api_throughput']:.2f} x API (target >= 0.8); `galsim` command "
              f"{r['galsim_command_ms_per_galaxy']:.2f} ms/galaxy + "
              f"{r['galsim_command_startup_s']:.1f} s start-up")
        if "field" in r:
            f = r["field"]
            _kind_table(f"  `galsim` field of {f['nobjects']} objects (Scattered 1024x1024, "
                        f"start-up included)        wall s   start-up s   ms/object",
                        {kind: (row["wall_s"], row["startup_s"], row["ms_per_object"])
                         for kind, row in f["rows"].items()}, ("7.2f", "10.2f", "11.2f"))
            print(f"    generated / parametric = {f['generated_over_parametric']:.2f} "
                  f"(target <= 1.5); per object {f['per_object_ratio']:.2f}")
        if "field_drawing" in r:
            d = r["field_drawing"]
            _kind_table("  the same field in this process, the network taken off: ms/object, "
                        "ratio to the parametric field's whole cost",
                        {kind: (value, d["ratio_to_parametric"][kind])
                         for kind, value in d["ms_per_object"].items()}, ("7.2f", "7.2f"))
        if "startup" in r:
            print(f"  start-up of a fresh process, s (total {r['startup']['total_s']:.2f})")
            for step, value in r["startup"]["steps_s"].items():
                print(f"    {step:62s} {value:6.2f}")
    if "nproc" in res:
        r = res["nproc"]
        print("\nprocesses                     wall ms/galaxy   CPU ms/galaxy   start-up s")
        for row in r["image_nproc"]:
            print(f"  galsim image.nproc={str(row['nproc'])[:18]:18s} "
                  f"{row['ms_per_galaxy']:8.2f} {row['cpu_ms_per_galaxy']:14.2f} "
                  f"{row['startup_s']:11.1f}")
        print(f"    speed-up 2 / 1 = {r['image_speedup_2_over_1']:.2f} (2 / 1 single-threaded "
              f"{r['image_speedup_2_over_1_single_threaded']:.2f}); CPU efficiency "
              f"{r['image_cpu_efficiency_2']:.2f}")
        for row in r["output_nproc"]:
            print(f"  galsim output.nproc={row['nproc']} ({row['files']} files) "
                  f"{row['ms_per_galaxy']:8.2f} {1e3 * row['cpu_s'] / row['n']:14.2f}  "
                  f"(start-up included)")
        print(f"    speed-up 2 / 1 = {r['output_speedup_2_over_1']:.2f}; CPU efficiency "
              f"{r['output_cpu_efficiency_2']:.2f}")
        for row in r["simulate"]:
            label = "in-process" if row["workers"] == 0 else f"{row['workers']} Dask workers"
            print(f"  simulate, {label:18s} {row['ms_per_galaxy']:10.2f} {'':14s} "
                  f"{row['startup_s']:11.1f}")
        print(f"    speed-up 2 / 1 = {r['simulate_speedup_2_over_1']:.2f} (target >= 1.7)")
    if "memory" in res:
        print("\npeak memory streaming galaxies (sample_arrays, batch 256)")
        for row in res["memory"]["rows"]:
            print(f"  {row['n']:8d} galaxies: {row['peak_rss_mb']:7.0f} MB "
                  f"({row['seconds']:.0f} s)")


def rst_tables(paths):
    """reStructuredText tables of result files side by side (for docs/performance.rst)."""
    runs = [json.loads(Path(p).read_text()) for p in paths]
    names = [r["model"].split(":")[0] if ":" in r["model"] and not r["model"].startswith("hub")
             else r["model"] for r in runs]
    lines = []

    def table(title, header, rows):
        lines.extend([f".. list-table:: {title}", "   :header-rows: 1", ""])
        for row in [header] + rows:
            lines.append("   * - " + str(row[0]))
            lines.extend(f"     - {cell}" for cell in row[1:])
        lines.append("")

    def cell(run, *keys, fmt="{:.2f}"):
        value = run
        for k in keys:
            if not isinstance(value, dict) or k not in value:
                return "-"
            value = value[k]
        return fmt.format(value) if isinstance(value, (int, float)) else str(value)

    if any("end_to_end" in r for r in runs):
        cases = [row["case"] for row in next(r for r in runs if "end_to_end" in r)
                 ["end_to_end"]["rows"]]
        rows = []
        for case in cases:
            row = [case]
            for r in runs:
                found = [x for x in r.get("end_to_end", {}).get("rows", []) if x["case"] == case]
                row.append(f"{found[0]['ms_per_galaxy']:.2f}" if found else "-")
            rows.append(row)
        rows.append(["generated / Sersic (target <= 2)"] +
                    [cell(r, "end_to_end", "generated_over_sersic") for r in runs])
        rows.append(["generated / real (target < 1)"] +
                    [cell(r, "end_to_end", "generated_over_real") for r in runs])
        rows.append(["generated / COSMOSCatalog parametric (target <= 1.5)"] +
                    [cell(r, "end_to_end", "generated_over_parametric") for r in runs])
        table("End to end, ms per galaxy (sample, Kolmogorov 0.7\", 32x32 stamp at 0.2\")",
              ["case"] + names, rows)
    if any("breakdown" in r for r in runs):
        keys = []
        for r in runs:
            for k in r.get("breakdown", {}).get("ms_per_galaxy", {}):
                if k not in keys:
                    keys.append(k)
        table("Where a generated galaxy's time goes, ms per galaxy", ["step"] + names,
              [[k.strip()] + [cell(r, "breakdown", "ms_per_galaxy", k, fmt="{:.3f}")
                              for r in runs] for k in keys])
    for r, name in zip(runs, names):
        if "accuracy" in r:
            table(f"Fast settings against their references ({name}); largest differences "
                  f"over the galaxies, and (in brackets) the mean signed difference with its "
                  f"standard error",
                  ["drawn", "setting", "max pixel diff / peak", "flux diff (mean)",
                   "e1, e2 diff", "size diff"],
                  [[x["draw"], x["setting"], f"{x['max_pixel_diff_over_peak']:.1e}",
                    f"{x['max_flux_diff']:.1e} ({_bias(x, 'flux')})",
                    "-" if x["max_e_diff"] is None else
                    f"{x['max_e_diff']:.1e} ({_bias(x, 'e1')}; {_bias(x, 'e2')})",
                    "-" if x["max_sigma_diff"] is None else
                    f"{x['max_sigma_diff']:.1e} ({_bias(x, 'sigma')})"]
                   for x in r["accuracy"]["rows"]])
    def side_by_side(title, part, key, first, fmt):
        """A table of ``batch[part]`` rows keyed by ``key``, one column per run."""
        values = sorted({x[key] for r in runs for x in r.get("batch", {}).get(part, [])})
        rows = []
        for v in values:
            row = [v]
            for r in runs:
                found = [x for x in r.get("batch", {}).get(part, []) if x[key] == v]
                row.append(fmt(found[0]) if found else "-")
            rows.append(row)
        table(title, [first] + names, rows)

    if any("batch" in r for r in runs):
        side_by_side("Batch size: network / sample() ms per galaxy", "rows", "batch_size",
                     "batch_size", lambda x: f"{x['network_ms_per_galaxy']:.2f} / "
                                             f"{x['sample_ms_per_galaxy']:.2f}")
    if any(r.get("batch", {}).get("blocks") for r in runs):
        side_by_side("Network block size (GenerativeGalaxyModel.EVAL_ROWS): network ms per "
                     "galaxy", "blocks", "eval_rows", "rows per block",
                     lambda x: f"{x['network_ms_per_galaxy']:.2f} (median "
                               f"{x['network_median_ms_per_galaxy']:.2f})")
    rows = [["API, ms/galaxy"] + [cell(r, "yaml", "api_ms_per_galaxy") for r in runs],
            ["config in-process, ms/galaxy"] +
            [cell(r, "yaml", "yaml_in_process_ms_per_galaxy") for r in runs],
            ["YAML / API throughput (target >= 0.8)"] +
            [cell(r, "yaml", "yaml_over_api_throughput") for r in runs],
            ["galsim command, ms/galaxy"] +
            [cell(r, "yaml", "galsim_command_ms_per_galaxy") for r in runs],
            ["galsim command start-up, s"] +
            [cell(r, "yaml", "galsim_command_startup_s", fmt="{:.1f}") for r in runs]]
    table("YAML against the API", ["", *names], rows)
    def find(r, key, field, value):
        found = [x for x in r.get("nproc", {}).get(key, []) if x.get(field) == value]
        return found[0] if found else None

    rows = []
    for value in ("1 single-threaded", 1, 2):
        row = [f"galsim image.nproc={value}, ms/galaxy (CPU ms)"]
        for r in runs:
            x = find(r, "image_nproc", "nproc", value)
            row.append("-" if x is None else
                       f"{x['ms_per_galaxy']:.2f} ({x['cpu_ms_per_galaxy']:.2f})")
        rows.append(row)
    rows.append(["speed-up image.nproc 2 / 1"] +
                [cell(r, "nproc", "image_speedup_2_over_1") for r in runs])
    rows.append(["speed-up image.nproc 2 / 1 single-threaded"] +
                [cell(r, "nproc", "image_speedup_2_over_1_single_threaded") for r in runs])
    rows.append(["speed-up output.nproc 2 / 1, 4 files"] +
                [cell(r, "nproc", "output_speedup_2_over_1") for r in runs])
    for k, label in ((0, "in-process"), (1, "1 Dask worker"), (2, "2 Dask workers")):
        row = [f"simulate, {label}, ms/galaxy"]
        for r in runs:
            x = find(r, "simulate", "workers", k)
            row.append("-" if x is None else f"{x['ms_per_galaxy']:.2f}")
        rows.append(row)
    rows.append(["speed-up simulate 2 / 1 workers"] +
                [cell(r, "nproc", "simulate_speedup_2_over_1") for r in runs])
    table("Processes (2-core machine)", ["", *names], rows)
    rows = []
    for i in range(2):
        rows.append([f"{runs[0].get('memory', {}).get('rows', [{}, {}])[i].get('n', '-')} "
                     "galaxies, peak MB"] + [
            "-" if "memory" not in r else f"{r['memory']['rows'][i]['peak_rss_mb']:.0f} "
            f"({r['memory']['rows'][i]['n']})" for r in runs])
    table("Peak memory streaming galaxies (sample_arrays), MB (galaxies)", ["", *names], rows)
    rows = [[k] + [cell(r, "load", key, fmt=fmt) for r in runs] for k, key, fmt in (
        ("import tensorflow, s", "import_tensorflow_s", "{:.2f}"),
        ("read metadata, ms", "metadata_s", "{:.4f}"),
        ("load the graph, s", "graph_load_s", "{:.2f}"),
        ("first sample (1 galaxy), s", "first_sample_s", "{:.2f}"),
        ("next single-galaxy sample, s", "warm_single_sample_s", "{:.3f}"))]
    table("Model load and first-sample latency (fresh process)", ["", *names], rows)
    for r in runs:
        if "training" in r:
            table("Training throughput (steady state, CPU recipes)",
                  ["recipe", "part", "batch", "s/step", "images/s"],
                  [[x["recipe"], x["part"], x["batch_size"], f"{x['seconds_per_step']:.3f}",
                    f"{x['images_per_s']:.1f}"] for x in r["training"]["rows"]])
            break
    return "\n".join(lines)


def plot(res, path):
    """Save a PNG figure of the end-to-end and batch results; return its path (None if
    neither section ran)."""
    import matplotlib  # (heavy: imported only to draw)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [k for k in ("end_to_end", "batch") if k in res]
    if not panels:
        return None
    fig, axes = plt.subplots(1, len(panels), figsize=(7.5 * len(panels), 4.2), squeeze=False)
    for ax, key in zip(axes[0], panels):
        if key == "end_to_end":
            rows = res[key]["rows"]
            colours = ["C0" if r["case"].startswith("generated") else
                       "C2" if "real" in r["case"] else "C1" for r in rows]
            ax.barh([r["case"][:62] for r in rows], [r["ms_per_galaxy"] for r in rows],
                    color=colours)
            ax.set_xscale("log")
            ax.set_xlabel("ms per galaxy (sample + convolve + draw)")
            ax.invert_yaxis()
            ax.tick_params(axis="y", labelsize=7)
        else:
            rows = res[key]["rows"]
            b = [r["batch_size"] for r in rows]
            ax.plot(b, [r["network_ms_per_galaxy"] for r in rows], "o-", label="network")
            ax.plot(b, [r["sample_ms_per_galaxy"] for r in rows], "s-", label="sample()")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel("batch size")
            ax.set_ylabel("ms per galaxy")
            ax.legend()
    fig.suptitle(f"galsim_deep benchmarks: {res['model'][:70]}", fontsize=9)
    fig.tight_layout()
    from galsim_deep.core.files import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
