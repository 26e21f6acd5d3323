"""``edge-saliency sample-clip OUT.mp4``: a real test clip made offline from scikit-image's photos."""
import argparse
from typing import Any

from ..errors import UserError
from .common import add_subcommand, parse_size


def register(subparsers: Any) -> None:
    parser = add_subcommand(
        subparsers, "sample-clip", run, help="write a test video: pans and zooms over scikit-image's photos",
        description="Write a real test clip without downloads: slow pans and zooms over the photos that "
                    "scikit-image ships (astronaut, coffee, cat, rocket). Needs scikit-image (the [dev] extra).")
    parser.add_argument("output", metavar="OUT", help="video file (.mp4, .mkv, .mov or .avi)")
    parser.add_argument("--frames", type=int, default=96, help="number of frames (default %(default)s)")
    parser.add_argument("--size", type=parse_size, default=(240, 320), metavar="HxW",
                        help="frame height x width (default 240x320)")
    parser.add_argument("--fps", type=float, default=24.0, help="frame rate (default %(default)s)")


def run(args: argparse.Namespace) -> int:
    from ..outputs.sample_clip import write_sample_clip
    from ..outputs.sink import check_fps
    from .run import quiet_opencv

    quiet_opencv(args.verbose)  # OpenCV's per-frame write warnings: the failure is reported as one line
    check_fps(args.fps)
    if args.frames < 1:
        raise UserError("--frames must be at least 1, got {}".format(args.frames))
    path = write_sample_clip(args.output, frames=args.frames, size=args.size, fps=args.fps)
    print("wrote {}: {} frames, {}x{} at {:g} fps".format(path, args.frames, args.size[1], args.size[0], args.fps))
    return 0
