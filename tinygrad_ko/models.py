"""Ready-made models: a small CNN for 28x28 digits and torchvision's ResNets.

``resnet18/34/50/101/152()`` (and ``resnext50_32x4d``, ``wide_resnet50_2``...) are built like
torchvision's: the same constructor signature (``weights=None, progress=True, **kwargs`` with
``num_classes``, ``zero_init_residual``, ``groups``, ``width_per_group``,
``replace_stride_with_dilation``, ``norm_layer``), the same child names and order -- conv1, bn1,
relu, maxpool, layer1..layer4, avgpool, fc -- and the same ``state_dict()`` keys, shapes, dtypes
and order (BatchNorm's ``num_batches_tracked`` included), so a torchvision checkpoint loads with
``load_state_dict(strict=True)`` and the books' recipes work unchanged::

    body = nn.Sequential(*list(model.children())[:-2])   # the convolutional trunk
    model.fc = nn.Linear(512, 2)                          # a new head for 2 classes

Nothing is downloaded: ``weights=`` other than None raises. Pretrained weights come from a
torchvision ``.pth`` file the user already has, converted once with
``python -m tinygrad_ko convert resnet50.pth resnet50.safetensors`` and loaded with
``model.load_state_dict(tinygrad_ko.load("resnet50.safetensors"))``.

Extras beside torchvision's arguments (keyword-only): ``in_channels`` (e.g. 1 for digits),
``width`` (stage widths width..8*width instead of 64..512) and ``small_input=True`` (a 3x3
stride-1 stem without the max-pool, for 28x28 or 32x32 images). ``resnet(num_blocks=[1, 1, 1, 1],
width=16)`` (``resnet_small()``) builds a much smaller ResNet of the same shape for tests and quick
experiments.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from . import nn
from .nn import init
from .nn.conv import AdaptiveAvgPool2d, Conv2d, MaxPool2d
from .nn.normalization import BatchNorm2d
from .tensor import Tensor

__all__ = [
    "mnist_cnn",
    "BasicBlock",
    "Bottleneck",
    "ResNet",
    "resnet",
    "resnet18",
    "resnet34",
    "resnet50",
    "resnet101",
    "resnet152",
    "resnext50_32x4d",
    "resnext101_32x8d",
    "resnext101_64x4d",
    "wide_resnet50_2",
    "wide_resnet101_2",
    "resnet_small",
]


def mnist_cnn(num_classes: int = 10, in_channels: int = 1, image_size: int = 28) -> nn.Sequential:
    """A small CNN for 1x28x28 digits, as an ``nn.Sequential`` (so it prints, indexes and slices):

    conv(32) - relu - maxpool - conv(64) - relu - maxpool - flatten - linear(128) - relu - linear(10)

    Two 2x2 pools take 28x28 to 7x7. It reaches about 0.99 test accuracy on MNIST after one epoch
    of Adam (lr 1e-3, batch 64).
    """
    side = image_size // 4
    return nn.Sequential(
        Conv2d(in_channels, 32, kernel_size=3, padding=1),
        nn.ReLU(),
        MaxPool2d(2),
        Conv2d(32, 64, kernel_size=3, padding=1),
        nn.ReLU(),
        MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64 * side * side, 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )


def _conv3x3(in_planes: int, out_planes: int, stride: int = 1, groups: int = 1, dilation: int = 1) -> Conv2d:
    """3x3 convolution with padding (= dilation, so the size only changes with the stride)."""
    return Conv2d(
        in_planes,
        out_planes,
        kernel_size=3,
        stride=stride,
        padding=dilation,
        groups=groups,
        bias=False,
        dilation=dilation,
    )


def _conv1x1(in_planes: int, out_planes: int, stride: int = 1) -> Conv2d:
    return Conv2d(in_planes, out_planes, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a shortcut: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)).

    The shortcut is the identity, or ``downsample`` (1x1 conv + BN) when the block changes the
    stride or the number of channels. The stride sits on conv1.
    """

    expansion = 1

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        if groups != 1 or base_width != 64:
            raise ValueError("BasicBlock only supports groups=1 and base_width=64")
        if dilation > 1:
            raise NotImplementedError("Dilation > 1 not supported in BasicBlock")
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = norm_layer(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = norm_layer(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 (reduce) - 3x3 - 1x1 (expand x4) conv-BN layers with a shortcut, torchvision's "ResNet v1.5".

    relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1(x)))))))) + shortcut(x)), where conv1 and conv2
    have ``width = int(planes * base_width / 64) * groups`` channels and conv3 gives
    ``planes * 4``. The stride sits on the 3x3 conv2 (the original paper put it on conv1; v1.5 is
    what torchvision's weights were trained with). The shortcut is the identity or ``downsample``.
    """

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        groups: int = 1,
        base_width: int = 64,
        dilation: int = 1,
        norm_layer: Callable[..., nn.Module] | None = None,
    ) -> None:
        super().__init__()
        norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = _conv1x1(inplanes, width)
        self.bn1 = norm_layer(width)
        self.conv2 = _conv3x3(width, width, stride, groups, dilation)
        self.bn2 = norm_layer(width)
        self.conv3 = _conv1x1(width, planes * self.expansion)
        self.bn3 = norm_layer(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x: Tensor) -> Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A ResNet of BasicBlocks or Bottlenecks, laid out (and initialised) like torchvision's.

    ``layers`` gives the number of blocks per stage; the stages' planes are width, 2*width,
    4*width and 8*width (64..512 for the standard models; a Bottleneck outputs 4x its planes).
    torchvision's arguments: ``zero_init_residual`` starts each residual branch's last BN at
    weight 0 (every block the identity); ``groups`` and ``width_per_group`` widen or group the
    Bottleneck's 3x3 conv (ResNeXt, Wide ResNet); ``replace_stride_with_dilation`` (3 bools for
    layer2..4) keeps the resolution by dilating instead of striding; ``norm_layer`` replaces
    BatchNorm2d. Extras (keyword-only): ``in_channels``, ``width`` and ``small_input`` (a
    3x3/stride-1 stem and an Identity in the max-pool's place: same children, for small images).
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        layers: Sequence[int],
        num_classes: int = 1000,
        zero_init_residual: bool = False,
        groups: int = 1,
        width_per_group: int = 64,
        replace_stride_with_dilation: Sequence[bool] | None = None,
        norm_layer: Callable[..., nn.Module] | None = None,
        *,
        in_channels: int = 3,
        width: int = 64,
        small_input: bool = False,
    ) -> None:
        super().__init__()
        if len(layers) != 4:
            raise ValueError(f"ResNet: expected 4 stage sizes, got {list(layers)}")
        if replace_stride_with_dilation is None:
            replace_stride_with_dilation = [False, False, False]
        if len(replace_stride_with_dilation) != 3:
            raise ValueError(
                f"replace_stride_with_dilation should be None or a 3-element tuple, got {replace_stride_with_dilation}"
            )
        self._norm_layer = BatchNorm2d if norm_layer is None else norm_layer
        self.inplanes = width
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        if small_input:
            self.conv1 = Conv2d(in_channels, width, kernel_size=3, stride=1, padding=1, bias=False)
        else:
            self.conv1 = Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = self._norm_layer(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool: nn.Module = nn.Identity() if small_input else MaxPool2d(kernel_size=3, stride=2, padding=1)
        dilate = replace_stride_with_dilation
        self.layer1 = self._make_layer(block, width, layers[0])
        self.layer2 = self._make_layer(block, width * 2, layers[1], stride=2, dilate=dilate[0])
        self.layer3 = self._make_layer(block, width * 4, layers[2], stride=2, dilate=dilate[1])
        self.layer4 = self._make_layer(block, width * 8, layers[3], stride=2, dilate=dilate[2])
        self.avgpool = AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(width * 8 * block.expansion, num_classes)
        # torchvision's init: He-normal (fan_out) convs, BN as the identity map, fc as nn.Linear's own
        for m in self.modules():
            if isinstance(m, Conv2d):
                init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, BatchNorm2d):
                init.ones_(m.weight)
                init.zeros_(m.bias)
        if zero_init_residual:  # each residual branch starts at zero: every block is the identity map
            for m in self.modules():
                if isinstance(m, Bottleneck) and m.bn3.weight is not None:
                    init.zeros_(m.bn3.weight)
                elif isinstance(m, BasicBlock) and m.bn2.weight is not None:
                    init.zeros_(m.bn2.weight)

    def _make_layer(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        planes: int,
        blocks: int,
        stride: int = 1,
        dilate: bool = False,
    ) -> nn.Sequential:
        norm_layer = self._norm_layer
        downsample = None
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(
                _conv1x1(self.inplanes, planes * block.expansion, stride), norm_layer(planes * block.expansion)
            )
        layers = [
            block(
                self.inplanes, planes, stride, downsample, self.groups, self.base_width, previous_dilation, norm_layer
            )
        ]
        self.inplanes = planes * block.expansion
        for _ in range(1, blocks):
            layers.append(
                block(
                    self.inplanes,
                    planes,
                    groups=self.groups,
                    base_width=self.base_width,
                    dilation=self.dilation,
                    norm_layer=norm_layer,
                )
            )
        return nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = self.avgpool(x)
        return self.fc(x.flatten(1))


def resnet(
    num_blocks: Sequence[int] = (2, 2, 2, 2),
    width: int = 64,
    num_classes: int = 1000,
    in_channels: int = 3,
    small_input: bool = False,
    block: type[BasicBlock] | type[Bottleneck] = BasicBlock,
    **kwargs: Any,
) -> ResNet:
    """A ResNet of any depth and width, e.g. ``resnet([1, 1, 1, 1], width=16)`` (BasicBlocks by
    default; ``block=Bottleneck`` for the deeper kind). ``kwargs`` go to ``ResNet``."""
    return ResNet(
        block, num_blocks, num_classes, in_channels=in_channels, width=width, small_input=small_input, **kwargs
    )


def _no_download(name: str, weights: Any, kwargs: dict[str, Any]) -> None:
    """torchvision downloads pretrained weights for ``weights=`` (or the old ``pretrained=True``);
    nothing is downloaded here, so say where pretrained weights come from instead."""
    pretrained = kwargs.pop("pretrained", False)
    if weights is None and not pretrained:
        return
    asked = f"weights={weights!r}" if weights is not None else f"pretrained={pretrained!r}"
    raise ValueError(
        f"{name}({asked}): tinygrad_ko downloads nothing, so it has no pretrained weights to fetch. "
        f"Build the model with {name}() (weights=None) and load weights you have on disk: convert a "
        f"torchvision checkpoint once with `python -m tinygrad_ko convert {name}.pth {name}.safetensors`, "
        f'then `model.load_state_dict(tinygrad_ko.load("{name}.safetensors"))`.'
    )


def _resnet(
    name: str, block: type[BasicBlock] | type[Bottleneck], layers: list[int], weights: Any, kwargs: dict[str, Any]
) -> ResNet:
    _no_download(name, weights, kwargs)
    return ResNet(block, layers, **kwargs)


def resnet18(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-18 (He et al., 2015): BasicBlocks [2, 2, 2, 2]; 11,689,512 parameters for 1000 classes.

    Randomly initialised as torchvision does; ``weights`` must be None (nothing is downloaded:
    see the module docstring for loading a converted torchvision checkpoint). ``progress`` is
    accepted and ignored; ``kwargs`` go to ``ResNet`` (``num_classes=10``, ``in_channels=1``...).
    """
    return _resnet("resnet18", BasicBlock, [2, 2, 2, 2], weights, kwargs)


def resnet34(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-34: BasicBlocks [3, 4, 6, 3]; 21,797,672 parameters for 1000 classes (as ``resnet18``)."""
    return _resnet("resnet34", BasicBlock, [3, 4, 6, 3], weights, kwargs)


def resnet50(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-50 (v1.5, stride on the 3x3 conv): Bottlenecks [3, 4, 6, 3]; 25,557,032 parameters,
    2048 features before ``fc`` (as ``resnet18``)."""
    return _resnet("resnet50", Bottleneck, [3, 4, 6, 3], weights, kwargs)


def resnet101(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-101: Bottlenecks [3, 4, 23, 3]; 44,549,160 parameters (as ``resnet18``)."""
    return _resnet("resnet101", Bottleneck, [3, 4, 23, 3], weights, kwargs)


def resnet152(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNet-152: Bottlenecks [3, 8, 36, 3]; 60,192,808 parameters (as ``resnet18``)."""
    return _resnet("resnet152", Bottleneck, [3, 8, 36, 3], weights, kwargs)


def _variant(name: str, layers: list[int], groups: int, width_per_group: int, weights: Any, kwargs: dict) -> ResNet:
    kwargs["groups"] = groups
    kwargs["width_per_group"] = width_per_group
    return _resnet(name, Bottleneck, layers, weights, kwargs)


def resnext50_32x4d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-50 32x4d: ResNet-50 with 32 groups of 4 channels per group in each 3x3 conv."""
    return _variant("resnext50_32x4d", [3, 4, 6, 3], 32, 4, weights, kwargs)


def resnext101_32x8d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 32x8d: ResNet-101 with 32 groups of 8 channels per group in each 3x3 conv."""
    return _variant("resnext101_32x8d", [3, 4, 23, 3], 32, 8, weights, kwargs)


def resnext101_64x4d(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """ResNeXt-101 64x4d: ResNet-101 with 64 groups of 4 channels per group in each 3x3 conv."""
    return _variant("resnext101_64x4d", [3, 4, 23, 3], 64, 4, weights, kwargs)


def wide_resnet50_2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-50-2: ResNet-50 with Bottlenecks twice as wide inside (the outputs are the same)."""
    return _variant("wide_resnet50_2", [3, 4, 6, 3], 1, 128, weights, kwargs)


def wide_resnet101_2(*, weights: Any = None, progress: bool = True, **kwargs: Any) -> ResNet:
    """Wide ResNet-101-2: ResNet-101 with Bottlenecks twice as wide inside."""
    return _variant("wide_resnet101_2", [3, 4, 23, 3], 1, 128, weights, kwargs)


def resnet_small(num_classes: int = 1000, in_channels: int = 3, **kwargs: Any) -> ResNet:
    """A small ResNet for tests and quick runs: ``resnet([1, 1, 1, 1], width=16)``.

    The same BasicBlocks, stem and children as ResNet-18, one block per stage and stage widths
    16/32/64/128 instead of 64..512: about 0.31M parameters instead of 11.2M.
    """
    kwargs.setdefault("width", 16)
    return ResNet(BasicBlock, [1, 1, 1, 1], num_classes, in_channels=in_channels, **kwargs)
