"""The speed layer: tuned NumPy kernels, off the reading path.

Each module works on plain NumPy arrays (nothing here imports the Tensor, autograd or ops
layers) and computes what a textbook op on the reading path computes, only faster:

- :mod:`.conv` -- conv2d forward and backward (im2col + BLAS, cache-sized blocks);
- :mod:`.pool` -- max and average pooling;
- :mod:`.batchnorm` -- fused training-mode batch norm;
- :mod:`.dense` -- the backwards of linear, relu and cross-entropy on arrays (the MLP's step);
- :mod:`.blas` -- ``y += alpha * x`` through the BLAS NumPy loaded (SGD's update);
- :mod:`.threads` -- elementwise kernels split across threads (Adam's and RMSprop's updates);
- :mod:`.alloc` -- glibc malloc thresholds that keep freed large buffers for reuse.

The ops that call them are in ``tinygrad_ko.ops.tuned``; ``tests/test_kernels.py`` checks each
kernel listed in a module's ``__all__`` against the reading path's version.
"""
