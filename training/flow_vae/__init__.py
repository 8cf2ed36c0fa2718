"""The Flow-VAE family (Lanusse et al. 2020): a ResNet VAE trained through the PSF and
noise model, plus a conditional Masked Autoregressive Flow in its latent space."""
