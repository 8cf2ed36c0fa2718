"""Prepare a portable ONNX ``sample`` graph and convert it to PyTorch.

A galsim_deep module's portable ``sample.onnx`` (latent flow + decoder, exported by
tf2onnx) cannot go to `onnx2torch <https://github.com/ENOT-AutoDL/onnx2torch>`_ as it
is: onnx2torch has no converter for ``Loop``, and its ``Shape`` follows its input onto
the GPU, so every ``Reshape``/``Resize``/``Slice`` would read its shape back from the
device at each call.  This module therefore

* unrolls every top-level ``Loop`` (the masked autoregressive flow's ``tf.while_loop``:
  one pass per latent dimension) into a straight graph, its trip count read with
  onnxruntime from the original graph for two batch sizes (it must not depend on the
  batch), and prunes the dead nodes left behind (:func:`loop_trip_counts`,
  :func:`unroll_loops`, :func:`prune_dead`);
* keeps the integer shape arithmetic (``Shape`` and everything computed only from
  shapes and constants) on the host (:func:`host_plan`, :func:`convert`);
* stands a stub in for torchvision where it is missing (onnx2torch imports it for NMS
  and RoiAlign only; :func:`stub_torchvision`).

It also draws the seeded inputs (:func:`make_inputs`) that the trip-count probe and
the benchmark share.  Used by ``bench_gpu_network.py``.
"""
import copy
import importlib
import sys
import types

import numpy as np

#: Ranges (uniform draws) of the known conditions: realistic mock-COSMOS galaxies, inside
#: the default module's training ranges (mag_auto 17.4-25.2 AB; flux_radius 2.36-32 pixels
#: of 0.03 arcsec; zphot 0-1.98).  Unknown float [N] inputs are drawn in [0, 1].
CONDITION_RANGES = {
    "mag_auto": (20.0, 25.2),
    "flux_radius": (2.4, 10.0),   # pixels of 0.03 arcsec (SExtractor FLUX_RADIUS, F814W)
    "zphot": (0.1, 2.0),
}

#: Input positions at which onnx2torch reads a tensor as a shape / list of ints / axes;
#: a host (CPU) tensor there is fine while the data input is on the GPU.
SHAPE_POSITIONS = {
    "Reshape": {1}, "Expand": {1}, "Tile": {1}, "ConstantOfShape": {0},
    "Resize": {1, 2, 3}, "Upsample": {1}, "Slice": {1, 2, 3, 4},
    "Squeeze": {1}, "Unsqueeze": {1}, "Split": {1}, "Pad": {1, 2, 3},
    "ReduceSum": {1}, "ReduceMean": {1}, "ReduceMax": {1}, "ReduceMin": {1},
    "ReduceProd": {1}, "ReduceL2": {1}, "TopK": {1}, "Range": {0, 1, 2},
}


# ----------------------------------------------------------------------------------
# environment
# ----------------------------------------------------------------------------------
def stub_torchvision():
    """onnx2torch imports torchvision (for NMS / RoiAlign only) at import time.

    The lent GPU machine may lack torchvision (a compiled package, too big to carry),
    so a stub whose ops raise is put in its place; these models use neither op.
    """
    try:
        importlib.import_module("torchvision")
        return False
    except Exception:  # ImportError, or a torchvision built for another torch
        pass
    for name in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
        del sys.modules[name]
    tv = types.ModuleType("torchvision")
    ops = types.ModuleType("torchvision.ops")

    def _missing(*args, **kwargs):
        raise NotImplementedError("torchvision is not installed (stub for onnx2torch)")

    ops.nms = ops.box_convert = ops.roi_align = _missing
    tv.ops = ops
    tv.__version__ = "stub"
    sys.modules["torchvision"] = tv
    sys.modules["torchvision.ops"] = ops
    return True


# ----------------------------------------------------------------------------------
# ONNX preparation
# ----------------------------------------------------------------------------------
def ort_session(model_proto, threads=None):
    import onnxruntime as ort
    opts = ort.SessionOptions()
    opts.log_severity_level = 3   # no warnings (tf2onnx's deprecated Resize attribute)
    ort.set_default_logger_severity(3)
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    return ort.InferenceSession(model_proto.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])


