"""Evaluation on held-out procedural sequences: quality, flicker, drift, and the no-temporal ablation."""
