// The frame kernels (frame_api.h) on the GPU: one thread per output pixel, the per-pixel code of frame_ops.h (the
// host twins run the same). Stream-ordered launches only: no allocation, no synchronisation; taps by value.
#include "edge_saliency/frame_api.h"
#include "edge_saliency/frame_ops.h"
#include "upsample_checks.h"

#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

namespace
{

constexpr int kBlockX = 32;
constexpr int kBlockY = 8;
constexpr int kRangeThreads = 1024;

dim3 grid_for(int height, int width)
{
    return dim3(static_cast<unsigned>((width + kBlockX - 1) / kBlockX),
        static_cast<unsigned>((height + kBlockY - 1) / kBlockY), 1u);
}

template <typename T>
__global__ void __launch_bounds__(kBlockX* kBlockY) preprocess_kernel(unsigned char const* __restrict__ frame,
    int height, int width, int stride, T* __restrict__ out, int out_h, int out_w, int top, int left, int box_h,
    int box_w, double ratio_h, double ratio_w, float pad)
{
    int const ox = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
    int const oy = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
    if (ox >= out_w || oy >= out_h)
    {
        return;
    }
    size_t const plane = static_cast<size_t>(out_h) * static_cast<size_t>(out_w);
    size_t const at = static_cast<size_t>(oy) * static_cast<size_t>(out_w) + static_cast<size_t>(ox);
    bool const inside = oy >= top && oy < top + box_h && ox >= left && ox < left + box_w;
    if (!inside)
    {
        for (int c = 0; c < 3; ++c)
        {
            es::store(out + plane * static_cast<size_t>(c) + at, pad);
        }
        return;
    }
    es::Tap const ty = es::linear_tap(ratio_h, oy - top, height);
    es::Tap const tx = es::linear_tap(ratio_w, ox - left, width);
    for (int c = 0; c < 3; ++c)
    {
        es::store(out + plane * static_cast<size_t>(c) + at, es::preprocess_pixel(frame, stride, ty, tx, c));
    }
}

template <typename T>
__global__ void __launch_bounds__(kBlockX* kBlockY) blur_rows_kernel(
    T const* __restrict__ map, int map_h, int map_w, int map_stride, es::Taps const taps, float* __restrict__ work)
{
    int const x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
    int const y = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= map_w || y >= map_h)
    {
        return;
    }
    T const* row = map + static_cast<size_t>(y) * static_cast<size_t>(map_stride);
    work[static_cast<size_t>(y) * static_cast<size_t>(map_w) + static_cast<size_t>(x)]
        = es::blur_line(row, x, map_w, 1, taps.w, taps.size);
}

__global__ void __launch_bounds__(kBlockX* kBlockY) blur_columns_kernel(
    float const* __restrict__ work, int map_h, int map_w, es::Taps const taps, float* __restrict__ out)
{
    int const x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
    int const y = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= map_w || y >= map_h)
    {
        return;
    }
    out[static_cast<size_t>(y) * static_cast<size_t>(map_w) + static_cast<size_t>(x)]
        = es::blur_line(work + x, y, map_h, map_w, taps.w, taps.size);
}

// one block: each thread folds a strided share, then a shared-memory tree (maps are model-sized: ~1e5 values)
__global__ void __launch_bounds__(kRangeThreads) range_kernel(
    float const* __restrict__ map, int map_h, int map_w, int map_stride, float* __restrict__ range)
{
    __shared__ float lows[kRangeThreads];
    __shared__ float highs[kRangeThreads];
    float lo = map[0];
    float hi = map[0];
    int const count = map_h * map_w;
    for (int i = static_cast<int>(threadIdx.x); i < count; i += static_cast<int>(blockDim.x))
    {
        float const v = map[static_cast<size_t>(i / map_w) * static_cast<size_t>(map_stride) + static_cast<size_t>(i % map_w)];
        lo = fminf(lo, v);
        hi = fmaxf(hi, v);
    }
    lows[threadIdx.x] = lo;
    highs[threadIdx.x] = hi;
    __syncthreads();
    for (unsigned half = blockDim.x / 2; half > 0; half /= 2)
    {
        if (threadIdx.x < half)
        {
            lows[threadIdx.x] = fminf(lows[threadIdx.x], lows[threadIdx.x + half]);
            highs[threadIdx.x] = fmaxf(highs[threadIdx.x], highs[threadIdx.x + half]);
        }
        __syncthreads();
    }
    if (threadIdx.x == 0)
    {
        range[0] = lows[0];
        range[1] = highs[0];
    }
}

__global__ void __launch_bounds__(kBlockX* kBlockY) overlay_kernel(float const* __restrict__ map, int map_h, int map_w,
    int map_stride, float const* __restrict__ range, unsigned char const* __restrict__ lut,
    unsigned char const* frame, int height, int width, int stride, unsigned char* out, int out_stride, float alpha,
    float ratio_h, float ratio_w)
{
    int const x = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
    int const y = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
    if (x >= width || y >= height)
    {
        return;
    }
    float lo = 0.0F;
    float scale = 1.0F;
    if (range != nullptr)
    {
        lo = range[0];
        scale = es::range_scale(range[0], range[1]);
    }
    es::Tap const ty = es::source_tap(ratio_h, y, map_h, false);
    es::Tap const tx = es::source_tap(ratio_w, x, map_w, false);
    size_t const in_at = static_cast<size_t>(y) * static_cast<size_t>(stride) + 3 * static_cast<size_t>(x);
    size_t const out_at = static_cast<size_t>(y) * static_cast<size_t>(out_stride) + 3 * static_cast<size_t>(x);
    es::overlay_pixel(map, map_stride, ty, tx, lo, scale, lut, frame + in_at, out + out_at, alpha);
}

