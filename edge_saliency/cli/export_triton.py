"""``edge-saliency export-triton``: an engine or ONNX file as a Triton Inference Server model repository."""
import argparse
import logging
from typing import Any

from .common import add_subcommand

log = logging.getLogger("edge_saliency")


def register(subparsers: Any) -> None:
    parser = add_subcommand(subparsers, "export-triton", run,
                            help="write a Triton model repository entry for an engine or ONNX file")
    parser.add_argument("artifact", help="a built .engine (with its sidecar) or an .onnx file; an ONNX Runtime "
                                         "artifact (.ort.onnx, optimised for this machine) is replaced by the ONNX "
                                         "file it was built from")
    parser.add_argument("repository", help="Triton model repository folder")
    parser.add_argument("--name", help="model name (default: from the file name)")
    parser.add_argument("--max-batch-size", type=int, default=8,
                        help="dynamic batching up to this size when the batch dimension is dynamic (default 8)")
    parser.add_argument("--instances", type=int, default=1, help="model instances per device (default 1)")
    parser.add_argument("--device", choices=("gpu", "cpu"), default="gpu",
                        help="ONNX models: run on the server's GPUs (default) or CPUs; engines are GPU only")
    parser.add_argument("--queue-delay-us", type=int, default=100, help="dynamic batching queue delay (default 100)")
    parser.add_argument("--allow-host-code", action="store_true", help="accept a version-compatible engine")
    parser.add_argument("--force", action="store_true", help="replace an existing model folder")


def run(args: argparse.Namespace) -> int:
    from ..engine.triton import export_triton

    target, notes = export_triton(args.artifact, args.repository, name=args.name,
                                  max_batch_size=args.max_batch_size, instances=args.instances,
                                  queue_delay_us=args.queue_delay_us, force=args.force,
                                  allow_host_code=args.allow_host_code, device=args.device)
    print("wrote {}".format(target))
    for note in notes:
        log.warning(note)
    return 0
