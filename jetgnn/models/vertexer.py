"""GN1-style multitask flavour tagger: jet flavour, track origin and track-pair vertex grouping.

A ParT-style attention backbone runs over all track pairs of a jet, with an attention bias from pairwise
features: the four kinematic ones (ln ΔR, ln kT, ln z, ln m^2) and two from the track geometry, the distance of
closest approach of the two tracks and its significance (``jetgnn.vertexing.geometry``). Three heads read it:

* jet flavour : masked mean of the track representations -> MLP -> [n_jets, n_classes] logits;
* track origin : per track -> [n_tracks, 5] logits over the ``part_origin`` classes of SPEC §2;
* vertexing : per track pair (symmetric in the pair) -> [n_jets, N, N] logits of "same vertex".

Training uses all three with configurable loss weights (``training.loss_weights``; GN1 used 1.0 / 0.5 / 1.5),
see :func:`jetgnn.training.losses.multitask_loss`. Tracks linked by edge probability above ``vertex_threshold``
are grouped into vertices (connected components, :func:`jetgnn.vertexing.group_tracks`).
"""

from __future__ import annotations

import torch
from torch import nn

from jetgnn.errors import InputError
from jetgnn.io.schema import N_ORIGINS
from jetgnn.models.base import InputSpec, JetTagger, classifier
from jetgnn.models.layers import AttentionBlock, dense_pair_features, mask_attention_bias, mlp
from jetgnn.models.layers.dense import to_dense
from jetgnn.vertexing.geometry import pair_distance

TRACK_FEATURES = ("tanh_d0", "tanh_dz", "d0_err", "dz_err")
N_PAIR_FEATURES = 6


class Vertexer(JetTagger):
    """embed, heads, layers : width and shape of the attention backbone; pair_hidden : width of the pair-feature
    MLP giving one attention bias per head; edge_hidden : width of the vertexing head; vertex_threshold : edge
    probability above which two tracks are put in the same vertex.

    ``forward(batch)`` gives jet logits (the tagger interface, ``head`` being the jet-flavour head);
    ``forward_all(batch)`` gives all three heads. Needs impact-parameter node features (flavour files) and
    ``jet_eta`` among the globals; the track geometry reads the raw impact parameters ``batch.impact`` (mm), so
    that no |d0| is capped by the tanh of the learned features.
    """

    multitask = True
    reads = ("x", "pos", "pt", "impact", "u")
    legacy_keys = {r"^jet_head\.": "head."}

    def __init__(self, spec: InputSpec, n_classes: int, embed: int = 64, heads: int = 4, layers: int = 3,
                 pair_hidden: int = 32, edge_hidden: int = 64, dropout: float = 0.1, vertex_threshold: float = 0.5,
                 linear_head: bool = False):
        super().__init__(spec, n_classes)
        missing = [name for name in TRACK_FEATURES if name not in spec.x_names]
        if missing or "jet_eta" not in spec.u_names:
            raise InputError(f"vertexer needs track impact parameters (node features {', '.join(TRACK_FEATURES)}) "
                             "and the jet_eta global: train it on flavour files")
        if not 0 < vertex_threshold < 1:
            raise InputError(f"vertexer: vertex_threshold must be in (0, 1), got {vertex_threshold!r}")
        self.heads, self.vertex_threshold = heads, vertex_threshold
        n_in = len(spec.x_names)
        self.input_norm = nn.BatchNorm1d(n_in)
        self.track_embed = nn.Sequential(nn.Linear(n_in, embed), nn.GELU(), nn.Linear(embed, embed))
        self.pair_norm = nn.LayerNorm(N_PAIR_FEATURES)
        self.pair_embed = nn.Sequential(nn.Linear(N_PAIR_FEATURES, pair_hidden), nn.GELU(),
                                        nn.Linear(pair_hidden, heads))
        self.blocks = nn.ModuleList(AttentionBlock(embed, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(embed)
        self.head = classifier(embed, n_classes, (embed,), dropout, linear_head)
        self.origin_head = nn.Sequential(mlp([embed, embed], norm=False), nn.Linear(embed, N_ORIGINS))
        self.edge_head = nn.Sequential(mlp([2 * embed + N_PAIR_FEATURES, edge_hidden], norm=False),
                                       nn.Linear(edge_hidden, 1))

    def _dense(self, batch, values: torch.Tensor) -> torch.Tensor:
        return to_dense(values, batch)[0]

    def pair_features(self, batch) -> tuple[torch.Tensor, torch.Tensor]:
        """([B, N, N, 6] pair features, [B, N] mask): ln ΔR, ln kT, ln z, ln m^2, ln(DCA / mm + 1e-3),
        ln(1 + DCA significance), from pT (GeV), (Δη, Δφ) and the impact parameters with their errors (mm)."""
        if getattr(batch, "impact", None) is None:
            raise InputError("the vertexer needs the tracks' impact parameters (part_d0val, part_d0err, part_dzval, "
                             "part_dzerr): build graphs from flavour files")
        pt, mask = to_dense(batch.pt, batch)
        pos = self._dense(batch, batch.pos)
        d0, dz, d0_err, dz_err = self._dense(batch, batch.impact).unbind(-1)
        eta = pos[..., 0] + batch.u[:, self.spec.u_names.index("jet_eta"), None]
        dca, significance = pair_distance(d0, dz, pos[..., 1], eta, d0_err, dz_err)
        geometry = torch.stack([torch.log(dca + 1e-3), torch.log1p(significance)], dim=-1)
        return torch.cat([dense_pair_features(pt, pos[..., 0], pos[..., 1]), geometry], dim=-1), mask

    def encode(self, batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Track representations [B, N, embed], the pair features [B, N, N, 6] and the mask [B, N]."""
        self.check_batch(batch)
        x = self._dense(batch, self.track_embed(self.input_norm(batch.x)))
        pairs, mask = self.pair_features(batch)
        pairs = self.pair_norm(pairs)
        bias = mask_attention_bias(self.pair_embed(pairs).permute(0, 3, 1, 2), mask)
        for block in self.blocks:
            x = block(x, bias)
        return self.norm(x) * mask[..., None], pairs, mask

    @staticmethod
    def _pool(h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return h.sum(1) / mask.sum(1, keepdim=True).clamp_min(1)

    def embed(self, batch) -> torch.Tensor:
        h, _, mask = self.encode(batch)
        return self._pool(h, mask)

    def forward_all(self, batch) -> dict[str, torch.Tensor]:
        """{"jet": [B, n_classes], "origin": [n_tracks, 5] (node order of the batch), "edge": [B, N, N]
        same-vertex logits (symmetric; the head runs on the real pairs i < j only, other entries are -30),
        "mask": [B, N]}."""
        h, pairs, mask = self.encode(batch)
        n = h.shape[1]
        upper = torch.ones(n, n, dtype=torch.bool, device=h.device).triu(1)
        jet, i, j = torch.nonzero(mask[:, :, None] & mask[:, None, :] & upper, as_tuple=True)
        h_a, h_b = h[jet, i], h[jet, j]
        logits = self.edge_head(torch.cat([h_a + h_b, h_a * h_b, pairs[jet, i, j]], dim=-1)).squeeze(-1)
        edge = torch.full(mask.shape + (n,), -30.0, dtype=logits.dtype, device=h.device)
        edge = edge.index_put((jet, i, j), logits).index_put((jet, j, i), logits)
        return {"jet": self.head(self._pool(h, mask)), "origin": self.origin_head(h[mask]), "edge": edge,
                "mask": mask}
