"""Where frames come from: source URIs (files, cameras, network streams, CSI and GStreamer pipelines, images),
the decoders that read them, and the checks that name a damaged file. OpenCV loads inside the functions that
use it; everything here runs on Python 3.8 (JetPack 5)."""
