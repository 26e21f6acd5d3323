/* C ABI of the edge-saliency bilinear resize libraries (called through ctypes, and by the TensorRT plugin).
 *
 *   libedge_saliency_upsample_host.so  es_host_*  the reference path on the CPU (same per-pixel function)
 *   libedge_saliency_upsample_cuda.so  es_cuda_*  the CUDA kernels, launched on the given stream
 *
 * Tensors are contiguous NCHW. dtype: ES_FLOAT32 or ES_FLOAT16 (input and output alike; float16 is computed in
 * float32). scale_h / scale_w > 0 select the scale-factor form of the BilinearUpsample_TRT node (source
 * coordinates use 1 / scale, as torch.nn.functional.interpolate(scale_factor=..., recompute_scale_factor=False));
 * 0 selects the size form (ratio in / out). align_corners ignores the scales, as PyTorch does.
 *
 * The fused resize-and-concatenate takes num_maps single-channel maps, map i being batch x 1 x map_h[i] x map_w[i],
 * and writes batch x num_maps x out_h x out_w (map i in channel i): the EML-Net decoder's resize + concatenation
 * in one launch. At most ES_MAX_FUSED_MAPS maps.
 *
 * Every function returns ES_OK (0) or a status: negative for a bad argument (es_*_status_string says which),
 * positive for a CUDA error (its cudaError_t value). No function allocates memory.
 */
#ifndef EDGE_SALIENCY_UPSAMPLE_API_H
#define EDGE_SALIENCY_UPSAMPLE_API_H

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define ES_API __declspec(dllexport)
#else
#define ES_API __attribute__((visibility("default")))
#endif

#define ES_ABI_VERSION 1
#define ES_MAX_FUSED_MAPS 32

enum
{
    ES_FLOAT32 = 0,
    ES_FLOAT16 = 1
};

enum
{
    ES_OK = 0,
    ES_ERR_NULL_POINTER = -1,
    ES_ERR_BAD_SHAPE = -2,
    ES_ERR_BAD_DTYPE = -3,
    ES_ERR_TOO_MANY_MAPS = -4,
    ES_ERR_BAD_SIZE_RULE = -5
};

/* host library */
ES_API int es_host_abi_version(void);
ES_API int es_host_bilinear_resize(void const* input, void* output, int dtype, int n, int c, int in_h, int in_w,
    int out_h, int out_w, int align_corners, double scale_h, double scale_w);
ES_API int es_host_bilinear_resize_concat(void const* const* maps, int const* map_h, int const* map_w, int num_maps,
    int batch, void* output, int dtype, int out_h, int out_w, int align_corners);
/* The node's output-size rule (upsample_op.output_size): attr sizes when both > 0, else floor(in * scale). */
ES_API int es_host_output_size(long long in_h, long long in_w, long long attr_h, long long attr_w, double scale_h,
    double scale_w, long long* out_h, long long* out_w);
ES_API char const* es_host_status_string(int status);

/* CUDA library; stream is a cudaStream_t (NULL: the legacy default stream) */
ES_API int es_cuda_abi_version(void);
ES_API int es_cuda_bilinear_resize(void const* input, void* output, int dtype, int n, int c, int in_h, int in_w,
    int out_h, int out_w, int align_corners, double scale_h, double scale_w, void* stream);
ES_API int es_cuda_bilinear_resize_concat(void const* const* maps, int const* map_h, int const* map_w, int num_maps,
    int batch, void* output, int dtype, int out_h, int out_w, int align_corners, void* stream);
ES_API char const* es_cuda_status_string(int status);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_SALIENCY_UPSAMPLE_API_H */
