"""Siamese "Actions ~ Transformations" (Wang, Farhadi & Gupta 2016, CVPR).

An action is a transformation from the state before it (precondition) to the state after it (effect). A clip
is split at frame ``s`` into a precondition segment ``[0, s)`` and an effect segment ``[s, T)``; a precondition
tower embeds the first, an effect tower (same architecture, its own weights) the second, and each class ``c``
owns a linear map ``T_c`` that should carry the precondition embedding onto the effect embedding::

    score(c, s) = cos(T_c f_pre(x[:s]), f_eff(x[s:]))

The split point is latent: every admissible ``s`` (each segment at least ``min_segment`` frames) is scored and
the best one is kept per class, ``logit_c = scale * max_s score(c, s)``. In training, cross-entropy over these
logits raises the true class's similarity at *its* best split (the latent split chosen per video, the paper's
E-step, here the argmax inside the loss) and lowers the other classes' similarities at theirs; at test time the
class with the best split wins, as in the paper. The paper's objective is a per-class contrastive loss on the
cosine (``1 - cos`` for the true class, a margin on ``cos`` for the others); softmax cross-entropy on scaled
cosines is the shared trainer's loss and is stated as a deviation in the model card.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torchvision.models import vgg16

from vidzoo.models._input_checks import check_clip
from vidzoo.models.registry import register_model

_PAPER = "Wang, Farhadi & Gupta 2016, CVPR"


class FrameTower(nn.Module):
    """A 2D network applied to every frame of a segment, frame features averaged, projected to ``embed_dim``.

    Shapes: ``(B, C, t, H, W) -> (B * t, C, H, W) -> (B, t, feature_dim) -> mean -> (B, embed_dim)``.
    """

    def __init__(self, trunk: nn.Module, feature_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.trunk = trunk
        self.embed = nn.Linear(feature_dim, embed_dim)

    def frame_features(self, x: Tensor) -> Tensor:
        """``(B, C, t, H, W) -> (B, t, feature_dim)``: the trunk on every frame."""
        b, c, t, h, w = x.shape
        return self.trunk(x.transpose(1, 2).reshape(b * t, c, h, w)).view(b, t, -1)

    def forward(self, x: Tensor) -> Tensor:
        return self.embed(self.frame_features(x).mean(1))


class ClipTower(nn.Module):
    """A small 3D conv net over a segment (sees motion inside the segment), global average pooled.

    Three 3x3x3 conv-BN-ReLU layers with spatial stride 2 (``channels``), then a linear map to ``embed_dim``.
    """

    def __init__(self, in_channels: int, channels: tuple[int, ...], embed_dim: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for out_channels in channels:
            layers += [nn.Conv3d(in_channels, out_channels, 3, stride=(1, 2, 2), padding=1, bias=False),
                       nn.BatchNorm3d(out_channels), nn.ReLU(inplace=True)]
            in_channels = out_channels
        self.convs = nn.Sequential(*layers)
        self.embed = nn.Linear(in_channels, embed_dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.embed(self.convs(x).mean(dim=(2, 3, 4)))


class ActionTransformation(nn.Module):
    """Precondition and effect towers plus one ``embed_dim x embed_dim`` transformation per class.

    Args:
        pre_tower, effect_tower: ``(B, C, t, H, W) -> (B, embed_dim)`` for any segment length ``t``.
        embed_dim: embedding size; num_classes: number of transformations.
        min_segment: fewest frames a segment may have; scale: cosine-to-logit factor.
    """

    def __init__(self, pre_tower: nn.Module, effect_tower: nn.Module, embed_dim: int, num_classes: int,
                 min_segment: int = 1, scale: float = 10.0, in_channels: int = 3) -> None:
        super().__init__()
        self.pre_tower, self.effect_tower = pre_tower, effect_tower
        self.transforms = nn.Parameter(torch.eye(embed_dim).repeat(num_classes, 1, 1)
                                       + torch.randn(num_classes, embed_dim, embed_dim) / embed_dim ** 0.5)
        self.min_segment, self.scale, self.in_channels = min_segment, scale, in_channels

    def split_points(self, num_frames: int) -> list[int]:
        """Admissible split frames ``s``: both segments have at least ``min_segment`` frames."""
        return list(range(self.min_segment, num_frames - self.min_segment + 1))

    def split_scores(self, clips: Tensor) -> Tensor:
        """Cosine similarity of every (split, class), ``(B, S, num_classes)``."""
        check_clip(clips, self.in_channels, "ActionTransformation", min_frames=2 * self.min_segment)
        scores = []
        for pre, effect in self._segment_embeddings(clips):
            predicted = torch.einsum("cde,be->bcd", self.transforms, pre)  # (B, C, D)
            scores.append(F.cosine_similarity(predicted, effect[:, None], dim=-1))
        return torch.stack(scores, dim=1)

    def _segment_embeddings(self, clips: Tensor) -> list[tuple[Tensor, Tensor]]:
        """(precondition, effect) embeddings ``(B, embed_dim)`` of every split. Per-frame towers (:class:`FrameTower`)
        run once per frame and each segment's mean frame feature comes from prefix sums; other towers run on every
        segment."""
        splits, t = self.split_points(clips.shape[2]), clips.shape[2]
        if not (isinstance(self.pre_tower, FrameTower) and isinstance(self.effect_tower, FrameTower)):
            return [(self.pre_tower(clips[:, :, :s]), self.effect_tower(clips[:, :, s:])) for s in splits]
        pre_sums = self.pre_tower.frame_features(clips).cumsum(1)  # pre_sums[:, s - 1] = sum of frames < s
        effect_sums = self.effect_tower.frame_features(clips).flip(1).cumsum(1).flip(1)  # [:, s] = sum of frames >= s
        return [(self.pre_tower.embed(pre_sums[:, s - 1] / s), self.effect_tower.embed(effect_sums[:, s] / (t - s)))
                for s in splits]

    def best_split(self, clips: Tensor) -> Tensor:
        """The latent split frame chosen for each (video, class), ``(B, num_classes)``."""
        splits = torch.tensor(self.split_points(clips.shape[2]), device=clips.device)
        return splits[self.split_scores(clips).argmax(dim=1)]

    def forward(self, clips: Tensor) -> Tensor:
        """``(B, C, T, H, W) -> (B, num_classes)``: ``scale`` times each class's best-split cosine."""
        return self.scale * self.split_scores(clips).amax(dim=1)


