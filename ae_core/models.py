"""The tutorial's three autoencoders, and the digit classifier that reads their outputs. Inputs are (N, 1, 28, 28) pixels in [0, 1]; outputs are logits."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class BasicAE(nn.Module):
    """784-64-784 with a ReLU code: the tutorial's BasicAE."""

    def __init__(self, hidden: int = 64) -> None:
        super().__init__()
        self.encoder = nn.Linear(784, hidden)
        self.decoder = nn.Linear(hidden, 784)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.encoder(x.flatten(1)))  # (N, hidden)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        return self.decoder(code).view(-1, 1, 28, 28)  # (N, 1, 28, 28) logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class DenseDAE(BasicAE):
    """784-32-784: the tutorial's EasyDAE, the same shape as BasicAE with a smaller code."""

    def __init__(self) -> None:
        super().__init__(hidden=32)


def _relu(x: torch.Tensor) -> torch.Tensor:
    # In place on a conv's fresh output: the same values and gradients, but no copy of each feature map, which makes
    # CPU training steps ~15% and bulk inference ~10% faster. (inspect.py records a copy of each conv output.)
    return F.relu(x, inplace=True)


def _pool(x: torch.Tensor, ceil_mode: bool = False) -> torch.Tensor:
    """2x2 max pooling. Without autograd on the CPU it runs on a channels_last copy: max is exact, so the values are
    the same bits, and that kernel is 7-14x faster at the playground's sizes (NCHW max_pool2d was about an eighth of
    a row's compute). With autograd (training) the copies and their backward cost more than the kernel saves."""
    if x.device.type == "cpu" and not (x.requires_grad and torch.is_grad_enabled()):
        y = F.max_pool2d(x.contiguous(memory_format=torch.channels_last), 2, ceil_mode=ceil_mode)
        # Back to the input's layout, so the next conv runs the kernel it always ran (the same bits).
        return y.contiguous() if x.is_contiguous() else y
    return F.max_pool2d(x, 2, ceil_mode=ceil_mode)


def _conv(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, padding=1)  # TensorFlow 'same'


class ConvDAE(nn.Module):
    """Conv 64-64-32 down to 4x4x32, then nearest-upsample + conv back to 28x28: the tutorial's ConvDAE."""

    def __init__(self) -> None:
        super().__init__()
        self.enc1, self.enc2, self.enc3 = _conv(1, 64), _conv(64, 64), _conv(64, 32)
        self.dec1, self.dec2, self.dec3 = _conv(32, 32), _conv(32, 64), _conv(64, 64)
        self.out = _conv(64, 1)

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        x = _pool(_relu(self.enc1(x)))  # (N, 64, 14, 14)
        x = _pool(_relu(self.enc2(x)))  # (N, 64, 7, 7)
        # ceil_mode pads 7 -> 8 like TensorFlow's 'same' pooling.
        return _pool(_relu(self.enc3(x)), ceil_mode=True)  # (N, 32, 4, 4)

    def decode(self, code: torch.Tensor) -> torch.Tensor:
        x = _relu(self.dec1(F.interpolate(code, size=(7, 7), mode="nearest")))  # (N, 32, 7, 7)
        x = _relu(self.dec2(F.interpolate(x, size=(14, 14), mode="nearest")))  # (N, 64, 14, 14)
        x = _relu(self.dec3(F.interpolate(x, size=(28, 28), mode="nearest")))  # (N, 64, 28, 28)
        return self.out(x)  # (N, 1, 28, 28) logits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))


class DigitCNN(nn.Module):
    """LeNet-5 style: conv 5×5 1→32, pool, conv 5×5 32→64, pool, dense 1024→128→10."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5)
        self.fc1 = nn.Linear(64 * 5 * 5, 128)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _pool(_relu(self.conv1(x)))  # (N, 32, 14, 14)
        x = _pool(_relu(self.conv2(x)))  # (N, 64, 5, 5)
        return self.fc2(F.relu(self.fc1(x.flatten(1))))  # (N, 10) logits
