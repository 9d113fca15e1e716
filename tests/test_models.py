"""The model zoo: shapes, gradients, permutation invariance, IRC safety of the EFN, parameter validation."""

from __future__ import annotations

import awkward as ak
import numpy as np
import pytest
import torch

import jetgnn
from jetgnn.errors import InputError
from jetgnn.graphs.batching import NODE_KEYS
from jetgnn.io.jets import Jets
from jetgnn.models import MODELS, InputSpec, build_model, model_parameters

from .conftest import BUNDLED, SMALL_MODEL_PARAMS

SMALL = SMALL_MODEL_PARAMS


@pytest.fixture(scope="module")
def jets():
    return jetgnn.read_jets(BUNDLED["top"], entry_stop=48)


def _graphs(jets, name):
    return jetgnn.build_graphs(jets, radius=0.4, max_particles=40) if name == "mpnn" else \
        jetgnn.build_graphs(jets, edges="knn", k=4, max_particles=40)


def _model(name, batch, seed=0):
    torch.manual_seed(seed)
    return build_model(name, InputSpec.from_batch(batch), 2, **SMALL[name])


@pytest.mark.parametrize("name", list(MODELS))
def test_forward_backward(jets, name):
    batch = _graphs(jets, name)
    model = _model(name, batch)
    logits = model(batch)
    assert logits.shape == (48, 2) and torch.isfinite(logits).all()
    if model.multitask:  # all heads take part in the loss
        from jetgnn.training.losses import multitask_loss

        multitask_loss(model.forward_all(batch), batch, {"jet": 1.0, "origin": 0.5, "vertex": 1.5})[0].backward()
    else:
        torch.nn.functional.cross_entropy(logits, batch.y).backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert model.embed(batch).shape[0] == 48


def _shuffle_nodes_within_jets(batch, seed=0):
    rng = np.random.default_rng(seed)
    ptr = batch.ptr.numpy()
    blocks = zip(ptr[:-1], ptr[1:], strict=True)
    perm = np.concatenate([start + rng.permutation(stop - start) for start, stop in blocks])
    perm = torch.from_numpy(perm)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(len(perm))
    shuffled = batch.clone()
    for key in NODE_KEYS:
        if key in batch:
            shuffled[key] = batch[key][perm]
    shuffled.edge_index = inverse[batch.edge_index]
    return shuffled


@pytest.mark.parametrize("name", ["particlenet", "mpnn", "pfn", "efn", "transformer"])
def test_permutation_invariance(jets, name):
    batch = _graphs(jets, name)
    model = _model(name, batch).eval()
    with torch.no_grad():
        torch.testing.assert_close(model(batch), model(_shuffle_nodes_within_jets(batch)), rtol=1e-4, atol=1e-5)


def _efn_output(jets: Jets, model=None):
    batch = jetgnn.build_graphs(jets, edges="knn", k=2, max_particles=None)
    model = model or _model("efn", batch).eval()
    with torch.no_grad():
        return model(batch), model


def _edit_first_particle(jets: Jets, split: bool) -> Jets:
    """Split each jet's hardest particle into two collinear halves, or add a zero-energy particle."""
    arrays = jets.arrays
    fields = {}
    for name in arrays.fields:
        values = arrays[name]
        if not name.startswith("part_"):
            fields[name] = values
            continue
        first = values[:, :1]
        if split:
            if name in ("part_px", "part_py", "part_pz", "part_energy"):
                first = first / 2
            fields[name] = ak.concatenate([first, first, values[:, 1:]], axis=1)
        else:
            extra = first * 0 if name in ("part_px", "part_py", "part_pz", "part_energy") else first
            dtype = ak.to_numpy(ak.flatten(values)).dtype
            extra = ak.values_astype(extra + (0.3 if name == "part_deta" else 0), dtype)
            fields[name] = ak.concatenate([values, extra], axis=1)
    return Jets(ak.zip(fields, depth_limit=1), jets.label_names)


@pytest.mark.parametrize("split", [True, False], ids=["collinear_split", "zero_energy_particle"])
def test_efn_is_irc_safe(jets, split):
    reference, model = _efn_output(jets)
    edited, _ = _efn_output(_edit_first_particle(jets, split), model)
    torch.testing.assert_close(edited, reference, rtol=1e-4, atol=1e-5)
    # the PFN, which sees energies non-linearly, is not
    batch = jetgnn.build_graphs(jets, edges="knn", k=2, max_particles=None)
    pfn = _model("pfn", batch).eval()
    with torch.no_grad():
        other = pfn(jetgnn.build_graphs(_edit_first_particle(jets, split), edges="knn", k=2, max_particles=None))
        assert not torch.allclose(pfn(batch), other, atol=1e-4)