def input_specs(model_proto):
    """``[(name, rank, last_dim)]`` of the graph inputs (initializers excluded)."""
    inits = {i.name for i in model_proto.graph.initializer}
    specs = []
    for vi in model_proto.graph.input:
        if vi.name in inits:
            continue
        dims = vi.type.tensor_type.shape.dim
        last = dims[-1].dim_value if dims and dims[-1].HasField("dim_value") else None
        specs.append((vi.name, len(dims), last))
    return specs


def make_inputs(specs, n, seed):
    """Seeded float32 inputs: conditions uniform in :data:`CONDITION_RANGES`, the rest
    (``random_normal``, any rank-2 input) standard normal."""
    rng = np.random.default_rng(seed)
    feeds = {}
    for name, rank, last in specs:
        if rank == 1:
            lo, hi = CONDITION_RANGES.get(name, (0.0, 1.0))
            feeds[name] = rng.uniform(lo, hi, n).astype(np.float32)
        elif rank == 2:
            feeds[name] = rng.standard_normal((n, last)).astype(np.float32)
        else:
            raise ValueError(f"input {name!r} of rank {rank}: no rule to draw it")
    return feeds


def _probe(model_proto, names, feeds, threads=None):
    """Values of intermediate tensors ``names`` of the top-level graph, via onnxruntime."""
    import onnx
    m = copy.deepcopy(model_proto)
    inits = {i.name: i for i in m.graph.initializer}
    out = {}
    wanted = []
    for name in names:
        if name in inits:
            out[name] = onnx.numpy_helper.to_array(inits[name])
        else:
            wanted.append(name)
    if wanted:
        del m.graph.output[:]
        for name in wanted:
            m.graph.output.append(onnx.ValueInfoProto(name=name))
        res = ort_session(m, threads).run(wanted, feeds)
        out.update(zip(wanted, res))
    return out


def loop_trip_counts(model_proto, specs, threads=None):
    """``{loop output[0]: trip count}`` of the top-level ``Loop`` nodes, read from the
    original graph with onnxruntime for two batch sizes (must agree)."""
    loops = [n for n in model_proto.graph.node if n.op_type == "Loop"]
    probes = [n.input[0] for n in loops if n.input[0]]
    probes += [n.input[1] for n in loops if n.input[1]]
    seen = []
    for n_rows, seed in ((1, 11), (5, 12)):
        seen.append(_probe(model_proto, sorted(set(probes)), make_inputs(specs, n_rows, seed),
                           threads) if probes else {})
    counts = {}
    for node in loops:
        if not node.input[0]:
            raise NotImplementedError(f"Loop {node.name!r} has no trip count: cannot unroll")
        values = [int(np.asarray(s[node.input[0]]).reshape(())) for s in seen]
        conds = [bool(np.asarray(s[node.input[1]]).reshape(())) if node.input[1] else True
                 for s in seen]
        if len(set(values)) != 1:
            raise NotImplementedError(
                f"Loop {node.name!r}: trip count depends on the batch {values}")
        counts[node.output[0]] = values[0] if all(conds) else 0
    return counts


