"""``torch.backends.cudnn``: flags a script may set; tinygrad_ko has no cuDNN and ignores them."""

enabled = True
benchmark = False
deterministic = False


def is_available() -> bool:
    return False


def version() -> None:
    return None
