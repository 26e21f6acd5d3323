// BilinearUpsample_TRT as an IPluginV2DynamicExt for TensorRT 8.5 / 8.6 (JetPack 5.1 / 6.0), which have no
// IPluginV3. The same kernel and rules as plugin_v3.cpp; CMake compiles the one that fits the TensorRT found.
#include "plugin_common.h"

#if NV_TENSORRT_MAJOR < 10

// 8.x marks IPluginV2 / IPluginV2Ext TRT_DEPRECATED (NvInferRuntimeCommon.h:393 and :703 in 8.5.3) while
// IPluginCreator::createPlugin still returns IPluginV2*, the only plugin interface these versions have.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#include <cstring>
#include <new>

using namespace nvinfer1;

namespace es
{
namespace trt
{
namespace
{

class BilinearUpsamplePluginV2 : public IPluginV2DynamicExt
{
public:
    explicit BilinearUpsamplePluginV2(Params const& params)
        : mParams(params)
    {
    }

    // IPluginV2
    AsciiChar const* getPluginType() const noexcept override
    {
        return kPluginName;
    }
    AsciiChar const* getPluginVersion() const noexcept override
    {
        return kPluginVersion;
    }
    int32_t getNbOutputs() const noexcept override
    {
        return 1;
    }
    int32_t initialize() noexcept override
    {
        return 0;
    }
    void terminate() noexcept override {}
    size_t getSerializationSize() const noexcept override
    {
        return sizeof(Params);
    }
    void serialize(void* buffer) const noexcept override
    {
        std::memcpy(buffer, &mParams, sizeof(Params));
    }
    void destroy() noexcept override
    {
        delete this;
    }
    void setPluginNamespace(AsciiChar const* pluginNamespace) noexcept override
    {
        mNamespace = pluginNamespace != nullptr ? pluginNamespace : "";
    }
    AsciiChar const* getPluginNamespace() const noexcept override
    {
        return mNamespace.c_str();
    }

    // IPluginV2Ext
    DataType getOutputDataType(int32_t /*index*/, DataType const* inputTypes, int32_t nbInputs) const noexcept override
    {
        return nbInputs > 0 ? inputTypes[0] : DataType::kFLOAT;
    }

    // IPluginV2DynamicExt
    IPluginV2DynamicExt* clone() const noexcept override
    {
        auto* plugin = new (std::nothrow) BilinearUpsamplePluginV2(mParams);
        if (plugin != nullptr)
        {
            plugin->setPluginNamespace(mNamespace.c_str());
        }
        return plugin;
    }

    DimsExprs getOutputDimensions(
        int32_t outputIndex, DimsExprs const* inputs, int32_t nbInputs, IExprBuilder& exprBuilder) noexcept override
    {
        DimsExprs output{};
        std::string error;
        Dims rank{};
        rank.nbDims = nbInputs == 1 ? inputs[0].nbDims : 0;
        if (outputIndex != 0 || !check_io(nbInputs, 1, rank, error))
        {
            log_error(error.empty() ? std::string(kPluginName) + ": has one output" : error);
            return output;
        }
        bool const sized = mParams.output_height > 0 && mParams.output_width > 0;
        output.nbDims = 4;
        output.d[0] = inputs[0].d[0];
        output.d[1] = inputs[0].d[1];
        output.d[2] = output_dim(exprBuilder, *inputs[0].d[2], mParams.output_height, sized, mParams.scale_height, error);
        output.d[3] = output_dim(exprBuilder, *inputs[0].d[3], mParams.output_width, sized, mParams.scale_width, error);
        if (output.d[2] == nullptr || output.d[3] == nullptr)
        {
            log_error(error);
            output.nbDims = -1;
        }
        return output;
    }

