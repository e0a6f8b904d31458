"""Colourising: photos (colorize, batch), colour control and hints, colour by example, video."""
