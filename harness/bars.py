"""The bars the shipped weights must clear: shared by bench/model_card.py and tests/test_shipped_weights.py."""

# The tutorial's recipe ported faithfully to PyTorch (issue #2): (input noise factor, BCE <=, PSNR >=, SSIM >=).
BARS = {
    "basic_ae": (0.0, 0.1002, 19.77, 0.831),
    "dense_dae": (0.5, 0.1414, 16.24, 0.634),
    "conv_dae": (0.5, 0.1003, 19.46, 0.844),
}
TARGET_PSNR = {"basic_ae": 25.0, "dense_dae": 17.2, "conv_dae": 20.5}
