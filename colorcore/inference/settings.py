"""Colourising settings the app needs before torch is loaded: the colour controls' limits and the
preview's size. Torch-free (imports nothing): `colour_control` and the app both read them here."""

SATURATION_MAX = 2.0  # the saturation control's upper end (1.0 leaves the model's colours as they are)
PREVIEW_LONG_SIDE = 1600  # long side, in pixels, of an edited photo's preview
