"""training.distribute.summed: a replica function's outputs summed over the replicas (a
fresh process: logical devices are set before TensorFlow starts)."""
import json
import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("tensorflow")

_SUMMED = textwrap.dedent("""
    import json
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from galsim_deep.training.distribute import make_strategy, summed

    strategy = make_strategy({"strategy": "mirrored", "devices": None})

    def replica(scale):
        rid = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group,
                      tf.float32)
        return {"id": rid + 1.0, "scaled": scale * (rid + 1.0)}, (rid, 2.0 * rid)

    out, pair = tf.function(lambda: summed(strategy, replica, tf.constant(10.0)))()
    print("RESULT", json.dumps({"replicas": strategy.num_replicas_in_sync,
                                "id": float(out["id"]), "scaled": float(out["scaled"]),
                                "pair": [float(v) for v in pair]}))
""")


@pytest.mark.slow
def test_summed_adds_every_replicas_outputs_in_their_structure():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.run([sys.executable, "-c", _SUMMED], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][0]
    result = json.loads(line[len("RESULT "):])
    assert result == {"replicas": 2, "id": 3.0, "scaled": 30.0, "pair": [1.0, 2.0]}
