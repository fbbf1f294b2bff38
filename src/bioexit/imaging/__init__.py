"""Safe image input: JPEG, PNG and JPEG 2000 bytes or files, and NumPy frames.

Every function returns an upright, C-contiguous H×W×3 uint8 RGB array
(:data:`bioexit.detection.types.RGBImage`) or raises a subclass of
:class:`bioexit.errors.ImageError`. Signature, byte cap, pixel cap and completeness are
checked before any pixel is decoded; see :mod:`bioexit.imaging.decode`.
"""

from bioexit.imaging.decode import decode_image, from_array, read_image

__all__ = ["decode_image", "from_array", "read_image"]
