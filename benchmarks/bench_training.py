"""``training`` section: training throughput (images/s) of the CPU recipes.

Each recipe runs twice, for two step counts (``--train-steps``), in fresh
processes; the difference of their wall times gives the steady-state time per
step (tracing and start-up cancel out).  The Flow-VAE run is also exported as
the ``proxy64`` module that ``--model proxy`` benchmarks.
"""
import json
import shutil

from _shared import cli_path, run_command


def run(args, work):
    """Images per second of the CPU recipes: steady state from runs of two lengths."""
    data = work / "mock64.h5"
    if not data.exists():
        run_command([cli_path(), "dataset", "build", "--source", "mock-cosmos", "--n", "320",
                     "--stamp-size", "64", "--pixel-scale", "0.03", "--seed", "3",
                     "--processes", "1", "--no-progress", "--out", str(data)])
    n1, n2 = args.train_steps
    rows = []

    def measure(label, cmd, recipe, part, steps_key, batch_key, sets, prepare=None):
        walls = []
        for n in (n1, n2):
            out = work / f"train-{recipe}-{part}-{n}"
            shutil.rmtree(out, ignore_errors=True)  # a fresh run, never a resumed one
            if prepare:
                prepare(out, n)
            full = [cli_path(), *cmd, recipe, "--quiet", "--set", f"dataset.path={data}",
                    "--set", f"output_dir={out}", "--set", f"{steps_key}={n}", *sets]
            run_command(full)
            log = json.loads((out / part / "training_log.json").read_text())
            walls.append(log["wall_time_s"])
        from galsim_deep.training.recipes import load_recipe

        batch = load_recipe(recipe)[batch_key.split(".")[0]][batch_key.split(".")[1]]
        steady = (walls[1] - walls[0]) / (n2 - n1)
        rows.append({"recipe": recipe, "part": label, "batch_size": batch,
                     "seconds_per_step": steady, "images_per_s": batch / steady,
                     "first_run_s_per_step_incl_tracing": walls[0] / n1})
        print(f"  {recipe} {label}: {steady:.3f} s/step, {batch / steady:.1f} images/s")

    common = ["--set", "vae.summary_every=5", "--set", "vae.checkpoint_every=1000"]
    measure("Flow-VAE autoencoder", ["train", "flow-vae"], "mock-cosmos-64", "vae", "vae.steps",
            "vae.batch_size", common)

    def copy_vae(out, n):
        if not (out / "vae").exists():
            shutil.copytree(work / f"train-mock-cosmos-64-vae-{n2}" / "vae", out / "vae")

    measure("latent flow", ["train", "flow"], "mock-cosmos-64", "flow", "flow.steps",
            "flow.batch_size", ["--set", "flow.summary_every=5", "--set",
                                "flow.checkpoint_every=1000"], prepare=copy_vae)
    proxy = work / "proxy64"
    shutil.rmtree(proxy, ignore_errors=True)
    run_dir = work / f"train-mock-cosmos-64-flow-{n2}"
    run_command([cli_path(), "export", "mock-cosmos-64", "--set", f"dataset.path={data}",
                 "--set", f"output_dir={run_dir}", "--out", str(proxy)])
    try:
        measure("MPCC (generator step; the discriminator takes d_steps batches per step)",
                ["train", "mpcc"], "mpcc-mock-cosmos-64", "mpcc", "mpcc.steps",
                "mpcc.batch_size", ["--set", "mpcc.summary_every=5", "--set",
                                    "mpcc.checkpoint_every=1000", "--set",
                                    "mpcc.standing_batches=2"])
    except (RuntimeError, KeyError, FileNotFoundError) as err:
        print(f"  MPCC not measured: {str(err).splitlines()[0]}")
    return {"steps": [n1, n2], "rows": rows}
