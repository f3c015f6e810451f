"""CNN-M-2048 (Chatfield et al. 2014), the per-stream network of the original two-stream ConvNet.

Simonyan & Zisserman 2014, Fig. 1: conv1 96x7x7 stride 2, norm, pool; conv2 256x5x5 stride 2,
norm, pool; conv3 512x3x3; conv4 512x3x3; conv5 512x3x3, pool; full6 4096, dropout;
full7 2048, dropout; softmax. The temporal stream drops conv2's normalisation (to save
memory, per the paper). Pools are 3x3 stride 2 with ceil rounding (Caffe), so a 224x224 input
gives a 6x6x512 pool5 map; an adaptive average pool keeps other input sizes working and is
the identity at 224.
"""

from __future__ import annotations

from torch import Tensor, nn


class CNNM2048(nn.Module):
    """``(B, in_channels, H, W)`` -> logits ``(B, num_classes)``; ``features`` stops after conv5's ReLU."""

    def __init__(
        self, in_channels: int = 3, num_classes: int = 101, norm2: bool = True, dropout: float = 0.5
    ) -> None:
        super().__init__()
        self.out_channels = 512
        self.conv1 = nn.Sequential(
            nn.Conv2d(in_channels, 96, 7, stride=2),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0),
            nn.MaxPool2d(3, 2, ceil_mode=True),
        )
        self.conv2 = nn.Sequential(
            nn.Conv2d(96, 256, 5, stride=2, padding=1),
            nn.ReLU(inplace=True),
            nn.LocalResponseNorm(5, alpha=5e-4, beta=0.75, k=2.0) if norm2 else nn.Identity(),
            nn.MaxPool2d(3, 2, ceil_mode=True),
        )
        self.conv3 = nn.Sequential(nn.Conv2d(256, 512, 3, padding=1), nn.ReLU(inplace=True))
        self.conv4 = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(inplace=True))
        self.conv5 = nn.Sequential(nn.Conv2d(512, 512, 3, padding=1), nn.ReLU(inplace=True))
        self.pool5 = nn.Sequential(nn.MaxPool2d(3, 2, ceil_mode=True), nn.AdaptiveAvgPool2d((6, 6)))
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(512 * 6 * 6, 4096),  # full6
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(4096, 2048),  # full7
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(2048, num_classes),
        )

    def features(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` -> conv5 map ``(B, 512, h, w)`` (13x13 for 224 input)."""
        return self.conv5(self.conv4(self.conv3(self.conv2(self.conv1(x)))))

    def head(self, x: Tensor) -> Tensor:
        """conv5 map -> logits: pool5, full6, full7, classifier."""
        return self.classifier(self.pool5(x))

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x))
