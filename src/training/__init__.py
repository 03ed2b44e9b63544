"""Training and evaluation: the data, the trainers of the flow and the GANs, their plots, the
Fashion-MNIST classifier behind FD-FMNIST, and the benchmark. ``main.py`` and ``evaluate.py``
are the commands; nothing here grades."""
