"""Neural-network building blocks, shaped like ``torch.nn``: ``from tinygrad_ko import nn``."""

from . import functional, init
from .layers import (
    Dropout,
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
from .loss import BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, L1Loss, MSELoss, NLLLoss
from .module import Module
from .parameter import Parameter

# >>> conv helper's exports go here (Conv2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, BatchNorm1d,
# >>> BatchNorm2d, ...); wired in by the lead, e.g. ``from .conv import Conv2d, MaxPool2d``.

__all__ = [
    "functional", "init", "Module", "Parameter",
    "Linear", "Identity", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Softplus",
    "Flatten", "Unflatten", "Dropout", "Sequential", "ModuleList",
    "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
]
