#include "plugin_common.h"

#include "edge_saliency/bilinear.h"
#include "edge_saliency/upsample_api.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace es
{
namespace trt
{
namespace
{

using nvinfer1::PluginField;
using nvinfer1::PluginFieldType;

bool read_int(PluginField const& f, int64_t& value)
{
    if (f.data == nullptr || f.length < 1)
    {
        return false;
    }
    switch (f.type)
    {
    case PluginFieldType::kINT8: value = *static_cast<int8_t const*>(f.data); return true;
    case PluginFieldType::kINT16: value = *static_cast<int16_t const*>(f.data); return true;
    case PluginFieldType::kINT32: value = *static_cast<int32_t const*>(f.data); return true;
#if NV_TENSORRT_MAJOR >= 10
    case PluginFieldType::kINT64: value = *static_cast<int64_t const*>(f.data); return true;
#endif
    default: return false;
    }
}

bool read_float(PluginField const& f, double& value)
{
    if (f.data == nullptr || f.length < 1)
    {
        return false;
    }
    switch (f.type)
    {
    case PluginFieldType::kFLOAT32: value = *static_cast<float const*>(f.data); return true;
    case PluginFieldType::kFLOAT64: value = *static_cast<double const*>(f.data); return true;
    default:
    {
        int64_t integer = 0;
        if (read_int(f, integer))
        {
            value = static_cast<double>(integer);
            return true;
        }
        return false;
    }
    }
}

std::string read_string(PluginField const& f)
{
    if (f.data == nullptr || f.length < 1 || f.type != PluginFieldType::kCHAR)
    {
        return std::string();
    }
    char const* text = static_cast<char const*>(f.data);
    return std::string(text, strnlen(text, static_cast<size_t>(f.length)));
}

std::mutex g_logger_mutex;
#if ES_TRT_VERSION_AT_LEAST(8, 6)
nvinfer1::ILoggerFinder* g_logger_finder = nullptr;
#endif

} // namespace

nvinfer1::PluginFieldCollection const* field_names()
{
    static std::vector<PluginField> const fields = {
        PluginField("output_height", nullptr, PluginFieldType::kINT32, 1),
        PluginField("output_width", nullptr, PluginFieldType::kINT32, 1),
        PluginField("scale_height", nullptr, PluginFieldType::kFLOAT32, 1),
        PluginField("scale_width", nullptr, PluginFieldType::kFLOAT32, 1),
        PluginField("align_corners", nullptr, PluginFieldType::kINT32, 1),
        PluginField("plugin_version", nullptr, PluginFieldType::kCHAR, 1),
        PluginField("plugin_namespace", nullptr, PluginFieldType::kCHAR, 1),
    };
    static nvinfer1::PluginFieldCollection const collection{static_cast<int32_t>(fields.size()), fields.data()};
    return &collection;
}

bool parse_fields(nvinfer1::PluginFieldCollection const* fc, Params& params, std::string& error)
{
    Params p;
    int64_t int_value = 0;
    double float_value = 0.0;
    for (int32_t i = 0; fc != nullptr && i < fc->nbFields; ++i)
    {
        PluginField const& f = fc->fields[i];
        std::string const name = f.name != nullptr ? f.name : "";
        bool ok = true;
        if (name == "output_height" || name == "output_width" || name == "align_corners")
        {
            ok = read_int(f, int_value) && int_value >= 0 && int_value <= INT32_MAX;
            int32_t const v = static_cast<int32_t>(int_value);
            (name == "output_height" ? p.output_height : name == "output_width" ? p.output_width : p.align_corners) = v;
        }
        else if (name == "scale_height" || name == "scale_width")
        {
            ok = read_float(f, float_value) && float_value >= 0.0 && std::isfinite(float_value);
            (name == "scale_height" ? p.scale_height : p.scale_width) = static_cast<float>(float_value);
        }
        else if (name == "plugin_version")
        {
            std::string const version = read_string(f);
            if (!version.empty() && version != kPluginVersion)
            {
                error = std::string(kPluginName) + ": plugin_version '" + version + "' is not " + kPluginVersion;
                return false;
            }
        }
        else if (name != "plugin_namespace")
        {
            log_message(nvinfer1::ILogger::Severity::kWARNING,
                std::string(kPluginName) + ": ignoring unknown field '" + name + "'");
        }
        if (!ok)
        {
            error = std::string(kPluginName) + ": field '" + name + "' must be a non-negative number";
            return false;
        }
    }
    if (p.align_corners > 1)
    {
        error = std::string(kPluginName) + ": align_corners must be 0 or 1";
        return false;
    }
    bool const sized = p.output_height > 0 && p.output_width > 0;
    if ((p.output_height > 0) != (p.output_width > 0))
    {
        error = std::string(kPluginName) + ": set both output_height and output_width, or neither";
        return false;
    }
    if (!sized && !(p.scale_height > 0.0F && p.scale_width > 0.0F))
    {
        error = std::string(kPluginName)
            + ": needs output_height/output_width > 0 (fixed size) or scale_height/scale_width > 0";
        return false;
    }
    params = p;
    return true;
}

std::vector<PluginField> serialized_fields(Params const& params)
{
    return {
        PluginField("output_height", &params.output_height, PluginFieldType::kINT32, 1),
        PluginField("output_width", &params.output_width, PluginFieldType::kINT32, 1),
        PluginField("scale_height", &params.scale_height, PluginFieldType::kFLOAT32, 1),
        PluginField("scale_width", &params.scale_width, PluginFieldType::kFLOAT32, 1),
        PluginField("align_corners", &params.align_corners, PluginFieldType::kINT32, 1),
    };
}

nvinfer1::IDimensionExpr const* output_dim(nvinfer1::IExprBuilder& builder, nvinfer1::IDimensionExpr const& in,
    int32_t size_attr, bool use_size, float scale, std::string& error)
{
    if (use_size)
    {
        return builder.constant(static_cast<DimValue>(size_attr));
    }
    double const s = static_cast<double>(scale);
    if (in.isConstant())
    {
        int64_t h = 0;
        int64_t w = 0;
        es::output_size(static_cast<int64_t>(in.getConstantValue()), 1, 0, 0, s, 1.0, &h, &w);
        return builder.constant(static_cast<DimValue>(h));
    }
    // scale = p / q with q a power of two (every float is such a fraction): floor(in * p / q) exactly
    int64_t q = 1;
    while (q <= 65536 && std::floor(s * static_cast<double>(q)) != s * static_cast<double>(q))
    {
        q *= 2;
    }
    int64_t const p = static_cast<int64_t>(s * static_cast<double>(q));
    if (q > 65536 || p > 65536 || p <= 0)
    {
        error = std::string(kPluginName) + ": scale " + std::to_string(s)
            + " on a dynamic dimension is not a small dyadic fraction (such as 2, 0.5 or 1.5); export the node "
              "with a fixed output_height/output_width instead";
        return nullptr;
    }
    nvinfer1::IDimensionExpr const* numerator = p == 1
        ? &in
        : builder.operation(nvinfer1::DimensionOperation::kPROD, in, *builder.constant(static_cast<DimValue>(p)));
    if (q == 1)
    {
        return numerator;
    }
    return builder.operation(
        nvinfer1::DimensionOperation::kFLOOR_DIV, *numerator, *builder.constant(static_cast<DimValue>(q)));
}

bool supports_format(int32_t pos, nvinfer1::PluginTensorDesc const& desc, nvinfer1::PluginTensorDesc const& input)
{
    bool const linear = desc.format == nvinfer1::TensorFormat::kLINEAR;
    bool const floating = desc.type == nvinfer1::DataType::kFLOAT || desc.type == nvinfer1::DataType::kHALF;
    return linear && floating && (pos == 0 || desc.type == input.type);
}

bool check_io(int32_t nb_inputs, int32_t nb_outputs, nvinfer1::Dims const& input_dims, std::string& error)
{
    if (nb_inputs != 1 || nb_outputs != 1)
    {
        error = std::string(kPluginName) + ": takes one input and gives one output";
        return false;
    }
    if (input_dims.nbDims != 4)
    {
        error = std::string(kPluginName) + ": the input must be 4-D (N, C, H, W), got "
            + std::to_string(input_dims.nbDims) + "-D";
        return false;
    }
    return true;
}

int32_t enqueue_resize(Params const& params, nvinfer1::PluginTensorDesc const& in,
    nvinfer1::PluginTensorDesc const& out, void const* x, void* y, cudaStream_t stream)
{
    int const dtype = in.type == nvinfer1::DataType::kHALF ? ES_FLOAT16 : ES_FLOAT32;
    bool const sized = params.output_height > 0 && params.output_width > 0;
    double const scale_h = sized ? 0.0 : static_cast<double>(params.scale_height);
    double const scale_w = sized ? 0.0 : static_cast<double>(params.scale_width);
    int const status = es_cuda_bilinear_resize(x, y, dtype, static_cast<int>(in.dims.d[0]),
        static_cast<int>(in.dims.d[1]), static_cast<int>(in.dims.d[2]), static_cast<int>(in.dims.d[3]),
        static_cast<int>(out.dims.d[2]), static_cast<int>(out.dims.d[3]), params.align_corners, scale_h, scale_w,
        stream);
    if (status != ES_OK)
    {
        log_error(std::string(kPluginName) + ": " + es_cuda_status_string(status));
        return 1;
    }
    return 0;
}

std::string describe(Params const& params)
{
    char text[160];
    std::snprintf(text, sizeof(text), "%s v%s size=%dx%d scale=%.9gx%.9g align_corners=%d", kPluginName,
        kPluginVersion, params.output_height, params.output_width, static_cast<double>(params.scale_height),
        static_cast<double>(params.scale_width), params.align_corners);
    return text;
}

void log_message(nvinfer1::ILogger::Severity severity, std::string const& message)
{
    std::lock_guard<std::mutex> lock(g_logger_mutex);
#if ES_TRT_VERSION_AT_LEAST(8, 6)
    // the logger of the builder / runtime / context whose call reached the plugin, found through the finder
    // TensorRT hands over when it loads the library (setLoggerFinder)
    if (g_logger_finder != nullptr)
    {
        nvinfer1::ILogger* logger = g_logger_finder->findLogger();
        if (logger != nullptr)
        {
            logger->log(severity, message.c_str());
            return;
        }
    }
#endif
    // 8.5 has no ILoggerFinder
    bool const warning = severity == nvinfer1::ILogger::Severity::kWARNING;
    std::fprintf(stderr, "%s%s\n", warning ? "warning: " : "", message.c_str());
}

void log_error(std::string const& message)
{
    log_message(nvinfer1::ILogger::Severity::kERROR, message);
}

#if ES_TRT_VERSION_AT_LEAST(8, 6)
void set_logger_finder(nvinfer1::ILoggerFinder* finder)
{
    std::lock_guard<std::mutex> lock(g_logger_mutex);
    g_logger_finder = finder;
}
#endif

} // namespace trt
} // namespace es
