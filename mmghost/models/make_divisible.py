"""The channel rounding shared by the GhostNetV2 layers."""


def make_divisible(value: float, divisor: int = 4, min_ratio: float = 0.9) -> int:
    """Round ``value`` to the nearest multiple of ``divisor``, never losing more than ``1 - min_ratio``.

    This is the channel rounding of the official GhostNet code and timm (``_make_divisible``).

    Args:
        value: The unrounded channel count.
        divisor: The multiple to round to. Defaults to 4.
        min_ratio: The rounded value is at least ``min_ratio * value``. Defaults to 0.9.

    Returns:
        The rounded channel count.
    """
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < min_ratio * value:
        rounded += divisor
    return rounded
