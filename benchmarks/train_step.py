"""Throughput of one EML-Net training step (forward, EML loss, backward, SGD step) of the headline model.

Stages timed, each in a fresh subprocess (so peak memory is per stage):
  stage1-densenet161   the DenseNet-161 stage-1 model (backbone + 5 readouts + head), all trained
  stage1-nasnetalarge  the NASNet-Large stage-1 model, all trained
  stage2               both encoders frozen (no autograd), the fusion decoder trained
Baseline, measured in the same process, alternating with the steps: one inference forward of the same
model (eval, no_grad); the table reports step time / forward time. Random weights (timing does not
depend on them), random inputs.

    python benchmarks/train_step.py                      # 480x640, batch 1, 3 timed steps after 1 warm-up
    python benchmarks/train_step.py --size 240x320 --batch 2 --out benchmarks/results/train_step_240.md
"""
import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

STAGES = ("stage1-densenet161", "stage1-nasnetalarge", "stage2")
PRESET = "emlnet-densenet161-nasnetlarge"


def _one(stage, size, batch, steps, warmup):
    import torch

    from edge_saliency.models import resolve_config
    from edge_saliency.models.emlnet import EMLNet
    from edge_saliency.training.loss import EMLLoss
    from edge_saliency.training.stages import freeze_encoders, set_train_mode, stage1_config
    from edge_saliency.training.steps import StageForward, grad_scaler, train_step

    torch.manual_seed(0)
    config = resolve_config(PRESET, input_size=size)
    number = 2 if stage == "stage2" else 1
    if number == 1:
        config = stage1_config(config, stage.split("-", 1)[1])
    model = EMLNet(config)
    if number == 2:
        freeze_encoders(model)
    x = torch.rand(batch, 3, *size)
    fixations = (torch.rand(batch, 1, *size) > 0.999).float()
    density = torch.nn.functional.avg_pool2d(fixations, 31, stride=1, padding=15) + 1e-3

    set_train_mode(model, number)
    forward = StageForward(model, number)
    params = [p for p in forward.trained.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=1e-4)
    criterion, scaler = EMLLoss(), grad_scaler(False)
    # forwards and steps interleaved, so that both see the same load from other jobs on the machine
    forward_times, step_times = [], []
    for i in range(warmup + steps):
        model.eval()
        start = time.perf_counter()
        with torch.no_grad():
            model(x)
        forward_time = time.perf_counter() - start
        set_train_mode(model, number)
        start = time.perf_counter()
        loss = train_step(forward, criterion, optimizer, scaler, x, fixations, density)
        float(loss)
        if i >= warmup:
            forward_times.append(forward_time)
            step_times.append(time.perf_counter() - start)
    return {
        "stage": stage,
        "trained_parameters": sum(p.numel() for p in params),
        "step_s": statistics.median(step_times),
        "step_s_all": [round(t, 3) for t in step_times],
        "forward_s": statistics.median(forward_times),
        "forward_s_all": [round(t, 3) for t in forward_times],
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2 ** 20,
    }


def _machine():
    import torch

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "python": platform.python_version(), "load_average_before": os.getloadavg()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="480x640")
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--stages", default=",".join(STAGES))
    parser.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "results",
                                                      "train_step_cpu.md"))
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--render", metavar="JSON", help="re-render the markdown of a saved result JSON")
    args = parser.parse_args()
    if args.render:
        with open(args.render) as f:
            text = render(json.load(f))
        with open(args.render[:-5] + ".md", "w") as f:
            f.write(text)
        print(text)
        return
    size = tuple(int(v) for v in args.size.split("x"))
    if args.one:
        print(json.dumps(_one(args.one, size, args.batch, args.steps, args.warmup)))
        return
    machine = _machine()
    rows = []
    for stage in args.stages.split(","):
        command = [sys.executable, os.path.abspath(__file__), "--one", stage, "--size", args.size, "--batch",
                   str(args.batch), "--steps", str(args.steps), "--warmup", str(args.warmup)]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
        rows.append(json.loads(out.strip().splitlines()[-1]))
        print(json.dumps(rows[-1]), flush=True)
    machine["load_average_after"] = os.getloadavg()
    result = {"machine": machine, "size": list(size), "batch": args.batch, "steps": args.steps,
              "warmup": args.warmup, "rows": rows}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out[:-3] + ".json", "w") as f:
        json.dump(result, f, indent=2)
    text = render(result)
    with open(args.out, "w") as f:
        f.write(text)
    print(text)


def render(result):
    """The markdown table of a result (also: ``--render results.json`` re-renders a saved run)."""
    machine, batch = result["machine"], result["batch"]
    size = "{}x{}".format(*result["size"])
    lines = [
        "# One training step of {} at {}, batch {}".format(PRESET, size, batch), "",
        "Machine: {cpu}, {cores} cores, torch {torch} ({threads} threads), Python {python}. Shared with other "
        "developers' jobs while it ran (load average {before} before, {after} after), so absolute times are "
        "noisy: the fastest step is the best estimate of the uncontended cost. Medians and minima over "
        "{steps} steps after {warmup} warm-up.".format(
            before=", ".join("{:.1f}".format(v) for v in machine["load_average_before"]),
            after=", ".join("{:.1f}".format(v) for v in machine["load_average_after"]),
            steps=result["steps"], warmup=result["warmup"], **machine), "",
        "Step = forward + EML loss + backward + SGD step (momentum, weight decay), float32. Baseline = one "
        "inference forward of the same model (eval, no_grad) in the same process.", "",
        "| stage | trained params | step (s): median / fastest | images/s (fastest step) | inference forward (s): "
        "median / fastest | step / forward (fastest) | peak RSS (GiB) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in result["rows"]:
        step, forward = min(r["step_s_all"]), min(r["forward_s_all"])
        lines.append("| {} | {:,} | {:.2f} / {:.2f} | {:.3f} | {:.2f} / {:.2f} | {:.1f}x | {:.1f} |".format(
            r["stage"], r["trained_parameters"], r["step_s"], step, batch / step, r["forward_s"], forward,
            step / forward, r["peak_rss_gib"]))
    lines += ["", "Command: `python benchmarks/train_step.py --size {} --batch {} --steps {} --warmup {}`".format(
        size, batch, result["steps"], result["warmup"]), ""]
    return "\n".join(lines)

if __name__ == "__main__":
    main()