def _vgg16_tower(embed_dim: int) -> FrameTower:
    net = vgg16(weights=None)
    trunk = nn.Sequential(net.features, net.avgpool, nn.Flatten(1), *list(net.classifier.children())[:-1])
    return FrameTower(trunk, 4096, embed_dim)


@register_model("siamese_transformation", input_shape=(3, 10, 224, 224), family="Actions ~ Transformations",
                paper=_PAPER)
def siamese_transformation(num_classes: int = 101, embed_dim: int = 512, min_segment: int = 3,
                           scale: float = 10.0) -> ActionTransformation:
    """Full size: two VGG-16 towers (through fc7, per frame, averaged over the segment) with a 512-d embedding and
    one 512x512 transformation per class, on RGB frames."""
    return ActionTransformation(_vgg16_tower(embed_dim), _vgg16_tower(embed_dim), embed_dim, num_classes,
                                min_segment=min_segment, scale=scale)


@register_model("siamese_transformation_small", input_shape=(3, 8, 56, 56), family="Actions ~ Transformations",
                paper=_PAPER)
def siamese_transformation_small(num_classes: int = 9, embed_dim: int = 64, min_segment: int = 3,
                                 scale: float = 10.0) -> ActionTransformation:
    """CPU size: two small 3D conv towers (16-32-64 channels) with a 64-d embedding."""
    return ActionTransformation(ClipTower(3, (16, 32, 64), embed_dim), ClipTower(3, (16, 32, 64), embed_dim),
                                embed_dim, num_classes, min_segment=min_segment, scale=scale)
