"""``edge-saliency bench MODEL``: latency, memory, frame-path stages, pipeline rate and accuracy over backend ×
precision × size × batch; ``--compare A.json B.json``: the ratio table between two runs."""
import argparse
import sys
from typing import Any

from ..errors import UserError
from ..vocabulary import ENGINE_DIR, MODEL_BACKENDS, PRECISIONS, expand_precisions
from .common import (
    add_device_argument,
    add_export_weights_arguments,
    add_plugin_argument,
    add_subcommand,
    backbone_weights,
    parse_size,
)

DESCRIPTION = """Benchmark a model over backend (onnxruntime, tensorrt, torch) × precision (fp32, fp16, int8) ×
input size × batch. Each cell runs in its own process: warm-up, then timed iterations on real video frames
(CUDA events for TensorRT and PyTorch on the GPU, perf_counter otherwise): mean, p50, p90, p99, min, max,
frames/s, peak RSS and device memory; the stages of the full frame path (decode, pre-process, copy-in, infer,
copy-out, post-process) and the streaming pipeline's rate on the video, and the stages again over the video
scaled to each --frame-sizes source size, as ratios to inference; and CC / KLD / SIM of its maps vs the
fp32 reference. Cells this machine cannot run are listed as skipped, with the reason. Writes OUT.json
(schema-versioned), OUT.csv, OUT.md and OUT.png. MODEL: a preset, config .json or saved .safetensors (exported
to ONNX per size into --work-dir, then reused), or an exported .onnx file (its -fp16 / -int8 siblings are
used)."""


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "bench", run, help="latency / accuracy benchmark over backends, precisions, "
                                                          "sizes and batches", description=DESCRIPTION)
    parser.add_argument("model", nargs="?", metavar="MODEL",
                        help="a preset (see 'edge-saliency models'), a config .json, a saved .safetensors model, or "
                             "an exported .onnx file")
    parser.add_argument("--compare", nargs=2, metavar=("A.json", "B.json"),
                        help="print the ratio table B / A of two results and exit")
    matrix = parser.add_argument_group("matrix")
    matrix.add_argument("--backend", nargs="+", default=list(MODEL_BACKENDS), choices=MODEL_BACKENDS, metavar="B",
                        help="onnxruntime, tensorrt and/or torch (default: all three)")
    matrix.add_argument("--precision", nargs="+", default=["all"], choices=PRECISIONS + ("all",),
                        metavar="P", help="fp32, fp16, int8 or all (default: all)")
    matrix.add_argument("--size", nargs="+", type=parse_size, default=[], metavar="HxW",
                        help="input sizes, multiples of 32 (default: the model's, e.g. 480x640)")
    matrix.add_argument("--batch", nargs="+", type=int, default=[1], metavar="N",
                        help="batch sizes (default: 1; above 1 needs a dynamic ONNX, exported automatically for a "
                             "preset)")
    add_device_argument(matrix, "ONNX Runtime / PyTorch device (TensorRT always runs on the GPU)")
    matrix.add_argument("--threads", type=int, metavar="N",
                        help="ONNX Runtime / PyTorch CPU threads (default: every CPU core)")
    matrix.add_argument("--baseline", default="torch:fp32", metavar="BACKEND:PRECISION",
                        help="the cell the p50 ratios are relative to, at each size and batch (default %(default)s)")
    timing = parser.add_argument_group("timing")
    timing.add_argument("--warmup", type=int, default=10, metavar="N", help="untimed batches per cell (default 10)")
    timing.add_argument("--iterations", type=int, default=100, metavar="N",
                        help="timed batches per cell (default 100)")
    timing.add_argument("--video", metavar="CLIP",
                        help="the real video every cell reads (default: vtest.avi from opencv-doc when installed, "
                             "else a sample clip of scikit-image photos)")
    timing.add_argument("--accuracy-frames", type=int, default=8, metavar="N",
                        help="video frames for the accuracy column (default 8)")
    timing.add_argument("--stage-frames", type=int, default=30, metavar="N",
                        help="video frames for the per-stage latencies (default 30; 0: skip, --frame-sizes too)")
    timing.add_argument("--frame-sizes", nargs="*", metavar="HxW",
                        help="source sizes the frame-path stages are also timed at, each stage as a ratio to "
                             "inference: the video's frames scaled to each size (default 480x640 720x1280 "
                             "1080x1920; nothing or 'none': skip)")
    timing.add_argument("--pipeline-frames", type=int, default=60, metavar="N",
                        help="video frames through the streaming pipeline (default 60; 0: skip)")
    files = parser.add_argument_group("files")
    files.add_argument("-o", "--output", default="bench-results/bench", metavar="OUT",
                       help="output prefix: OUT.json, OUT.csv, OUT.md, OUT.png (default %(default)s)")
    files.add_argument("--no-plot", action="store_true", help="skip the PNG plot")
    files.add_argument("--work-dir", default="bench-models", metavar="DIR",
                       help="where a preset's ONNX exports go and are reused from (default %(default)s)")
    files.add_argument("--engine-dir", default=ENGINE_DIR, metavar="DIR",
                       help="TensorRT engine cache (default %(default)s)")
    files.add_argument("--calib", metavar="SOURCE",
                       help="int8 calibration frames for the export (default: the built-in photos)")
    add_plugin_argument(files)
    add_export_weights_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from ..bench.report import compare, markdown, write_outputs
    from ..bench.schema import load_result

    if args.compare:
        a, b = (load_result(path) for path in args.compare)
        print(compare(a, b, names=args.compare))
        return 0
    if not args.model:
        raise UserError("give a MODEL to benchmark (a preset, .safetensors, config .json or .onnx), or --compare "
                        "A.json B.json")
    from ..bench.loop import run_benchmark
    from ..bench.options import BenchOptions
    from ..bench.source_sizes import DEFAULT_FRAME_SIZES

    precisions = expand_precisions(args.precision)
    options = BenchOptions(
        model=args.model, backends=list(dict.fromkeys(args.backend)), precisions=precisions,
        sizes=list(dict.fromkeys(args.size)), batches=list(dict.fromkeys(args.batch)), device=args.device,
        threads=args.threads, warmup=args.warmup, iterations=args.iterations, video=args.video,
        accuracy_frames=args.accuracy_frames, stage_frames=args.stage_frames, pipeline_frames=args.pipeline_frames,
        frame_sizes=DEFAULT_FRAME_SIZES if args.frame_sizes is None else args.frame_sizes,
        weights=args.weights, pretrained=args.pretrained, backbone_weights=backbone_weights(args.backbone_weights),
        seed=args.seed, calibration=args.calib, work_dir=args.work_dir, engine_dir=args.engine_dir,
        plugins=args.plugin, baseline=args.baseline)
    # the command line, when this process was started as `edge-saliency bench ...` (not from Python)
    command = " ".join(["edge-saliency"] + sys.argv[1:]) if "bench" in sys.argv[1:3] else ""
    result = run_benchmark(options, command=command)
    written, notes = write_outputs(result, args.output, plot=not args.no_plot)
    print()
    print(markdown(result))
    for note in notes:
        print("note: {}".format(note))
    for path in written:
        print("wrote {}".format(path))
    return 0
