"""Maps for image files through the runners (``predict``, ``eval``) and the self-test of every inference path."""
