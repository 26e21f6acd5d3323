"""The streaming pipeline behind ``edge-saliency run``: capture -> pre-process -> infer -> post-process -> sinks in
threads with bounded queues, the latest-frame policy for live sources, batching and per-stage timing; the packet
each frame travels in, its reused buffers, frame geometry and views, and the end-of-run summary."""