def unroll_loops(model_proto, trip_counts):
    """Replace each top-level ``Loop`` (no scan outputs) by ``trip count`` copies of its
    body.  Body initializers are hoisted once; outer-scope names are kept as they are.
    The loop condition is not tested (the comparison with onnxruntime checks it)."""
    import onnx
    from onnx import helper, numpy_helper
    m = copy.deepcopy(model_proto)
    g = m.graph
    new_nodes = []
    for k, node in enumerate(g.node):
        if node.op_type != "Loop":
            new_nodes.append(node)
            continue
        body = next(a.g for a in node.attribute if a.name == "body")
        b_in = [v.name for v in body.input]
        b_out = [v.name for v in body.output]
        n_carried = len(node.input) - 2
        if len(b_out) != 1 + n_carried:
            raise NotImplementedError(f"Loop {node.name!r} has scan outputs")
        for bn in body.node:
            if any(a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS)
                   for a in bn.attribute):
                raise NotImplementedError(f"Loop {node.name!r}: nested subgraph in {bn.op_type}")
        prefix = f"unrolled{k}"
        hoisted = {}
        for init in body.initializer:
            t = copy.deepcopy(init)
            t.name = f"{prefix}/const/{init.name}"
            g.initializer.append(t)
            hoisted[init.name] = t.name
        iter_dtype = helper.tensor_dtype_to_np_dtype(body.input[0].type.tensor_type.elem_type)
        cond = node.input[1]
        if not cond:
            cond = f"{prefix}/cond_init"
            new_nodes.append(helper.make_node("Constant", [], [cond], name=cond,
                                              value=numpy_helper.from_array(np.array(True))))
        carried = list(node.input[2:])
        for it in range(trip_counts[node.output[0]]):
            env = dict(hoisted)
            it_name = f"{prefix}/it{it}/iteration"
            new_nodes.append(helper.make_node(
                "Constant", [], [it_name], name=it_name,
                value=numpy_helper.from_array(np.array(it, dtype=iter_dtype))))
            env[b_in[0]] = it_name
            env[b_in[1]] = cond
            env.update(zip(b_in[2:], carried))
            for j, bn in enumerate(body.node):
                nn = copy.deepcopy(bn)
                nn.name = f"{prefix}/it{it}/{bn.name or j}"
                del nn.input[:]
                nn.input.extend(env.get(x, x) if x else "" for x in bn.input)
                del nn.output[:]
                for o in bn.output:
                    if o:
                        env[o] = f"{prefix}/it{it}/{o}"
                    nn.output.append(env[o] if o else "")
                new_nodes.append(nn)
            cond = env.get(b_out[0], b_out[0])
            carried = [env.get(o, o) for o in b_out[1:]]
        for out, value in zip(node.output, carried):
            if out:
                new_nodes.append(
                    helper.make_node("Identity", [value], [out], name=f"{prefix}/{out}"))
    del g.node[:]
    g.node.extend(new_nodes)
    del g.value_info[:]
    return prune_dead(m)


def prune_dead(model_proto):
    """Drop nodes and initializers that no graph output depends on."""
    g = model_proto.graph
    needed = {o.name for o in g.output}
    keep = []
    for node in reversed(g.node):
        if any(o in needed for o in node.output if o):
            keep.append(node)
            needed.update(x for x in node.input if x)
    keep.reverse()
    del g.node[:]
    g.node.extend(keep)
    inits = [i for i in g.initializer if i.name in needed]
    del g.initializer[:]
    g.initializer.extend(inits)
    return model_proto


def host_plan(model_proto):
    """Which tensors to keep on the host (CPU) so that shape arithmetic never reads
    back from the GPU.

    Returns ``(host_nodes, host_uses)``: names of the first output of every node to run
    on the host (``Shape`` and nodes computed only from host values and constants), and
    ``{(consumer first output, input position)}`` of constant inputs (initializers or
    ``Constant`` outputs) to place on the host.  A host value that a device node reads
    as data (not as a shape) demotes its producer to the device, to a fixed point.
    """
    g = model_proto.graph
    consts = {i.name for i in g.initializer}
    consts.update(n.output[0] for n in g.node if n.op_type == "Constant")
    compute = [n for n in g.node if n.op_type != "Constant"]
    producer = {o: n for n in compute for o in n.output if o}
    forced_device = set()
    while True:
        host = set()        # host value names
        host_nodes = set()
        for n in compute:
            ins = [x for x in n.input if x]
            if n.op_type == "Shape" or (ins and all(x in host or x in consts for x in ins)
                                        and any(x in host for x in ins)):
                if n.output[0] not in forced_device:
                    host_nodes.add(n.output[0])
                    host.update(o for o in n.output if o)
        conflicts = set()
        for n in compute:
            if n.output[0] in host_nodes:
                continue
            shape_pos = SHAPE_POSITIONS.get(n.op_type, set())
            for pos, x in enumerate(n.input):
                if x in host and pos not in shape_pos:
                    conflicts.add(producer[x].output[0])
        if not conflicts:
            break
        forced_device |= conflicts
    host_uses = set()
    for n in compute:
        shape_pos = SHAPE_POSITIONS.get(n.op_type, set())
        for pos, x in enumerate(n.input):
            if x in consts and (n.output[0] in host_nodes or pos in shape_pos):
                host_uses.add((n.output[0], pos))
    return host_nodes, host_uses


# ----------------------------------------------------------------------------------
# PyTorch
# ----------------------------------------------------------------------------------
def _host_shape_module(start, end):
    import torch

    class HostShape(torch.nn.Module):
        """ONNX ``Shape`` returning a CPU int64 tensor (onnx2torch's follows the input)."""

        def __init__(self):
            super().__init__()
            self.start, self.end = start, end

        def forward(self, x):
            return torch.tensor(x.shape[self.start:self.end], dtype=torch.int64)

    return HostShape()


