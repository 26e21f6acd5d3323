// libedge_saliency_trt_autoregister.so: registers the plugin library's creators with TensorRT's global plugin
// registry when it is loaded, for hosts that can only dlopen a library and expect it to register itself:
// TensorRT 8.5 (no IPluginRegistry::loadLibrary; trtexec --plugins only dlopens), Triton's TensorRT backend
// (backend option plugins=, or LD_PRELOAD), DeepStream.
//
// It reads the creators through libedge_saliency_trt_plugin.so's own entry points (getCreators on TensorRT >= 10,
// getPluginCreators on 8.x), so both libraries hand TensorRT the same creator objects. Never load this library in
// a process that also loads libedge_saliency_trt_plugin.so with loadLibrary into the same registry: the second
// registration is refused (NvInferRuntimeCommon.h:186 in 8.6, :206 in 10.16). See docs/plugin.md.
#include <NvInferRuntime.h>

#include <cstdint>
#include <cstdio>

#if NV_TENSORRT_MAJOR >= 10
using CreatorInterface = nvinfer1::IPluginCreatorInterface;
extern "C" CreatorInterface* const* getCreators(int32_t& nbCreators);
#define ES_PLUGIN_CREATORS getCreators
#else
using CreatorInterface = nvinfer1::IPluginCreator;
extern "C" CreatorInterface* const* getPluginCreators(int32_t& nbCreators);
#define ES_PLUGIN_CREATORS getPluginCreators
#endif

namespace
{

struct Registrar
{
    Registrar() noexcept
    {
        nvinfer1::IPluginRegistry* registry = getPluginRegistry();
        int32_t count = 0;
        CreatorInterface* const* creators = ES_PLUGIN_CREATORS(count);
        if (registry == nullptr || creators == nullptr)
        {
            std::fprintf(stderr, "edge-saliency: libedge_saliency_trt_autoregister.so: no TensorRT plugin registry\n");
            return;
        }
        for (int32_t i = 0; i < count; ++i)
        {
            if (creators[i] == nullptr || !registry->registerCreator(*creators[i], ""))
            {
                std::fprintf(stderr,
                    "edge-saliency: libedge_saliency_trt_autoregister.so: TensorRT refused creator %d of "
                    "libedge_saliency_trt_plugin.so (already registered: was the plugin library also loaded with "
                    "IPluginRegistry::loadLibrary?)\n",
                    static_cast<int>(i));
            }
        }
    }
};

Registrar const gRegistrar{};

} // namespace