es::Taps make_taps(float const* w, int size)
{
    es::Taps taps{};
    taps.size = size;
    for (int k = 0; k < size; ++k)
    {
        taps.w[k] = w[k];
    }
    return taps;
}

} // namespace

extern "C" {

ES_API int es_cuda_frame_abi_version(void)
{
    return ES_FRAME_ABI_VERSION;
}

ES_API int es_cuda_preprocess_bgr8(unsigned char const* frame, int height, int width, int stride, void* output,
    int dtype, int out_h, int out_w, int top, int left, int box_h, int box_w, float pad, void* stream)
{
    int const status
        = es::check_preprocess(frame, height, width, stride, output, dtype, out_h, out_w, top, left, box_h, box_w);
    if (status != ES_OK)
    {
        return status;
    }
    cudaStream_t const s = static_cast<cudaStream_t>(stream);
    double const ratio_h = es::linear_ratio(height, box_h);
    double const ratio_w = es::linear_ratio(width, box_w);
    dim3 const block(kBlockX, kBlockY);
    if (dtype == ES_FLOAT32)
    {
        preprocess_kernel<float><<<grid_for(out_h, out_w), block, 0, s>>>(frame, height, width, stride,
            static_cast<float*>(output), out_h, out_w, top, left, box_h, box_w, ratio_h, ratio_w, pad);
    }
    else
    {
        preprocess_kernel<__half><<<grid_for(out_h, out_w), block, 0, s>>>(frame, height, width, stride,
            static_cast<__half*>(output), out_h, out_w, top, left, box_h, box_w, ratio_h, ratio_w, pad);
    }
    return static_cast<int>(cudaGetLastError());
}

ES_API int es_cuda_blur_map(void const* map, int dtype, int map_h, int map_w, int map_stride, float const* kx,
    int kx_size, float const* ky, int ky_size, float* workspace, float* output, void* stream)
{
    int status = es::check_map(map, map_h, map_w, map_stride);
    if (status == ES_OK)
    {
        status = es::check_taps(kx, kx_size, ky, ky_size); // kx / ky are HOST arrays: copied into the launch
    }
    if (status == ES_OK && (workspace == nullptr || output == nullptr))
    {
        status = ES_ERR_NULL_POINTER;
    }
    if (status == ES_OK && dtype != ES_FLOAT32 && dtype != ES_FLOAT16)
    {
        status = ES_ERR_BAD_DTYPE;
    }
    if (status != ES_OK)
    {
        return status;
    }
    cudaStream_t const s = static_cast<cudaStream_t>(stream);
    dim3 const block(kBlockX, kBlockY);
    dim3 const grid = grid_for(map_h, map_w);
    if (dtype == ES_FLOAT32)
    {
        blur_rows_kernel<float><<<grid, block, 0, s>>>(
            static_cast<float const*>(map), map_h, map_w, map_stride, make_taps(kx, kx_size), workspace);
    }
    else
    {
        blur_rows_kernel<__half><<<grid, block, 0, s>>>(
            static_cast<__half const*>(map), map_h, map_w, map_stride, make_taps(kx, kx_size), workspace);
    }
    blur_columns_kernel<<<grid, block, 0, s>>>(workspace, map_h, map_w, make_taps(ky, ky_size), output);
    return static_cast<int>(cudaGetLastError());
}

ES_API int es_cuda_map_range(float const* map, int map_h, int map_w, int map_stride, float* range, void* stream)
{
    int const status = es::check_map(map, map_h, map_w, map_stride);
    if (status != ES_OK || range == nullptr)
    {
        return status != ES_OK ? status : ES_ERR_NULL_POINTER;
    }
    range_kernel<<<1, kRangeThreads, 0, static_cast<cudaStream_t>(stream)>>>(map, map_h, map_w, map_stride, range);
    return static_cast<int>(cudaGetLastError());
}

ES_API int es_cuda_overlay_bgr8(float const* map, int map_h, int map_w, int map_stride, float const* range,
    unsigned char const* lut, unsigned char const* frame, int height, int width, int stride, unsigned char* out,
    int out_stride, float alpha, void* stream)
{
    int status = es::check_map(map, map_h, map_w, map_stride);
    if (status == ES_OK)
    {
        status = es::check_frame(frame, height, width, stride);
    }
    if (status == ES_OK)
    {
        status = es::check_frame(out, height, width, out_stride);
    }
    if (status == ES_OK && lut == nullptr)
    {
        status = ES_ERR_NULL_POINTER;
    }
    if (status == ES_OK && !(alpha >= 0.0F && alpha <= 1.0F))
    {
        status = ES_ERR_BAD_ALPHA;
    }
    if (status != ES_OK)
    {
        return status;
    }
    float const ratio_h = es::source_ratio(map_h, height, false, 0.0);
    float const ratio_w = es::source_ratio(map_w, width, false, 0.0);
    overlay_kernel<<<grid_for(height, width), dim3(kBlockX, kBlockY), 0, static_cast<cudaStream_t>(stream)>>>(map,
        map_h, map_w, map_stride, range, lut, frame, height, width, stride, out, out_stride, alpha, ratio_h, ratio_w);
    return static_cast<int>(cudaGetLastError());
}

ES_API char const* es_cuda_frame_status_string(int status)
{
    char const* text = es::frame_status_string(status);
    return text != nullptr ? text : es_cuda_status_string(status);
}

} // extern "C"
