// BilinearUpsample_TRT as an IPluginV3 (IPluginV3OneCore / OneBuild / OneRuntime) for TensorRT >= 10.
// The same kernel as the V2 plugin (plugin_v2.cpp, TensorRT 8.5 / 8.6); CMake compiles the one that fits.
#include "plugin_common.h"

#if NV_TENSORRT_MAJOR >= 10

#include <memory>

using namespace nvinfer1;

namespace es
{
namespace trt
{
namespace
{

class BilinearUpsamplePlugin : public IPluginV3,
                               public IPluginV3OneCore,
                               public IPluginV3OneBuild,
                               public IPluginV3OneRuntime
{
public:
    explicit BilinearUpsamplePlugin(Params const& params)
        : mParams(params)
        , mDescription(describe(params))
    {
    }

    // IPluginV3
    IPluginCapability* getCapabilityInterface(PluginCapabilityType type) noexcept override
    {
        switch (type)
        {
        case PluginCapabilityType::kCORE: return static_cast<IPluginV3OneCore*>(this);
        case PluginCapabilityType::kBUILD: return static_cast<IPluginV3OneBuild*>(this);
        case PluginCapabilityType::kRUNTIME: return static_cast<IPluginV3OneRuntime*>(this);
        }
        return nullptr;
    }

    IPluginV3* clone() noexcept override
    {
        return new (std::nothrow) BilinearUpsamplePlugin(mParams);
    }

    // IPluginV3OneCore
    AsciiChar const* getPluginName() const noexcept override
    {
        return kPluginName;
    }
    AsciiChar const* getPluginVersion() const noexcept override
    {
        return kPluginVersion;
    }
    AsciiChar const* getPluginNamespace() const noexcept override
    {
        return "";
    }

    // IPluginV3OneBuild
    int32_t configurePlugin(DynamicPluginTensorDesc const* in, int32_t nbInputs, DynamicPluginTensorDesc const* out,
        int32_t nbOutputs) noexcept override
    {
        std::string error;
        if (in == nullptr || out == nullptr || !check_io(nbInputs, nbOutputs, in[0].desc.dims, error))
        {
            log_error(error.empty() ? std::string(kPluginName) + ": no tensors to configure" : error);
            return 1;
        }
        return 0;
    }

    int32_t getOutputDataTypes(
        DataType* outputTypes, int32_t nbOutputs, DataType const* inputTypes, int32_t nbInputs) const noexcept override
    {
        if (nbOutputs != 1 || nbInputs != 1)
        {
            return 1;
        }
        outputTypes[0] = inputTypes[0];
        return 0;
    }

    int32_t getOutputShapes(DimsExprs const* inputs, int32_t nbInputs, DimsExprs const* /*shapeInputs*/,
        int32_t /*nbShapeInputs*/, DimsExprs* outputs, int32_t nbOutputs, IExprBuilder& exprBuilder) noexcept override
    {
        std::string error;
        Dims rank{};
        rank.nbDims = nbInputs == 1 ? inputs[0].nbDims : 0;
        if (!check_io(nbInputs, nbOutputs, rank, error))
        {
            log_error(error);
            return 1;
        }
        bool const sized = mParams.output_height > 0 && mParams.output_width > 0;
        outputs[0].nbDims = 4;
        outputs[0].d[0] = inputs[0].d[0];
        outputs[0].d[1] = inputs[0].d[1];
        outputs[0].d[2] = output_dim(exprBuilder, *inputs[0].d[2], mParams.output_height, sized, mParams.scale_height, error);
        outputs[0].d[3] = output_dim(exprBuilder, *inputs[0].d[3], mParams.output_width, sized, mParams.scale_width, error);
        if (outputs[0].d[2] == nullptr || outputs[0].d[3] == nullptr)
        {
            log_error(error);
            return 1;
        }
        return 0;
    }

    bool supportsFormatCombination(
        int32_t pos, DynamicPluginTensorDesc const* inOut, int32_t nbInputs, int32_t nbOutputs) noexcept override
    {
        if (inOut == nullptr || nbInputs != 1 || nbOutputs != 1 || pos < 0 || pos > 1)
        {
            return false;
        }
        return supports_format(pos, inOut[pos].desc, inOut[0].desc);
    }

    int32_t getNbOutputs() const noexcept override
    {
        return 1;
    }

    char const* getTimingCacheID() noexcept override
    {
        return mDescription.c_str();
    }

    char const* getMetadataString() noexcept override
    {
        return mDescription.c_str();
    }

    // IPluginV3OneRuntime
    int32_t onShapeChange(
        PluginTensorDesc const* in, int32_t nbInputs, PluginTensorDesc const* out, int32_t nbOutputs) noexcept override
    {
        std::string error;
        if (in == nullptr || out == nullptr || !check_io(nbInputs, nbOutputs, in[0].dims, error))
        {
            log_error(error.empty() ? std::string(kPluginName) + ": no tensors" : error);
            return 1;
        }
        return 0;
    }

    int32_t enqueue(PluginTensorDesc const* inputDesc, PluginTensorDesc const* outputDesc, void const* const* inputs,
        void* const* outputs, void* /*workspace*/, cudaStream_t stream) noexcept override
    {
        return enqueue_resize(mParams, inputDesc[0], outputDesc[0], inputs[0], outputs[0], stream);
    }

    IPluginV3* attachToContext(IPluginResourceContext* /*context*/) noexcept override
    {
        return clone();
    }

    PluginFieldCollection const* getFieldsToSerialize() noexcept override
    {
        mSerialized = serialized_fields(mParams);
        mSerializedCollection.nbFields = static_cast<int32_t>(mSerialized.size());
        mSerializedCollection.fields = mSerialized.data();
        return &mSerializedCollection;
    }

private:
    Params mParams;
    std::string mDescription;
    std::vector<PluginField> mSerialized;
    PluginFieldCollection mSerializedCollection{};
};

class BilinearUpsamplePluginCreator : public IPluginCreatorV3One
{
public:
    IPluginV3* createPlugin(AsciiChar const* /*name*/, PluginFieldCollection const* fc, TensorRTPhase /*phase*/) noexcept
        override
    {
        Params params;
        std::string error;
        if (!parse_fields(fc, params, error))
        {
            log_error(error);
            return nullptr;
        }
        return new (std::nothrow) BilinearUpsamplePlugin(params);
    }

