"""``training`` section: training throughput (images/s) of the CPU recipes.

Each recipe runs once, ``--train-steps`` steps in a fresh process; the time
per step is the run log's ``steady_seconds_per_step`` (the time per step after
the first, graph-building one: start-up, tracing and the latent flow's encoding
of the training stamps are left out).  The Flow-VAE run is also exported as the
``proxy64`` module that ``--model proxy`` benchmarks.
"""
import json
import shutil

from _shared import cli_path, run_command


def run(args, work):
    """Images per second of the CPU recipes, in the steady state."""
    data = work / "mock64.h5"
    if not data.exists():
        run_command([cli_path(), "dataset", "build", "--source", "mock-cosmos", "--n", "320",
                     "--stamp-size", "64", "--pixel-scale", "0.03", "--seed", "3",
                     "--processes", "1", "--quiet", "--out", str(data)])
    n = args.train_steps
    rows = []

    def measure(label, cmd, recipe, part, steps_key, batch_key, sets, prepare=None):
        out = work / f"train-{recipe}-{part}"
        shutil.rmtree(out, ignore_errors=True)  # a fresh run, never a resumed one
        if prepare:
            prepare(out)
        run_command([cli_path(), *cmd, recipe, "--quiet", "--set", f"dataset.path={data}",
                     "--set", f"output_dir={out}", "--set", f"{steps_key}={n}", *sets])
        log = json.loads((out / part / "training_log.json").read_text())
        from galsim_deep.training.recipes import load_recipe

        batch = load_recipe(recipe)[batch_key.split(".")[0]][batch_key.split(".")[1]]
        steady = log["steady_seconds_per_step"]
        rows.append({"recipe": recipe, "part": label, "batch_size": batch,
                     "seconds_per_step": steady, "images_per_s": batch / steady,
                     "wall_s_per_step_incl_start_up": log["wall_time_s"] / n})
        print(f"  {recipe} {label}: {steady:.3f} s/step, {batch / steady:.1f} images/s")

    common = ["--set", "vae.summary_every=5", "--set", "vae.checkpoint_every=1000"]
    measure("Flow-VAE autoencoder", ["train", "flow-vae"], "mock-cosmos-64", "vae", "vae.steps",
            "vae.batch_size", common)

    def copy_vae(out):
        shutil.copytree(work / "train-mock-cosmos-64-vae" / "vae", out / "vae")

    measure("latent flow", ["train", "flow"], "mock-cosmos-64", "flow", "flow.steps",
            "flow.batch_size", ["--set", "flow.summary_every=5", "--set",
                                "flow.checkpoint_every=1000"], prepare=copy_vae)
    proxy = work / "proxy64"
    shutil.rmtree(proxy, ignore_errors=True)
    run_dir = work / "train-mock-cosmos-64-flow"
    run_command([cli_path(), "train", "export", "mock-cosmos-64", "--set", f"dataset.path={data}",
                 "--set", f"output_dir={run_dir}", "--out", str(proxy)])
    try:
        measure("MPCC (generator step; the discriminator takes d_steps batches per step)",
                ["train", "mpcc"], "mpcc-mock-cosmos-64", "mpcc", "mpcc.steps",
                "mpcc.batch_size", ["--set", "mpcc.summary_every=5", "--set",
                                    "mpcc.checkpoint_every=1000", "--set",
                                    "mpcc.standing_batches=2"])
    except (RuntimeError, KeyError, FileNotFoundError) as err:
        print(f"  MPCC not measured: {str(err).splitlines()[0]}")
    return {"steps": n, "rows": rows}
