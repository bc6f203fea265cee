"""Encoders layer: frozen backbones turning a waveform or a text into a sequence ``[T, d]``."""
