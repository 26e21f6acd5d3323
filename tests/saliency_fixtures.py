"""The tiny datasets the tests use are the package's documented examples (edge_saliency.data.examples,
docs/datasets.md): one writer per layout, each returning the 0-based (x, y) fixations its loader must give."""
from edge_saliency.data.examples import (  # noqa: F401  (re-exported for the tests)
    salicon_mat,
    write_cat2000,
    write_folder,
    write_mit1003,
    write_salicon,
)
