"""Experiments on top of the model: single runs, sweeps, analysis and the CLI."""