def test_published_sizes():
    """Default sizes follow the papers: ParticleNet ~366k and ParticleNet-Lite ~26k parameters."""
    batch = jetgnn.build_graphs(jetgnn.read_jets(BUNDLED["top"], entry_stop=4), edges="knn", k=2)
    spec = InputSpec.from_batch(batch)
    count = {name: sum(p.numel() for p in build_model(name, spec, 2).parameters())
             for name in ("particlenet", "particlenet_lite")}
    assert 340_000 < count["particlenet"] < 400_000 and 20_000 < count["particlenet_lite"] < 35_000


def test_model_parameter_errors(jets):
    spec = InputSpec.from_batch(_graphs(jets, "pfn"))
    with pytest.raises(InputError, match="unknown model 'gnn'"):
        build_model("gnn", spec, 2)
    with pytest.raises(InputError, match="unknown parameter 'kk'"):
        build_model("particlenet", spec, 2, kk=3)
    with pytest.raises(InputError, match="parameter 'k' should be like 16"):
        build_model("particlenet", spec, 2, k="sixteen")
    with pytest.raises(InputError, match="must not be negative"):
        build_model("pfn", spec, 2, dropout=-0.1)
    assert model_parameters("particlenet_lite")["k"] == 7


def test_segment_sum_and_mean_match_pyg_scatter_and_its_gradients():
    from torch_geometric.utils import scatter

    from jetgnn.models.layers.segment import segment_mean, segment_sum

    generator = torch.Generator().manual_seed(3)
    index = torch.tensor([0, 0, 2, 2, 2, 4, 0])  # groups 1 and 3 are empty
    for shape in ((7,), (7, 5), (7, 3, 2)):
        values = torch.randn(*shape, generator=generator, dtype=torch.float64, requires_grad=True)
        for ours, reduce in ((segment_sum, "sum"), (segment_mean, "mean")):
            got = ours(values, index, 6)
            expected = scatter(values, index, dim=0, dim_size=6, reduce=reduce)
            assert got.shape == expected.shape == (6, *shape[1:])
            torch.testing.assert_close(got, expected)
            assert not got[[1, 3, 5]].any()
            weights = torch.randn(got.shape, generator=generator, dtype=torch.float64)
            grad, = torch.autograd.grad((got * weights).sum(), values)
            grad_pyg, = torch.autograd.grad((expected * weights).sum(), values)
            torch.testing.assert_close(grad, grad_pyg)
    assert segment_mean(torch.ones(3, 2, dtype=torch.bfloat16), torch.tensor([1, 1, 1]), 2).dtype == torch.bfloat16


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_factorised_edge_conv_matches_pyg_edge_conv(jets, mode):
    """The per-node first layer (and, in eval mode, the BatchNorms folded into the Linears) gives PyG's EdgeConv
    values and gradients up to float rounding; a wrong split of W (x_j - x_i vs x_j) would be off by O(1)."""
    from torch_geometric.nn import EdgeConv

    from jetgnn.models.layers.knn import knn_edges

    batch = _graphs(jets, "particlenet")
    model = _model("particlenet", batch)
    with torch.no_grad():  # running statistics away from (0, 1), so that folding them is tested
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    conv = model.blocks[0].conv.train(mode == "train")
    reference = EdgeConv(torch.nn.Identity(), aggr="mean")
    reference.nn = conv.nn  # after construction: EdgeConv(nn) would re-initialise nn
    x = model.input_norm.eval()(batch.x).detach().requires_grad_()
    edge_index = knn_edges(batch.pos, batch, 4)
    ours, theirs = conv(x, edge_index), reference(x, edge_index)
    assert theirs.abs().max() > 0.1
    torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-5)
    weight = conv.nn[0].weight
    grads = [torch.autograd.grad(out.square().sum(), (x, weight)) for out in (ours, theirs)]
    for ours_grad, theirs_grad in zip(*grads, strict=True):
        torch.testing.assert_close(ours_grad, theirs_grad, rtol=1e-3, atol=1e-4)


@pytest.mark.parametrize("name,renames", [
    ("pfn", {"head.": "f."}),
    ("efn", {"pool_norm.": "f.0.", "head.0.": "f.1.", "head.1.": "f.2."}),
    ("mlp", {"body.": "net.0.", "head.": "net.1."}),
    ("vertexer", {"head.": "jet_head."}),
    ("particlenet", {"conv.nn.": "conv.h."}),
])
def test_checkpoints_of_earlier_versions_load(jets, name, renames):
    """State dicts written before every classifier was ``head`` (and before PyG's EdgeConv) load unchanged."""
    if name == "vertexer":
        jets = jetgnn.read_jets(BUNDLED["flavour"], entry_stop=48)
    batch = jetgnn.build_graphs(jets, edges="knn", k=4, max_particles=40)
    model = _model(name, batch).eval()
    old = {}
    for key, value in model.state_dict().items():
        for new, legacy in renames.items():
            if new in key and (key.startswith(new) or new.startswith("conv")):
                key = key.replace(new, legacy, 1)
                break
        old[key] = value
    assert set(old) != set(model.state_dict())
    other = _model(name, batch, seed=1).eval()
    other.load_state_dict(old)
    with torch.no_grad():
        assert torch.equal(other(batch), model(batch))
