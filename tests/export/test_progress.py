"""Progress display: log lines with durations when stderr is not a terminal."""
import logging

import pytest

from edge_saliency.export.progress import Step


def test_steps_log_start_and_duration(caplog):
    with caplog.at_level(logging.INFO, logger="edge_saliency"):
        with Step("simplifying") as step:
            step.update(1, 2)
        with Step("calibrating"):
            pass
    assert step.seconds >= 0
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "simplifying ..." and messages[1].startswith("simplifying: done in ")
    assert messages[2] == "calibrating ..." and messages[3].startswith("calibrating: done in ")


def test_a_failed_step_does_not_claim_success(caplog):
    with caplog.at_level(logging.INFO, logger="edge_saliency"), pytest.raises(RuntimeError):
        with Step("exporting"):
            raise RuntimeError("boom")
    assert [r.getMessage() for r in caplog.records] == ["exporting ..."]
