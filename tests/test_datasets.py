"""Training datasets: in-memory and streaming Batches, sharding, balancing, cache, batching helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

import jetgnn
from jetgnn.datasets import InMemoryGraphDataset, StreamingGraphDataset
from jetgnn.errors import InputError
from jetgnn.graphs.batching import batch_from_dict, batch_to_dict, concat_batches, select_graphs

from .conftest import BUNDLED, N_IDENTIFIED, identified_jets, jet_ids


@pytest.fixture(scope="module")
def flavour_graphs():
    return jetgnn.build_graphs(jetgnn.read_jets(BUNDLED["flavour"], entry_stop=200), edges="knn", k=4)


def _same(a, b):
    for key in ("x", "pos", "edge_index", "edge_attr", "u", "y", "vtx_idx", "origin", "ptr", "batch"):
        assert torch.equal(a[key], b[key]), key
    assert a.x_names == b.x_names and a.u_names == b.u_names


def test_select_graphs_matches_get_example(flavour_graphs):
    index = np.array([5, 0, 199, 5, 37])
    sub = select_graphs(flavour_graphs, index)
    assert sub.num_graphs == 5
    for new, old in enumerate(index):
        a, b = sub.get_example(new), flavour_graphs.get_example(int(old))
        for key in ("x", "edge_index", "edge_attr", "u", "y", "vtx_idx"):
            assert torch.equal(a[key], b[key]), key


def test_concat_and_serialise_round_trip(flavour_graphs, tmp_path):
    halves = [select_graphs(flavour_graphs, np.arange(0, 120)), select_graphs(flavour_graphs, np.arange(120, 200))]
    _same(concat_batches(halves), flavour_graphs)
    torch.save(batch_to_dict(flavour_graphs), tmp_path / "b.pt")
    _same(batch_from_dict(torch.load(tmp_path / "b.pt", weights_only=True)), flavour_graphs)


def test_in_memory_epochs_cover_every_jet_once_in_new_orders():
    ds = InMemoryGraphDataset(BUNDLED["top"], batch_size=300, edges="knn", k=8, seed=1)
    epochs = []
    for _ in range(2):
        batches = list(DataLoader(ds, batch_size=None))
        assert len(batches) == len(ds) == 7
        pts = torch.cat([b.u[:, 0] for b in batches])
        assert len(pts) == 2000
        epochs.append(pts)
    assert torch.equal(torch.sort(epochs[0]).values, torch.sort(epochs[1]).values)
    assert not torch.equal(epochs[0], epochs[1])


def test_in_memory_balancing(tmp_path):
    jets = jetgnn.read_jets(BUNDLED["top"])
    skewed = jets[np.concatenate([np.flatnonzero(jets.labels == 0), np.flatnonzero(jets.labels == 1)[:200]])]
    ds = InMemoryGraphDataset(skewed, batch_size=1000, balance=True, edges="knn", k=4)
    labels = torch.cat([b.y for b in ds])
    assert torch.bincount(labels).tolist() == [200, 200]


def test_streaming_reads_every_jet_once_with_bounded_buffer():
    ds = StreamingGraphDataset([BUNDLED["top"], BUNDLED["qg"]], batch_size=128, step_size=250, shuffle_buffer=600,
                               edges="knn", k=4, seed=3)
    sizes, pts = [], []
    for batch in ds:
        sizes.append(batch.num_graphs)
        pts.append(batch.u[:, 0])
    assert sum(sizes) == 4000 and max(sizes) == 128
    all_pt = torch.sort(torch.cat(pts)).values
    expected = torch.sort(torch.cat([torch.from_numpy(jetgnn.read_jets(p).jet_pt.to_numpy()) for p in
                                     (BUNDLED["top"], BUNDLED["qg"])])).values
    torch.testing.assert_close(all_pt, expected.float())


def test_streaming_shards_split_the_units_between_workers():
    ds = StreamingGraphDataset(BUNDLED["top"], batch_size=100, step_size=250, shuffle_buffer=500, edges="knn", k=4)
    loader = DataLoader(ds, batch_size=None, num_workers=2)
    pts = torch.cat([b.u[:, 0] for b in loader])
    assert len(pts) == 2000 and len(torch.unique(pts)) == len(torch.unique(torch.from_numpy(
        jetgnn.read_jets(BUNDLED["top"]).jet_pt.to_numpy())))


def test_streaming_balance_and_cache(tmp_path):
    ds = StreamingGraphDataset(BUNDLED["flavour"], batch_size=500, step_size=400, balance=True, edges="knn", k=4,
                               cache_dir=tmp_path / "cache")
    first = torch.cat([b.y for b in ds])
    counts = torch.bincount(first)
    assert counts.max() - counts.min() <= 0 or (counts.min() > 0 and counts.max() / counts.min() < 1.01)
    assert ds.stats == {"units_read": 5, "units_from_cache": 0}
    second = torch.cat([b.y for b in ds])
    assert ds.stats == {"units_read": 5, "units_from_cache": 5}
    assert torch.equal(torch.sort(first).values, torch.sort(second).values)
    assert len(list((tmp_path / "cache").glob("*.pt"))) == 5


def test_dataset_option_errors():
    with pytest.raises(InputError, match="unknown graph option 'edge'"):
        InMemoryGraphDataset(BUNDLED["top"], edge="knn")
    with pytest.raises(InputError, match="batch_size must be a positive integer"):
        StreamingGraphDataset(BUNDLED["top"], batch_size=0)
    with pytest.raises(InputError, match="file not found"):
        StreamingGraphDataset("missing.root")


# -- sharding over DataLoader workers and DDP ranks ------------------------------------------------------------
DATASET_KINDS = ("in_memory", "contrastive", "streaming")



def _make_dataset(kind: str, path):
    if kind == "in_memory":
        return InMemoryGraphDataset(identified_jets(), batch_size=30, edges="none", max_particles=16, seed=4)
    if kind == "contrastive":
        from jetgnn.datasets.contrastive import ContrastivePairs

        return ContrastivePairs(identified_jets(), batch_size=30, augmentations={"rotate": {}}, drop_last=False,
                                edges="none", max_particles=16, seed=4)
    return StreamingGraphDataset(path, batch_size=30, step_size=50, shuffle_buffer=100, edges="none",
                                 max_particles=16, seed=4)


def _epochs_seen(dataset, workers: int, epochs: int = 2, **loader_options) -> list[list[int]]:
    loader = DataLoader(dataset, batch_size=None, num_workers=workers, **loader_options)
    seen = []
    for epoch in range(epochs):
        dataset.set_epoch(epoch)
        seen.append([i for batch in loader for i in jet_ids(batch)])
    return seen


@pytest.mark.parametrize("kind", DATASET_KINDS)
def test_workers_serve_each_jet_once_per_epoch_in_a_new_order(kind, identified_file):
    dataset = _make_dataset(kind, identified_file)
    seen = _epochs_seen(dataset, workers=2)
    for ids in seen:
        assert sorted(ids) == list(range(N_IDENTIFIED)), kind  # every jet exactly once
    assert seen[0] != seen[1]
    if kind != "streaming":  # the batches do not depend on the number of workers
        assert _epochs_seen(dataset, workers=0) == seen


def test_persistent_workers_see_set_epoch(identified_file):
    """Persistent workers keep their copy of the dataset between epochs: the epoch reaches them through shared
    memory."""
    dataset = _make_dataset("in_memory", identified_file)
    seen = _epochs_seen(dataset, workers=2, epochs=3, persistent_workers=True)
    assert all(sorted(ids) == list(range(N_IDENTIFIED)) for ids in seen)
    assert seen[0] != seen[1] != seen[2]
    assert seen == _epochs_seen(dataset, workers=0, epochs=3)


def _ddp_worker(rank: int, world: int, init_file: str, path: str, out: str) -> None:
    import json

    import torch.distributed as dist

    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        for kind in DATASET_KINDS:
            dataset = _make_dataset(kind, path)
            # (fork: spawned ranks would spawn their workers too, which is correct but slow)
            seen = _epochs_seen(dataset, workers=2, multiprocessing_context="fork")
            Path(out, f"{kind}_{rank}.json").write_text(json.dumps({"seen": seen, "len": len(dataset)}))
    finally:
        dist.destroy_process_group()


def test_ddp_ranks_with_workers_share_each_epoch(tmp_path, identified_file):
    """Two DDP ranks (gloo processes) with two DataLoader workers each: the ranks' shares are disjoint and
    together serve every jet exactly once per epoch, in a new order in epoch 2, with equal numbers of jets."""
    import json

    import torch.multiprocessing as mp

    mp.spawn(_ddp_worker, args=(2, str(tmp_path / "init"), str(identified_file), str(tmp_path)), nprocs=2, join=True)
    for kind in DATASET_KINDS:
        ranks = [json.loads((tmp_path / f"{kind}_{r}.json").read_text()) for r in range(2)]
        for epoch in range(2):
            shares = [r["seen"][epoch] for r in ranks]
            assert sorted(shares[0] + shares[1]) == list(range(N_IDENTIFIED)), kind
            assert len(shares[0]) == len(shares[1]) == N_IDENTIFIED // 2, kind
        assert ranks[0]["seen"][0] != ranks[0]["seen"][1], kind
        if kind != "streaming":
            assert ranks[0]["len"] == ranks[1]["len"] == -(-N_IDENTIFIED // 2 // 30), kind
