"""Who else used the machine while a cell ran: load averages, busy and stolen CPU time from /proc/stat, and the
warnings a reader of the numbers needs."""
import os
from typing import List, Optional, Tuple

from .. import system
from .schema import BenchResult

OTHER_CPU_WARNING = 0.2  # cores other processes used during a cell, on average, above which timings are flagged


def load_average() -> List[float]:
    """The 1, 5 and 15-minute load averages (empty where the system has none)."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def cpu_seconds() -> Optional[Tuple[float, float, float]]:
    """(busy CPU seconds of the whole machine since boot, seconds stolen by the hypervisor, CPU seconds of this
    process and its finished children), or None where /proc/stat is missing.
    Busy = user + nice + system + irq + softirq (steal apart)."""
    try:
        import resource

        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
        tick = float(os.sysconf("SC_CLK_TCK"))
        busy = (sum(fields[:3]) + fields[5] + fields[6]) / tick
        ours = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            ours += usage.ru_utime + usage.ru_stime
        return busy, fields[7] / tick, ours
    except (OSError, ValueError, IndexError, ImportError, AttributeError):
        return None


def other_cpu(before: Optional[Tuple[float, float, float]], after: Optional[Tuple[float, float, float]],
              wall: float) -> Tuple[Optional[float], Optional[float]]:
    """(CPU cores other processes used, CPU cores the hypervisor stole), on average between two
    :func:`cpu_seconds` readings ``wall`` seconds apart."""
    if before is None or after is None or wall <= 0:
        return None, None
    others = ((after[0] - before[0]) - (after[2] - before[2])) / wall
    return max(0.0, others), max(0.0, (after[1] - before[1]) / wall)


def run_warnings(result: BenchResult) -> List[str]:
    """What a reader of the numbers must know: the environment's warnings, a busy machine, few samples."""
    env = result.environment
    warnings = system.performance_warnings(env)
    cores = env.get("cpu_count") or 1
    others = [(c.other_cpu, c.id) for c in result.cells if c.other_cpu is not None]
    stolen = [(c.steal_cpu, c.id) for c in result.cells if c.steal_cpu is not None]
    if others and max(others)[0] >= OTHER_CPU_WARNING:
        warnings.append("other processes used up to {:.2f} of the {} CPUs while a cell ran ({}): timings on the CPU "
                        "are noisy; see each cell's 'other CPU'".format(max(others)[0], cores, max(others)[1]))
    if stolen and max(stolen)[0] >= OTHER_CPU_WARNING:
        warnings.append("the hypervisor took up to {:.2f} of the {} virtual CPUs while a cell ran ({}; steal time): "
                        "the cells had less CPU than the machine shows; see each cell's 'other CPU'".format(
                            max(stolen)[0], cores, max(stolen)[1]))
    if not others and env.get("load_before") and env["load_before"][0] >= 0.5 * cores:
        warnings.append("the machine was busy when the run started: 1-min load {:.2f} on {} CPUs (CPU timings are "
                        "noisy)".format(env["load_before"][0], cores))
    iterations = result.settings.get("iterations", 0)
    if iterations and iterations < 100:
        warnings.append("{} timed iterations per cell: p99 is interpolated between the largest samples; use "
                        "--iterations 100 or more for tail latencies".format(iterations))
    return warnings
