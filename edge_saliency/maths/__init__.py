"""The saliency maths: the one pre-processing (frame -> model input), the official post-processing, the metrics
and the MATLAB / PyTorch numerics they reproduce. numpy (+ OpenCV where an image is resized); no torch."""