def _constant_of_shape_module(value, device):
    import torch

    class PlacedConstantOfShape(torch.nn.Module):
        """ONNX ``ConstantOfShape`` with its fill value held as a Python number (no
        ``.item()`` read-back from the GPU) and its output on a fixed device."""

        def __init__(self):
            super().__init__()
            self.fill = value.item()
            self.dtype = value.dtype
            self.device = torch.device(device)

        def forward(self, shape):
            return torch.full(tuple(int(d) for d in shape.tolist()), self.fill,
                              dtype=self.dtype, device=self.device)

    return PlacedConstantOfShape()


#: Ops whose newer ONNX version only widened the types (bfloat16), with the version
#: onnx2torch 1.5.15 registers: its converter serves the newer one too.
WIDENED_VERSIONS = {("GreaterOrEqual", 16): 12, ("LessOrEqual", 16): 12}


def register_widened_versions():
    """Register onnx2torch's converter of each :data:`WIDENED_VERSIONS` op for its newer
    version (the equivariant VAE's graph has ``GreaterOrEqual`` at opset 16)."""
    from onnx2torch.node_converters.registry import (_CONVERTER_REGISTRY,
                                                     OperationDescription)

    for (op, newer), older in WIDENED_VERSIONS.items():
        known = OperationDescription(domain="", operation_type=op, version=older)
        wanted = known._replace(version=newer)
        if known in _CONVERTER_REGISTRY and wanted not in _CONVERTER_REGISTRY:
            _CONVERTER_REGISTRY[wanted] = _CONVERTER_REGISTRY[known]


def convert(prepared, device, host_placement=True):
    """onnx2torch GraphModule of ``prepared``, on ``device``; with ``host_placement`` the
    shape arithmetic of :func:`host_plan` stays on the CPU.  Returns (module, info)."""
    import onnx2torch
    register_widened_versions()
    gm = onnx2torch.convert(prepared, attach_onnx_mapping=True)
    gm.eval()
    info = {"host_nodes": 0, "host_constants": 0, "placement": "all-device"}
    if not host_placement:
        return gm.to(device), info
    host_nodes, host_uses = host_plan(prepared)
    op_of = {n.output[0]: n for n in prepared.graph.node}
    stay = []           # (owner module, dict name, attribute, CPU tensor) kept on the host
    for fx_node in gm.graph.nodes:
        if fx_node.op != "call_module" or fx_node.target == "initializers":
            continue
        mod = gm.get_submodule(fx_node.target)
        mapping = getattr(mod, "onnx_mapping", None)
        if mapping is None:
            continue
        first = mapping.outputs[0]
        if op_of[first].op_type == "ConstantOfShape":
            new = _constant_of_shape_module(
                mod.value, "cpu" if first in host_nodes else device)
            new.onnx_mapping = mapping
            setattr(gm, fx_node.target, new)
            info["host_nodes"] += first in host_nodes
        elif first in host_nodes:
            onnx_node = op_of[first]
            if onnx_node.op_type == "Shape":
                attrs = {a.name: a.i for a in onnx_node.attribute}
                new = _host_shape_module(attrs.get("start", 0), attrs.get("end", None))
                new.onnx_mapping = mapping
                setattr(gm, fx_node.target, new)
            else:
                for sub in mod.modules():
                    for kind in ("_buffers", "_parameters"):
                        for attr, t in getattr(sub, kind).items():
                            if t is not None:
                                stay.append((sub, kind, attr, t))
            info["host_nodes"] += 1
        args = list(fx_node.args) + list(fx_node.kwargs.values())
        names = list(mapping.inputs)
        # args follow mapping.inputs up to the first skipped (empty) input, then kwargs
        present = [x for x in names if x]
        for arg, onnx_name in zip(args, present if len(args) == len(present) else names):
            if getattr(arg, "op", None) != "get_attr":
                continue
            if (first, names.index(onnx_name)) in host_uses:
                owner, _, attr = arg.target.rpartition(".")
                sub = gm.get_submodule(owner)
                stay.append((sub, "_buffers", attr, sub._buffers[attr]))
                info["host_constants"] += 1
    gm.recompile()
    gm.to(device)
    for sub, kind, attr, t in stay:
        getattr(sub, kind)[attr] = t
    info["placement"] = "host-shapes"
    return gm, info
