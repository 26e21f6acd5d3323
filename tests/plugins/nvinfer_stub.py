"""Stand-ins for TensorRT installs, made from NVIDIA's real headers, so that CMake can build and link the plugin
against every header version on a machine without TensorRT.

Each root is ``<root>/include`` (a link to the version's real headers) and ``<root>/lib/libnvinfer.so.<major>``
(with the ``libnvinfer.so`` link, as TensorRT's packages lay it out): a stub that defines exactly the C functions
those headers declare for libnvinfer, each aborting if called. A library linked with ``-Wl,--no-undefined``
against it can therefore only use what the real libnvinfer of that version exports through its headers.
"""
import os
import re
import shutil
import subprocess
from typing import List

# the headers of libnvinfer itself (not of libnvinfer_plugin, libnvonnxparser or the safety runtime)
NVINFER_HEADERS = ("NvInfer.h", "NvInferRuntime.h", "NvInferRuntimeCommon.h", "NvInferRuntimeBase.h",
                   "NvInferRuntimePlugin.h", "NvInferPluginBase.h")
_DECLARATION = re.compile(r'extern\s+"C"\s+TENSORRTAPI\s+[^;{(]*?\b(\w+)\s*\(')
_MAJOR = re.compile(r"define\s+(?:NV_TENSORRT_MAJOR|TRT_MAJOR_ENTERPRISE)\s+(\d+)")


def declared_functions(include: str) -> List[str]:
    """The ``extern "C" TENSORRTAPI`` functions the libnvinfer headers of one version declare."""
    names = set()
    for header in NVINFER_HEADERS:
        path = os.path.join(include, header)
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as f:
                names.update(_DECLARATION.findall(f.read()))
    return sorted(names)


def tensorrt_major(include: str) -> int:
    with open(os.path.join(include, "NvInferVersion.h"), encoding="utf-8") as f:
        return int(_MAJOR.search(f.read()).group(1))


def make_root(include: str, root: str) -> List[str]:
    """A TensorRT root for CMake (``include/`` + stub ``lib/libnvinfer.so``); returns the stub's symbols."""
    os.makedirs(os.path.join(root, "lib"), exist_ok=True)
    link = os.path.join(root, "include")
    if not os.path.exists(link):
        os.symlink(include, link)
    names = declared_functions(include)
    source = os.path.join(root, "nvinfer_stub.c")
    with open(source, "w", encoding="utf-8") as f:
        f.write("/* generated from {}: the C functions its libnvinfer headers declare */\n".format(include))
        f.write("#include <stdlib.h>\n")
        for name in names:
            f.write("void {}(void) {{ abort(); }}\n".format(name))
    soname = "libnvinfer.so.{}".format(tensorrt_major(include))
    cc = shutil.which("cc") or shutil.which("gcc") or "cc"
    subprocess.run([cc, "-shared", "-fPIC", "-o", os.path.join(root, "lib", soname), source,
                    "-Wl,-soname," + soname], check=True)
    dev_link = os.path.join(root, "lib", "libnvinfer.so")
    if not os.path.lexists(dev_link):
        os.symlink(soname, dev_link)
    return names


def dynamic_symbols(library: str, undefined: bool) -> List[str]:
    """The dynamic symbols a shared library defines (or, ``undefined``, needs), by name (binutils nm)."""
    flag = "--undefined-only" if undefined else "--defined-only"
    out = subprocess.run(["nm", "-D", flag, library], stdout=subprocess.PIPE, text=True, check=True).stdout
    names = []
    for line in out.splitlines():
        parts = line.split()
        if parts:
            names.append(parts[-1].split("@")[0])
    return sorted(set(names))


def needed_libraries(library: str) -> List[str]:
    """DT_NEEDED entries of a shared library (binutils readelf)."""
    out = subprocess.run(["readelf", "-d", library], stdout=subprocess.PIPE, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)
