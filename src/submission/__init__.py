"""The code a student writes: the MAF (flow_network.py) and the GAN losses (gan.py)."""