    bool supportsFormatCombination(
        int32_t pos, PluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept override
    {
        if (inOut == nullptr || nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos > 1)
        {
            return false;
        }
        return supports_format(pos, inOut[pos], inOut[0]);
    }

    void configurePlugin(DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const* out,
        int32_t nbOutputs) noexcept override
    {
        std::string error;
        if (in == nullptr || out == nullptr || !check_io(nbInputs, nbOutputs, in[0].desc.dims, error))
        {
            log_error(error.empty() ? std::string(kPluginName) + ": no tensors to configure" : error);
        }
    }

    size_t getWorkspaceSize(PluginTensorDesc const* /*inputs*/, int32_t /*nbInputs*/,
        PluginTensorDesc const* /*outputs*/, int32_t /*nbOutputs*/) const noexcept override
    {
        return 0;
    }

    int32_t enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const* outputDesc, void const* const* inputs,
        void* const* outputs, void* /*workspace*/, cudaStream_t stream) noexcept override
    {
        return enqueue_resize(mParams, inputDesc[0], outputDesc[0], inputs[0], outputs[0], stream);
    }

private:
    Params mParams;
    std::string mNamespace;
};

class BilinearUpsamplePluginV2Creator : public IPluginCreator
{
public:
    AsciiChar const* getPluginName() const noexcept override
    {
        return kPluginName;
    }
    AsciiChar const* getPluginVersion() const noexcept override
    {
        return kPluginVersion;
    }
    PluginFieldCollection const* getFieldNames() noexcept override
    {
        return field_names();
    }

    IPluginV2* createPlugin(AsciiChar const* /*name*/, PluginFieldCollection const* fc) noexcept override
    {
        Params params;
        std::string error;
        if (!parse_fields(fc, params, error))
        {
            log_error(error);
            return nullptr;
        }
        auto* plugin = new (std::nothrow) BilinearUpsamplePluginV2(params);
        if (plugin != nullptr)
        {
            plugin->setPluginNamespace(mNamespace.c_str());
        }
        return plugin;
    }

    IPluginV2* deserializePlugin(AsciiChar const* /*name*/, void const* serialData, size_t serialLength) noexcept
        override
    {
        if (serialData == nullptr || serialLength != sizeof(Params))
        {
            log_error(std::string(kPluginName) + ": serialized data has the wrong size (engine from another version?)");
            return nullptr;
        }
        Params params;
        std::memcpy(&params, serialData, sizeof(Params));
        auto* plugin = new (std::nothrow) BilinearUpsamplePluginV2(params);
        if (plugin != nullptr)
        {
            plugin->setPluginNamespace(mNamespace.c_str());
        }
        return plugin;
    }

    void setPluginNamespace(AsciiChar const* pluginNamespace) noexcept override
    {
        mNamespace = pluginNamespace != nullptr ? pluginNamespace : "";
    }
    AsciiChar const* getPluginNamespace() const noexcept override
    {
        return mNamespace.c_str();
    }

private:
    std::string mNamespace;
};

} // namespace
} // namespace trt
} // namespace es

// Entry points read by TensorRT >= 8.6 when it loads the library itself (IPluginRegistry::loadLibrary, trtexec
// --dynamicPlugins, plugins serialized into a version-compatible engine), and by libedge_saliency_trt_autoregister.so
// (TensorRT 8.5, which has no loadLibrary). The library never registers itself when loaded: loadLibrary fails when
// one of a library's creators is already registered (NvInferRuntimeCommon.h:186 in 8.6). See docs/plugin.md.
extern "C" TENSORRTAPI __attribute__((visibility("default"))) IPluginCreator* const* getPluginCreators(
    int32_t& nbCreators)
{
    static es::trt::BilinearUpsamplePluginV2Creator creator;
    static IPluginCreator* const creators[] = {&creator};
    nbCreators = 1;
    return creators;
}

#if ES_TRT_VERSION_AT_LEAST(8, 6)
// ILoggerFinder first appears in 8.6 (NvInferRuntime.h:3816); 8.5 plugins report errors on stderr.
extern "C" TENSORRTAPI __attribute__((visibility("default"))) void setLoggerFinder(ILoggerFinder* finder)
{
    es::trt::set_logger_finder(finder);
}
#endif

#endif // NV_TENSORRT_MAJOR < 10
