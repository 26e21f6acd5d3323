"""A window on the screen (OpenCV HighGUI), where the machine has a display."""
import os
import sys
from typing import Dict, Sequence, Tuple

from ..errors import UserError
from ..pipeline.frames import draw_hud
from ..pipeline.packet import Packet
from .sink import VIEWS, Sink, StreamInfo, _cv2


def display_available() -> Tuple[bool, str]:
    """(whether a window can open here, why not)."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False, "no display (DISPLAY is not set)"
    import re

    gui = re.search(r"GUI:\s*(\S+)", _cv2().getBuildInformation())
    if gui and gui.group(1).upper() == "NONE":
        return False, ("this OpenCV has no GUI (a headless build): pip install opencv-contrib-python instead of "
                       "opencv-contrib-python-headless")
    return True, ""


class WindowSink(Sink):
    """An OpenCV window per stream; q or Esc stops, h toggles the HUD."""

    def __init__(self, view: str = "overlay", title: str = "edge-saliency", hud: bool = True) -> None:
        if view not in VIEWS:
            raise UserError("--view must be one of {}, got {!r}".format(", ".join(VIEWS), view))
        self.view = view
        self.views = (view,)
        self.title = title
        self.hud = hud
        self._titles: Dict[int, str] = {}

    def describe(self) -> str:
        return "window"

    def open(self, streams: Sequence[StreamInfo]) -> None:
        """Check a display exists and name one window per stream."""
        ok, why = display_available()
        if not ok:
            raise UserError("cannot open a window: {}; run with --no-display".format(why))
        for stream in streams:
            self._titles[stream.index] = self.title if len(streams) == 1 else "{} [{}]".format(self.title, stream.uri)

    def write(self, packet: Packet) -> None:
        """Show the frame's view; ``q`` or Esc requests a stop, ``h`` toggles the HUD."""
        cv2 = _cv2()
        image = packet.views[self.view]
        if self.hud and packet.hud:
            image = draw_hud(image.copy(), packet.hud)
        cv2.imshow(self._titles[packet.stream], image)
        key = cv2.waitKey(1) & 0xFF
        if key in (27, ord("q")):
            self.stop_requested = True
        elif key == ord("h"):
            self.hud = not self.hud

    def finish(self, ok: bool = True) -> None:
        if self._titles:
            _cv2().destroyAllWindows()
