"""Network clients vs pipeline FPS: does watching the http output slow the pipeline? (target: <= 5 % loss)

The same video runs through the same pipeline (runner, sinks, settings) with an http output on 127.0.0.1 under
four conditions, interleaved in every round so that load from other processes falls on all of them alike:

- ``no-http``: no http output at all (for reference);
- ``0 clients``: the http output, nobody watching (the baseline of the ratios);
- ``1 stalled``: one client asks for /stream.mjpg and never reads (the server drops it after its timeout);
- ``20 clients``: 20 clients read /stream.mjpg (and decode nothing: the cost measured is the server's).

Each run is a file source read in full (every frame, in order: a fixed amount of work), so the FPS is frames /
wall time. The ratio of a condition is its median FPS over the rounds / the median FPS of ``0 clients``.

    python benchmarks/network_clients.py                       # classic backend, vtest.avi (or a sample clip)
    python benchmarks/network_clients.py --model lite.onnx     # an ONNX model instead

Results: benchmarks/results/network_clients.{json,md}, with the machine and its load.
"""
import argparse
import json
import os
import platform
import socket
import statistics
import sys
import tempfile
import threading
import time
from typing import Any, Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

CONDITIONS = ("no-http", "0 clients", "1 stalled", "20 clients")


def vtest() -> str:
    for folder in ("/usr/share/doc/opencv-doc/examples/data", "/usr/share/opencv4/samples/data"):
        path = os.path.join(folder, "vtest.avi")
        if os.path.exists(path):
            return path
    return ""


