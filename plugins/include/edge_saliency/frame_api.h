/* C ABI of the frame kernels: the real-time path around the model, in the same libraries as the resize.
 *
 *   libedge_saliency_upsample_host.so  es_host_*  the host twins (the same per-pixel code, on the CPU)
 *   libedge_saliency_upsample_cuda.so  es_cuda_*  the CUDA kernels, launched on the given stream
 *
 * Pre-processing: a uint8 BGR frame (H x W x 3, rows `stride` bytes apart) -> the 1 x 3 x out_h x out_w RGB model
 * input in [0, 1] (ES_FLOAT32 or ES_FLOAT16, NCHW). The frame is stretched into the box (top, left, box_h, box_w)
 * bilinearly with OpenCV INTER_LINEAR's sample positions (half-pixel centres, clamped at the edges) in float32, and
 * multiplied by 1/255; outside the box the input is `pad` (letterbox).
 *
 * Post-processing, on the map at the model's resolution (map_stride elements between rows, so a letterbox crop is a
 * pointer and a stride):
 *   es_*_blur_map      separable Gaussian (taps kx, ky given, odd sizes <= ES_MAX_TAPS), the edge pixel repeated;
 *                      input ES_FLOAT32 / ES_FLOAT16, output float32; `workspace`: map_h * map_w floats.
 *   es_*_map_range     min and max of a float32 map into range[0], range[1].
 *   es_*_overlay_bgr8  for every frame pixel: the map min-max scaled by `range` (NULL: used as it is), rounded to
 *                      0..255 at the map's resolution, coloured by `lut` (256 x 3 BGR uint8), the colours of the four
 *                      neighbours interpolated bilinearly to the frame (INTER_LINEAR positions) and rounded, then
 *                      blended: out = round((1 - alpha) * frame + alpha * colour). `out` may be `frame`.
 *
 * Every function returns ES_OK (0), a negative status for a bad argument, or a positive cudaError_t. No function
 * allocates memory; the CUDA ones only enqueue work on `stream` (the caller synchronises). Pointers given to the
 * CUDA functions (frame, map, lut, range, taps excepted: passed by value) are device pointers.
 */
#ifndef EDGE_SALIENCY_FRAME_API_H
#define EDGE_SALIENCY_FRAME_API_H

#include "edge_saliency/upsample_api.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ES_FRAME_ABI_VERSION 1
#define ES_MAX_TAPS 129

enum
{
    ES_ERR_BAD_TAPS = -6,
    ES_ERR_BAD_ALPHA = -7
};

ES_API int es_host_frame_abi_version(void);
ES_API int es_host_preprocess_bgr8(unsigned char const* frame, int height, int width, int stride, void* output,
    int dtype, int out_h, int out_w, int top, int left, int box_h, int box_w, float pad);
ES_API int es_host_blur_map(void const* map, int dtype, int map_h, int map_w, int map_stride, float const* kx,
    int kx_size, float const* ky, int ky_size, float* workspace, float* output);
ES_API int es_host_map_range(float const* map, int map_h, int map_w, int map_stride, float* range);
ES_API int es_host_overlay_bgr8(float const* map, int map_h, int map_w, int map_stride, float const* range,
    unsigned char const* lut, unsigned char const* frame, int height, int width, int stride, unsigned char* out,
    int out_stride, float alpha);
ES_API char const* es_host_frame_status_string(int status);

ES_API int es_cuda_frame_abi_version(void);
ES_API int es_cuda_preprocess_bgr8(unsigned char const* frame, int height, int width, int stride, void* output,
    int dtype, int out_h, int out_w, int top, int left, int box_h, int box_w, float pad, void* stream);
ES_API int es_cuda_blur_map(void const* map, int dtype, int map_h, int map_w, int map_stride, float const* kx,
    int kx_size, float const* ky, int ky_size, float* workspace, float* output, void* stream);
ES_API int es_cuda_map_range(float const* map, int map_h, int map_w, int map_stride, float* range, void* stream);
ES_API int es_cuda_overlay_bgr8(float const* map, int map_h, int map_w, int map_stride, float const* range,
    unsigned char const* lut, unsigned char const* frame, int height, int width, int stride, unsigned char* out,
    int out_stride, float alpha, void* stream);
ES_API char const* es_cuda_frame_status_string(int status);

#ifdef __cplusplus
}
#endif

#endif /* EDGE_SALIENCY_FRAME_API_H */