    PluginFieldCollection const* getFieldNames() noexcept override
    {
        return field_names();
    }

    AsciiChar const* getPluginName() const noexcept override
    {
        return kPluginName;
    }

    AsciiChar const* getPluginVersion() const noexcept override
    {
        return kPluginVersion;
    }

    AsciiChar const* getPluginNamespace() const noexcept override
    {
        return "";
    }
};

} // namespace
} // namespace trt
} // namespace es

// Entry points read by TensorRT when it loads the library itself (IPluginRegistry::loadLibrary, trtexec
// --dynamicPlugins, plugins serialized into a version-compatible engine), and by
// libedge_saliency_trt_autoregister.so for hosts that only dlopen. The library never registers itself when loaded:
// loadLibrary fails when one of a library's creators is already registered (NvInferRuntimeCommon.h:206 in 10.16).
// See docs/plugin.md.
extern "C" TENSORRTAPI __attribute__((visibility("default"))) void setLoggerFinder(ILoggerFinder* finder)
{
    es::trt::set_logger_finder(finder);
}

extern "C" TENSORRTAPI __attribute__((visibility("default"))) IPluginCreatorInterface* const* getCreators(
    int32_t& nbCreators)
{
    static es::trt::BilinearUpsamplePluginCreator creator;
    static IPluginCreatorInterface* const creators[] = {&creator};
    nbCreators = 1;
    return creators;
}

#endif // NV_TENSORRT_MAJOR >= 10
