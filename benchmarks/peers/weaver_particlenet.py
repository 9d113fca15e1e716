"""weaver-core network config for the peer harness: ParticleNet and ParticleNet-Lite as jetgnn builds them.

weaver calls ``get_model(data_config, **options)`` and ``get_loss(data_config, **options)``. The block sizes
follow the ParticleNet paper (and jetgnn's ``particlenet`` / ``particlenet_lite``): EdgeConv blocks, input
batch norm, mean over the real particles, one fully connected layer with dropout 0.1, no fusion block (jetgnn's
ParticleNet has none). Pass ``--network-option variant "'lite'"`` for ParticleNet-Lite.
"""

import torch
from weaver.nn.model.ParticleNet import ParticleNet

VARIANTS = {
    "full": ([(16, (64, 64, 64)), (16, (128, 128, 128)), (16, (256, 256, 256))], [(256, 0.1)]),
    "lite": ([(7, (32, 32, 32)), (7, (64, 64, 64))], [(128, 0.1)]),
}


class _Tagger(torch.nn.Module):
    """Inputs in the order of the data config: points (Δη, Δφ), features, mask."""

    def __init__(self, **options):
        super().__init__()
        self.net = ParticleNet(**options)

    def forward(self, points, features, mask):
        return self.net(points, features, mask)


def get_model(data_config, variant="full", **options):
    conv_params, fc_params = VARIANTS[variant]
    model = _Tagger(input_dims=len(data_config.input_dicts["pf_features"]),
                    num_classes=len(data_config.label_value), conv_params=conv_params, fc_params=fc_params,
                    use_fusion=False, use_fts_bn=True, use_counts=True,
                    for_inference=options.get("for_inference", False))
    info = {"input_names": list(data_config.input_names),
            "input_shapes": {k: ((1,) + s[1:]) for k, s in data_config.input_shapes.items()},
            "output_names": ["softmax"],
            "dynamic_axes": {**{k: {0: "N", 2: "n_" + k.split("_")[0]} for k in data_config.input_names},
                             "softmax": {0: "N"}}}
    return model, info


def get_loss(data_config, **options):
    return torch.nn.CrossEntropyLoss()
