// The host (CPU) library: the reference path through the same per-pixel function as the CUDA kernels.
#include "edge_saliency/bilinear.h"
#include "edge_saliency/upsample_api.h"
#include "upsample_checks.h"

#include <vector>

namespace
{

template <typename T>
void resize_plane(T const* in, T* out, int in_h, int in_w, int out_h, int out_w, float ratio_h, bool align_corners,
    std::vector<es::Tap> const& taps_x)
{
    for (int oy = 0; oy < out_h; ++oy)
    {
        es::Tap const ty = es::source_tap(ratio_h, oy, in_h, align_corners);
        T* row = out + static_cast<size_t>(oy) * static_cast<size_t>(out_w);
        for (int ox = 0; ox < out_w; ++ox)
        {
            es::store(row + ox, es::bilinear_pixel(in, in_w, ty, taps_x[static_cast<size_t>(ox)]));
        }
    }
}

std::vector<es::Tap> column_taps(float ratio_w, int in_w, int out_w, bool align_corners)
{
    std::vector<es::Tap> taps(static_cast<size_t>(out_w));
    for (int ox = 0; ox < out_w; ++ox)
    {
        taps[static_cast<size_t>(ox)] = es::source_tap(ratio_w, ox, in_w, align_corners);
    }
    return taps;
}

template <typename T>
void resize_all(void const* input, void* output, int planes, int in_h, int in_w, int out_h, int out_w,
    bool align_corners, double scale_h, double scale_w)
{
    float const ratio_h = es::source_ratio(in_h, out_h, align_corners, scale_h);
    float const ratio_w = es::source_ratio(in_w, out_w, align_corners, scale_w);
    std::vector<es::Tap> const taps_x = column_taps(ratio_w, in_w, out_w, align_corners);
    size_t const in_plane = static_cast<size_t>(in_h) * static_cast<size_t>(in_w);
    size_t const out_plane = static_cast<size_t>(out_h) * static_cast<size_t>(out_w);
    for (int p = 0; p < planes; ++p)
    {
        resize_plane(static_cast<T const*>(input) + in_plane * static_cast<size_t>(p),
            static_cast<T*>(output) + out_plane * static_cast<size_t>(p), in_h, in_w, out_h, out_w, ratio_h, align_corners,
            taps_x);
    }
}

template <typename T>
void resize_concat_all(void const* const* maps, int const* map_h, int const* map_w, int num_maps, int batch,
    void* output, int out_h, int out_w, bool align_corners)
{
    size_t const out_plane = static_cast<size_t>(out_h) * static_cast<size_t>(out_w);
    for (int m = 0; m < num_maps; ++m)
    {
        float const ratio_h = es::source_ratio(map_h[m], out_h, align_corners, 0.0);
        float const ratio_w = es::source_ratio(map_w[m], out_w, align_corners, 0.0);
        std::vector<es::Tap> const taps_x = column_taps(ratio_w, map_w[m], out_w, align_corners);
        size_t const in_plane = static_cast<size_t>(map_h[m]) * static_cast<size_t>(map_w[m]);
        for (int b = 0; b < batch; ++b)
        {
            T const* in = static_cast<T const*>(maps[m]) + in_plane * static_cast<size_t>(b);
            T* out = static_cast<T*>(output) + out_plane * (static_cast<size_t>(b) * num_maps + m);
            resize_plane(in, out, map_h[m], map_w[m], out_h, out_w, ratio_h, align_corners, taps_x);
        }
    }
}

} // namespace

extern "C" {

ES_API int es_host_abi_version(void)
{
    return ES_ABI_VERSION;
}

ES_API int es_host_bilinear_resize(void const* input, void* output, int dtype, int n, int c, int in_h, int in_w,
    int out_h, int out_w, int align_corners, double scale_h, double scale_w)
{
    int const status = es::check_resize(input, output, dtype, n, c, in_h, in_w, out_h, out_w, scale_h, scale_w);
    if (status != ES_OK)
    {
        return status;
    }
    int const planes = n * c;
    if (dtype == ES_FLOAT32)
    {
        resize_all<float>(input, output, planes, in_h, in_w, out_h, out_w, align_corners != 0, scale_h, scale_w);
    }
    else
    {
        resize_all<es::HalfBits>(input, output, planes, in_h, in_w, out_h, out_w, align_corners != 0, scale_h, scale_w);
    }
    return ES_OK;
}

ES_API int es_host_bilinear_resize_concat(void const* const* maps, int const* map_h, int const* map_w, int num_maps,
    int batch, void* output, int dtype, int out_h, int out_w, int align_corners)
{
    int const status = es::check_concat(maps, map_h, map_w, num_maps, batch, output, dtype, out_h, out_w);
    if (status != ES_OK)
    {
        return status;
    }
    if (dtype == ES_FLOAT32)
    {
        resize_concat_all<float>(maps, map_h, map_w, num_maps, batch, output, out_h, out_w, align_corners != 0);
    }
    else
    {
        resize_concat_all<es::HalfBits>(maps, map_h, map_w, num_maps, batch, output, out_h, out_w, align_corners != 0);
    }
    return ES_OK;
}

ES_API int es_host_output_size(long long in_h, long long in_w, long long attr_h, long long attr_w, double scale_h,
    double scale_w, long long* out_h, long long* out_w)
{
    if (out_h == nullptr || out_w == nullptr)
    {
        return ES_ERR_NULL_POINTER;
    }
    int64_t h = 0;
    int64_t w = 0;
    if (!es::output_size(in_h, in_w, attr_h, attr_w, scale_h, scale_w, &h, &w))
    {
        return ES_ERR_BAD_SIZE_RULE;
    }
    *out_h = h;
    *out_w = w;
    return ES_OK;
}

ES_API char const* es_host_status_string(int status)
{
    char const* text = es::argument_status_string(status);
    return text != nullptr ? text : "unknown status";
}

} // extern "C"
