import json

from edge_saliency import system


def test_environment_is_json_ready_and_complete():
    env = system.environment()
    json.dumps(env)
    assert {"cpu", "gpu", "tensorrt", "onnxruntime", "jetson", "python"} <= set(env)
    assert env["onnxruntime"]


def test_stub_only_tensorrt_is_not_tensorrt(monkeypatch):
    import types

    monkeypatch.setitem(__import__("sys").modules, "tensorrt", types.ModuleType("tensorrt"))
    assert system.tensorrt_version() is None


def test_jetson_probe_reads_the_real_file_formats(monkeypatch):
    files = {
        "/proc/device-tree/model": "NVIDIA Jetson AGX Orin Developer Kit\x00",
        "/etc/nv_tegra_release": "# R35 (release), REVISION: 4.1, GCID: 33958178, BOARD: t186ref, EABI: aarch64",
    }
    outputs = {
        "dpkg-query": "5.1.2-b104",
        "nvpmodel": "NV Power Mode: MAXN\n0",
        "jetson_clocks": "SOC family:tegra234  Machine:Jetson AGX Orin\n"
                         "cpu0: Online=1 Governor=schedutil MinFreq=2201600 MaxFreq=2201600 CurrentFreq=2201600\n"
                         "cpu1: Online=1 Governor=schedutil MinFreq=729600 MaxFreq=2201600 CurrentFreq=1190400",
    }
    monkeypatch.setattr(system, "_read", lambda path: files.get(path))
    monkeypatch.setattr(system, "_run", lambda command, timeout=5.0: outputs.get(command[0]))
    info = system.jetson_info()
    assert (info.l4t, info.jetpack, info.power_mode) == ("35.4.1", "5.1.2", "MAXN")
    assert info.clocks_locked is False  # cpu1 runs below its maximum
    gpu = system._gpu_from_jetson()
    assert gpu.compute_capability == "8.7" and gpu.sm == 87


def jetson_env(**jetson):
    base = {"model": "NVIDIA Jetson Orin Nano", "l4t": "36.4.0", "jetpack": "6.1", "power_mode": "15W",
            "clocks_locked": True}
    return {"jetson": dict(base, **jetson), "cpu_governor": "schedutil"}


def test_benchmark_warnings_for_unlocked_or_unknown_jetson_clocks():
    assert system.performance_warnings(jetson_env()) == []  # locked clocks: the governor does not matter
    unlocked = system.performance_warnings(jetson_env(clocks_locked=False))
    assert any("sudo jetson_clocks" in w and "not locked" in w for w in unlocked)
    unknown = system.performance_warnings(jetson_env(clocks_locked=None, power_mode=None))
    assert any("could not tell" in w for w in unknown) and any("nvpmodel" in w for w in unknown)


def test_benchmark_warning_for_a_scaling_cpu_governor(monkeypatch):
    assert system.performance_warnings({"jetson": None, "cpu_governor": "performance"}) == []
    assert system.performance_warnings({"jetson": None, "cpu_governor": None}) == []  # a VM without cpufreq
    assert "'powersave'" in system.performance_warnings({"jetson": None, "cpu_governor": "powersave"})[0]
    files = {"/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor": "ondemand",
             "/sys/devices/system/cpu/cpu1/cpufreq/scaling_governor": "performance"}
    monkeypatch.setattr(system, "_read", lambda path: files.get(path))
    monkeypatch.setattr(system.os, "cpu_count", lambda: 2)
    assert system.cpu_governor() == "ondemand/performance"
