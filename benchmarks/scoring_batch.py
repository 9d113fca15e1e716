"""How many jets ParticleNet scores per forward pass: jets/s of scoring (graph building + forward) per pass size.

    python benchmarks/scoring_batch.py [--file data/top_2k.root] [--max-jets 3072] [--rounds 3]

For ParticleNet and ParticleNet-Lite (default sizes, random weights, eval mode, 64 particles): the scorer that
``Tagger.predict`` uses on the file's jets, in chunks of 1024 jets as ``predict`` reads them, with passes of a fixed
128 jets (jetgnn <= 0.1.0 before this benchmark) and with passes holding about ``2^m`` messages (edges x channels
of the widest block, the ``scoring_messages`` rule: nodes per pass = 2^m / (k x widest channels)). Interleaved
``--rounds`` times (the host is noisy: compare the medians). Writes benchmarks/results/scoring_batch.json.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _meta import write_result  # noqa: E402

import jetgnn  # noqa: E402
from jetgnn.models import InputSpec, build_model  # noqa: E402
from jetgnn.tagger import GraphScorer  # noqa: E402

K = {"particlenet": 16, "particlenet_lite": 7}
CHUNK = 1024  # jets per chunk read by Tagger.predict
EXPONENTS = (22, 23, 24, 25)


def _fixed_128(scorer: GraphScorer, chunk) -> np.ndarray:
    return np.concatenate([scorer.probabilities(jetgnn.build_graphs(chunk[i:i + 128], **scorer.build_options))
                           for i in range(0, len(chunk), 128)])


def _rate(score, jets) -> float:
    start = time.perf_counter()
    for i in range(0, len(jets), CHUNK):
        score(jets[i:i + CHUNK])
    return len(jets) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(Path(__file__).resolve().parent.parent / "data" / "top_2k.root"))
    parser.add_argument("--max-jets", type=int, default=3 * CHUNK)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    jets = jetgnn.read_jets(args.file)[:args.max_jets]
    results = {}
    for name, k in K.items():
        options = {"edges": "knn", "k": k, "max_particles": 64}
        torch.manual_seed(0)
        model = build_model(name, InputSpec.from_batch(jetgnn.build_graphs(jets[:64], **options)), 2)
        scorer = GraphScorer(model, options)
        default_nodes, default_messages = model.scoring_nodes, type(model).scoring_messages
        settings = {"fixed_128_jets": lambda chunk, s=scorer: _fixed_128(s, chunk)}
        for m in EXPONENTS:
            settings[f"messages_2^{m}"] = (m, scorer.predict_proba)
        rates = {key: [] for key in settings}
        for _ in range(args.rounds):
            for key, setting in settings.items():
                if isinstance(setting, tuple):
                    model.scoring_nodes = default_nodes * 2 ** setting[0] // default_messages
                    setting = setting[1]
                rates[key].append(_rate(setting, jets))
        model.scoring_nodes = default_nodes
        medians = {key: round(statistics.median(values), 1) for key, values in rates.items()}
        results[name] = {"jets_per_s": medians, "rounds": {key: [round(v, 1) for v in v_] for key, v_ in rates.items()},
                         "k": k, "default_scoring_messages": default_messages, "default_scoring_nodes": default_nodes,
                         "default_speedup_over_fixed_128": round(
                             medians[f"messages_2^{default_messages.bit_length() - 1}"]
                             / medians["fixed_128_jets"], 2)}
        print(name, "  ".join(f"{key} {value:.0f}" for key, value in medians.items()), "jets/s")
    path = write_result("scoring_batch", {
        "command": "python benchmarks/scoring_batch.py " + " ".join(sys.argv[1:]), "n_jets": len(jets),
        "chunk": CHUNK, "torch_threads": torch.get_num_threads(), "results": results})
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
