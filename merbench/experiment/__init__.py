"""Experiments layer: recipes and grids, run identity, MLflow tracking, resume, executors."""
