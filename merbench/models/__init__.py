"""Components layer: adapters, augmentation objectives, fusion encoders, heads, and whole models."""
