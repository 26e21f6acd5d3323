// What the two TensorRT plugin implementations share: the node's fields and their parsing, the output-size rule
// as dimension expressions, the format check, logging and the call into the CUDA kernel.
// plugin_v3.cpp (IPluginV3, TensorRT >= 10) and plugin_v2.cpp (IPluginV2DynamicExt, TensorRT 8.5 / 8.6) include it.
#ifndef EDGE_SALIENCY_PLUGIN_COMMON_H
#define EDGE_SALIENCY_PLUGIN_COMMON_H

#include <NvInferRuntime.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#define ES_TRT_VERSION_AT_LEAST(major, minor)                                                                         \
    (NV_TENSORRT_MAJOR > (major) || (NV_TENSORRT_MAJOR == (major) && NV_TENSORRT_MINOR >= (minor)))

namespace es
{
namespace trt
{

constexpr char const* kPluginName = "BilinearUpsample_TRT";
constexpr char const* kPluginVersion = "1";

//! The node's attributes (edge_saliency/plugins/upsample_op.py). Fixed-size fields: also the V2 serialization.
struct Params
{
    int32_t output_height{0};
    int32_t output_width{0};
    float scale_height{0.0F};
    float scale_width{0.0F};
    int32_t align_corners{0};
};

//! Value type of TensorRT's dimension expressions: int64_t from TensorRT 10, int32_t before.
using DimValue = decltype(std::declval<nvinfer1::IDimensionExpr const&>().getConstantValue());

//! The creator's getFieldNames(): output_height, output_width, scale_height, scale_width, align_corners,
//! plugin_version, plugin_namespace (every attribute of the ONNX node, so the ONNX parser passes each one).
nvinfer1::PluginFieldCollection const* field_names();

//! Fill ``params`` from a field collection (ONNX parser, user or deserialization) and check it.
//! On failure returns false with a one-line reason.
bool parse_fields(nvinfer1::PluginFieldCollection const* fc, Params& params, std::string& error);

//! The fields TensorRT serializes into an engine (pointing into ``params``, which must outlive the result).
std::vector<nvinfer1::PluginField> serialized_fields(Params const& params);

//! Output dimension of one resized axis: the attribute when the explicit size is used, else floor(in * scale),
//! exactly, as an expression (FLOOR_DIV(in * p, q) with scale = p / q) or a constant. nullptr (and a reason)
//! when a dynamic dimension has a scale that is no small dyadic fraction (e.g. 1/3): export a fixed size then.
nvinfer1::IDimensionExpr const* output_dim(nvinfer1::IExprBuilder& builder, nvinfer1::IDimensionExpr const& in,
    int32_t size_attr, bool use_size, float scale, std::string& error);

//! supportsFormatCombination: linear NCHW, float32 or float16, the output of the input's type.
bool supports_format(int32_t pos, nvinfer1::PluginTensorDesc const& desc, nvinfer1::PluginTensorDesc const& input);

//! Check the configured tensors: one 4-D input, one output.
bool check_io(int32_t nb_inputs, int32_t nb_outputs, nvinfer1::Dims const& input_dims, std::string& error);

//! Run the resize on ``stream`` (no allocation); 0 on success.
int32_t enqueue_resize(Params const& params, nvinfer1::PluginTensorDesc const& in,
    nvinfer1::PluginTensorDesc const& out, void const* x, void* y, cudaStream_t stream);

//! A short description of the parameters (timing-cache id and metadata).
std::string describe(Params const& params);

//! To the logger TensorRT's ILoggerFinder gives (>= 8.6, set through setLoggerFinder), else to stderr.
void log_message(nvinfer1::ILogger::Severity severity, std::string const& message);
void log_error(std::string const& message);
#if ES_TRT_VERSION_AT_LEAST(8, 6)
void set_logger_finder(nvinfer1::ILoggerFinder* finder);
#endif

} // namespace trt
} // namespace es

#endif // EDGE_SALIENCY_PLUGIN_COMMON_H
