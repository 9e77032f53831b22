"""Neural-network building blocks, shaped like ``torch.nn``: ``from tinygrad_ko import nn``."""

from . import functional, init, utils
from .activation import CELU, ELU, GELU, Hardswish, Hardtanh, Mish, ReLU6, SiLU, Softsign
from .conv import AdaptiveAvgPool2d, AvgPool2d, Conv1d, Conv2d, ConvTranspose2d, MaxPool2d
from .layers import (
    Dropout,
    Dropout2d,
    Flatten,
    Identity,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ModuleList,
    ReLU,
    Sequential,
    Sigmoid,
    Softmax,
    Softplus,
    Tanh,
    Unflatten,
)
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, KLDivLoss, L1Loss, MSELoss, NLLLoss, SmoothL1Loss
from .module import Module
from .normalization import BatchNorm1d, BatchNorm2d, LayerNorm
from .parameter import Parameter
from .sparse import Embedding

__all__ = [
    "functional",
    "init",
    "Module",
    "Parameter",
    "Linear",
    "Identity",
    "ReLU",
    "LeakyReLU",
    "Sigmoid",
    "Tanh",
    "Softmax",
    "LogSoftmax",
    "Softplus",
    "Flatten",
    "Unflatten",
    "Dropout",
    "Sequential",
    "ModuleList",
    "Conv1d",
    "Conv2d",
    "ConvTranspose2d",
    "MaxPool2d",
    "AvgPool2d",
    "AdaptiveAvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "LayerNorm",
    "Embedding",
    "Dropout2d",
    "MSELoss",
    "L1Loss",
    "CrossEntropyLoss",
    "NLLLoss",
    "BCELoss",
    "BCEWithLogitsLoss",
    "GELU",
    "SiLU",
    "ELU",
    "CELU",
    "Hardtanh",
    "ReLU6",
    "Hardswish",
    "Mish",
    "Softsign",
    "SmoothL1Loss",
    "KLDivLoss",
]
