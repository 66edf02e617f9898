"""Training recipes: the autoencoder, then RAIN's stages (images, temporal pile, few-step)."""
