"""ColorCore: edge- and saliency-guided multi-path GAN colourisation engine (no Qt here)."""

__version__ = "0.1.0"
