// The CUDA kernels: one thread per output pixel (x fastest, coalesced stores), its row / column taps computed
// once and reused across the planes a block walks through (grid z strides over N*C). No allocation: the fused
// variant passes its map table by value as a kernel argument.
#include "edge_saliency/bilinear.h"
#include "edge_saliency/upsample_api.h"
#include "upsample_checks.h"

#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

namespace
{

constexpr int kBlockX = 32;
constexpr int kBlockY = 8;
constexpr unsigned kMaxGridZ = 65535u;

template <typename T>
__global__ void __launch_bounds__(kBlockX* kBlockY) resize_kernel(T const* __restrict__ input, T* __restrict__ output,
    int planes, int in_h, int in_w, int out_h, int out_w, float ratio_h, float ratio_w, bool align_corners)
{
    int const ox = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
    int const oy = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
    if (ox >= out_w || oy >= out_h)
    {
        return;
    }
    es::Tap const ty = es::source_tap(ratio_h, oy, in_h, align_corners);
    es::Tap const tx = es::source_tap(ratio_w, ox, in_w, align_corners);
    size_t const in_plane = static_cast<size_t>(in_h) * static_cast<size_t>(in_w);
    size_t const out_plane = static_cast<size_t>(out_h) * static_cast<size_t>(out_w);
    size_t const offset = static_cast<size_t>(oy) * static_cast<size_t>(out_w) + static_cast<size_t>(ox);
    for (int p = static_cast<int>(blockIdx.z); p < planes; p += static_cast<int>(gridDim.z))
    {
        float const value = es::bilinear_pixel(input + in_plane * static_cast<size_t>(p), in_w, ty, tx);
        es::store(output + out_plane * static_cast<size_t>(p) + offset, value);
    }
}

struct FusedMaps
{
    void const* data[ES_MAX_FUSED_MAPS];
    int h[ES_MAX_FUSED_MAPS];
    int w[ES_MAX_FUSED_MAPS];
    float ratio_h[ES_MAX_FUSED_MAPS];
    float ratio_w[ES_MAX_FUSED_MAPS];
};

template <typename T>
__global__ void __launch_bounds__(kBlockX* kBlockY) resize_concat_kernel(
    FusedMaps const maps, int num_maps, int batch, T* __restrict__ output, int out_h, int out_w, bool align_corners)
{
    int const ox = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
    int const oy = static_cast<int>(blockIdx.y * blockDim.y + threadIdx.y);
    if (ox >= out_w || oy >= out_h)
    {
        return;
    }
    size_t const out_plane = static_cast<size_t>(out_h) * static_cast<size_t>(out_w);
    size_t const offset = static_cast<size_t>(oy) * static_cast<size_t>(out_w) + static_cast<size_t>(ox);
    int const planes = batch * num_maps;
    for (int p = static_cast<int>(blockIdx.z); p < planes; p += static_cast<int>(gridDim.z))
    {
        int const m = p % num_maps;
        int const b = p / num_maps;
        int const in_h = maps.h[m];
        int const in_w = maps.w[m];
        es::Tap const ty = es::source_tap(maps.ratio_h[m], oy, in_h, align_corners);
        es::Tap const tx = es::source_tap(maps.ratio_w[m], ox, in_w, align_corners);
        T const* plane = static_cast<T const*>(maps.data[m])
            + static_cast<size_t>(b) * static_cast<size_t>(in_h) * static_cast<size_t>(in_w);
        es::store(output + out_plane * static_cast<size_t>(p) + offset, es::bilinear_pixel(plane, in_w, ty, tx));
    }
}

dim3 grid_for(int out_h, int out_w, int planes)
{
    unsigned const z = static_cast<unsigned>(planes) < kMaxGridZ ? static_cast<unsigned>(planes) : kMaxGridZ;
    return dim3((static_cast<unsigned>(out_w) + kBlockX - 1) / kBlockX,
        (static_cast<unsigned>(out_h) + kBlockY - 1) / kBlockY, z);
}

} // namespace

extern "C" {

ES_API int es_cuda_abi_version(void)
{
    return ES_ABI_VERSION;
}

ES_API int es_cuda_bilinear_resize(void const* input, void* output, int dtype, int n, int c, int in_h, int in_w,
    int out_h, int out_w, int align_corners, double scale_h, double scale_w, void* stream)
{
    int const status = es::check_resize(input, output, dtype, n, c, in_h, in_w, out_h, out_w, scale_h, scale_w);
    if (status != ES_OK)
    {
        return status;
    }
    int const planes = n * c;
    if (planes == 0)
    {
        return ES_OK;
    }
    bool const align = align_corners != 0;
    float const ratio_h = es::source_ratio(in_h, out_h, align, scale_h);
    float const ratio_w = es::source_ratio(in_w, out_w, align, scale_w);
    dim3 const block(kBlockX, kBlockY);
    dim3 const grid = grid_for(out_h, out_w, planes);
    cudaStream_t const s = static_cast<cudaStream_t>(stream);
    if (dtype == ES_FLOAT32)
    {
        resize_kernel<float><<<grid, block, 0, s>>>(static_cast<float const*>(input), static_cast<float*>(output),
            planes, in_h, in_w, out_h, out_w, ratio_h, ratio_w, align);
    }
    else
    {
        resize_kernel<__half><<<grid, block, 0, s>>>(static_cast<__half const*>(input), static_cast<__half*>(output),
            planes, in_h, in_w, out_h, out_w, ratio_h, ratio_w, align);
    }
    return static_cast<int>(cudaGetLastError());
}

ES_API int es_cuda_bilinear_resize_concat(void const* const* maps, int const* map_h, int const* map_w, int num_maps,
    int batch, void* output, int dtype, int out_h, int out_w, int align_corners, void* stream)
{
    int const status = es::check_concat(maps, map_h, map_w, num_maps, batch, output, dtype, out_h, out_w);
    if (status != ES_OK)
    {
        return status;
    }
    if (batch == 0)
    {
        return ES_OK;
    }
    bool const align = align_corners != 0;
    FusedMaps table{};
    for (int m = 0; m < num_maps; ++m)
    {
        table.data[m] = maps[m];
        table.h[m] = map_h[m];
        table.w[m] = map_w[m];
        table.ratio_h[m] = es::source_ratio(map_h[m], out_h, align, 0.0);
        table.ratio_w[m] = es::source_ratio(map_w[m], out_w, align, 0.0);
    }
    dim3 const block(kBlockX, kBlockY);
    dim3 const grid = grid_for(out_h, out_w, batch * num_maps);
    cudaStream_t const s = static_cast<cudaStream_t>(stream);
    if (dtype == ES_FLOAT32)
    {
        resize_concat_kernel<float><<<grid, block, 0, s>>>(
            table, num_maps, batch, static_cast<float*>(output), out_h, out_w, align);
    }
    else
    {
        resize_concat_kernel<__half><<<grid, block, 0, s>>>(
            table, num_maps, batch, static_cast<__half*>(output), out_h, out_w, align);
    }
    return static_cast<int>(cudaGetLastError());
}

ES_API char const* es_cuda_status_string(int status)
{
    char const* text = es::argument_status_string(status);
    if (text != nullptr)
    {
        return text;
    }
    return status > 0 ? cudaGetErrorString(static_cast<cudaError_t>(status)) : "unknown status";
}

} // extern "C"