def client_process(port: int, readers: int, stalled: int, stop: Any, counts: Any) -> None:
    """``readers`` threads reading /stream.mjpg until ``stop``, plus ``stalled`` sockets that never read, in a
    process of their own (real viewers are on other machines: they must not share the pipeline's GIL)."""
    import http.client

    from edge_saliency.outputs.http_server import mjpeg_frames

    sockets = []
    for _ in range(stalled):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.connect(("127.0.0.1", port))
        s.sendall(b"GET /stream.mjpg HTTP/1.1\r\nHost: bench\r\n\r\n")
        sockets.append(s)

    def read(i: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request("GET", "/stream.mjpg")
        for _ in mjpeg_frames(connection.getresponse()):
            counts[i] += 1
            if stop.is_set():
                break
        connection.close()

    threads = [threading.Thread(target=read, args=(i,), daemon=True) for i in range(readers)]
    for thread in threads:
        thread.start()
    stop.wait(600)
    for thread in threads:
        thread.join(timeout=10)
    for s in sockets:
        s.close()


class Clients:
    """The client process of one run."""

    def __init__(self, port: int, readers: int, stalled: int) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.counts = context.Array("i", max(readers, 1))
        self.readers = readers
        self.process = context.Process(target=client_process, args=(port, readers, stalled, self.stop, self.counts),
                                       daemon=True)
        self.process.start()

    @property
    def frames(self) -> List[int]:
        return list(self.counts[:self.readers])

    def close(self) -> None:
        self.stop.set()
        self.process.join(timeout=30)
        if self.process.is_alive():
            self.process.kill()


def run_once(video: str, model: Any, condition: str, frames: int) -> Dict[str, Any]:
    from edge_saliency.capture.sources import open_source
    from edge_saliency.outputs.http_sink import HttpSink
    from edge_saliency.outputs.sink import OutputOptions
    from edge_saliency.pipeline.options import PipelineOptions
    from edge_saliency.pipeline.pipeline import Pipeline
    from edge_saliency.runners import create_runner

    runner = create_runner(model, "auto" if model else "classic", threads=max(1, (os.cpu_count() or 2) - 1))
    runner.activate()
    source = open_source(video)
    sinks: List[Any] = []
    http = None
    if condition != "no-http":
        http = HttpSink("127.0.0.1", 0, OutputOptions(client_timeout=2.0))
        sinks.append(http)
    pipeline = Pipeline([source], runner, sinks, PipelineOptions(max_frames=frames, policy="all"))
    clients: Any = None
    if http is not None and condition != "0 clients":
        # the server is up once the sink is open: start the clients from the first frame on
        original = http.open

        def open_and_connect(streams: Any) -> None:
            nonlocal clients
            original(streams)
            clients = Clients(http.port, 20 if condition == "20 clients" else 0, 1 if condition == "1 stalled" else 0)

        http.open = open_and_connect  # type: ignore[method-assign]
    cpu = time.process_time()
    try:
        summary = pipeline.run()
    finally:
        if clients is not None:
            clients.close()
        runner.deactivate()
        source.close()
    cpu_s = time.process_time() - cpu
    result = {"condition": condition, "fps": round(summary.fps, 3), "frames": summary.frames,
              "wall_s": summary.wall_s, "cpu_ms_per_frame": round(1000.0 * cpu_s / max(summary.frames, 1), 3),
              "load_1min": round(os.getloadavg()[0], 2)}
    if http is not None:
        result.update(encoded=http.state.counters["encoded"], dropped_clients=http.state.counters["clients_dropped"])
    if clients is not None and clients.frames:
        result["frames_per_client_min"] = min(clients.frames)
    return result


def render(report: Dict[str, Any]) -> str:
    lines = ["# Network clients vs pipeline FPS", "",
             "Pipeline FPS with an http output (`--output http://127.0.0.1:0`) and 0 clients, 1 stalled client, "
             "20 clients reading the MJPEG stream, as ratios to 0 clients (target >= 0.95). Produced by "
             "`benchmarks/network_clients.py`; the JSON beside this file has every run.", "",
             "- machine: {machine}".format(**report),
             "- load average (1 min) before / after: {} / {} (the CPUs are shared with other processes)".format(
                 report["load_before"][0], report["load_after"][0]),
             "- video: {video} ({frames} frames per run, every frame); backend: {backend}; http output: JPEG "
             "quality 80, at most 15 FPS to clients; {rounds} rounds, conditions interleaved".format(**report), "",
             "| condition | median FPS | FPS ratio to 0 clients | median CPU ms / frame | CPU ratio | runs (FPS @ "
             "load) |", "|---|---|---|---|---|---|"]
    for condition in CONDITIONS:
        runs = [r for r in report["runs"] if r["condition"] == condition]
        lines.append("| {} | {:.2f} | **{:.3f}** | {:.2f} | {:.3f} | {} |".format(
            condition, report["median_fps"][condition], report["ratios"][condition],
            report["median_cpu_ms"][condition], report["cpu_ratios"][condition],
            ", ".join("{:.1f} @ {}".format(r["fps"], r["load_1min"]) for r in runs)))
    lines += ["", "CPU ms / frame: this process's CPU time (pipeline and server; the clients run in another "
              "process) per frame, which other processes on the machine disturb far less than the FPS.",
              "", "Clients: {}.".format(report["clients_note"]), ""]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--video", help="video file (default: vtest.avi if installed, else a sample clip)")
    parser.add_argument("--model", help="ONNX model (default: the classic backend, no weights)")
    parser.add_argument("--frames", type=int, default=400, help="frames per run (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default %(default)s)")
    parser.add_argument("--out", default=os.path.join(HERE, "results", "network_clients"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        video = args.video or vtest()
        if not video:
            from edge_saliency.outputs.sample_clip import write_sample_clip

            video = write_sample_clip(os.path.join(folder, "clip.mp4"), frames=args.frames, size=(576, 768))
        load_before = [round(v, 2) for v in os.getloadavg()]
        runs = []
        for number in range(args.rounds):
            order = CONDITIONS[number % len(CONDITIONS):] + CONDITIONS[:number % len(CONDITIONS)]
            for condition in order:
                result = run_once(video, args.model, condition, args.frames)
                result["round"] = number
                runs.append(result)
                print(json.dumps(result), flush=True)
        load_after = [round(v, 2) for v in os.getloadavg()]
    medians = {c: statistics.median(r["fps"] for r in runs if r["condition"] == c) for c in CONDITIONS}
    cpu = {c: statistics.median(r["cpu_ms_per_frame"] for r in runs if r["condition"] == c) for c in CONDITIONS}
    stalled = [r for r in runs if r["condition"] == "1 stalled"]
    many = [r for r in runs if r["condition"] == "20 clients"]
    report = {
        "machine": "{} ({} logical CPUs), {}, Python {}".format(platform.processor() or platform.machine(),
                                                                 os.cpu_count(), platform.platform(),
                                                                 platform.python_version()),
        "video": os.path.basename(video), "frames": args.frames, "rounds": args.rounds,
        "backend": "ONNX Runtime: " + os.path.basename(args.model) if args.model else "classic (spectral residual)",
        "load_before": load_before, "load_after": load_after, "runs": runs, "median_fps": medians,
        "ratios": {c: round(medians[c] / medians["0 clients"], 3) for c in CONDITIONS},
        "median_cpu_ms": cpu, "cpu_ratios": {c: round(cpu[c] / cpu["0 clients"], 3) for c in CONDITIONS},
        "clients_note": "the stalled client was dropped in {} of {} runs; each of the 20 readers got at least {} "
                        "frames per run".format(sum(1 for r in stalled if r.get("dropped_clients")), len(stalled),
                                                min((r.get("frames_per_client_min", 0) for r in many), default=0)),
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out + ".json", "w") as f:
        json.dump(report, f, indent=2)
    with open(args.out + ".md", "w") as f:
        f.write(render(report))
    print(render(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
