// The host twins of the frame kernels (frame_api.h): the same per-pixel functions (frame_ops.h) in plain loops.
#include "edge_saliency/frame_api.h"
#include "edge_saliency/frame_ops.h"
#include "upsample_checks.h"

namespace
{

template <typename T>
void preprocess_all(unsigned char const* frame, int height, int width, int stride, T* out, int out_h, int out_w,
    int top, int left, int box_h, int box_w, float pad)
{
    double const ratio_h = es::linear_ratio(height, box_h);
    double const ratio_w = es::linear_ratio(width, box_w);
    size_t const plane = static_cast<size_t>(out_h) * static_cast<size_t>(out_w);
    for (int oy = 0; oy < out_h; ++oy)
    {
        for (int ox = 0; ox < out_w; ++ox)
        {
            size_t const at = static_cast<size_t>(oy) * static_cast<size_t>(out_w) + static_cast<size_t>(ox);
            bool const inside = oy >= top && oy < top + box_h && ox >= left && ox < left + box_w;
            es::Tap ty{};
            es::Tap tx{};
            if (inside)
            {
                ty = es::linear_tap(ratio_h, oy - top, height);
                tx = es::linear_tap(ratio_w, ox - left, width);
            }
            for (int c = 0; c < 3; ++c)
            {
                es::store(out + plane * static_cast<size_t>(c) + at,
                    inside ? es::preprocess_pixel(frame, stride, ty, tx, c) : pad);
            }
        }
    }
}

template <typename T>
void blur_all(T const* map, int map_h, int map_w, int map_stride, float const* kx, int kx_size, float const* ky,
    int ky_size, float* workspace, float* output)
{
    for (int y = 0; y < map_h; ++y) // rows: map -> workspace (dense)
    {
        T const* row = map + static_cast<size_t>(y) * static_cast<size_t>(map_stride);
        for (int x = 0; x < map_w; ++x)
        {
            workspace[static_cast<size_t>(y) * static_cast<size_t>(map_w) + static_cast<size_t>(x)]
                = es::blur_line(row, x, map_w, 1, kx, kx_size);
        }
    }
    for (int y = 0; y < map_h; ++y) // columns: workspace -> output (dense)
    {
        for (int x = 0; x < map_w; ++x)
        {
            output[static_cast<size_t>(y) * static_cast<size_t>(map_w) + static_cast<size_t>(x)]
                = es::blur_line(workspace + x, y, map_h, map_w, ky, ky_size);
        }
    }
}

} // namespace

extern "C" {

int es_host_frame_abi_version(void)
{
    return ES_FRAME_ABI_VERSION;
}

int es_host_preprocess_bgr8(unsigned char const* frame, int height, int width, int stride, void* output, int dtype,
    int out_h, int out_w, int top, int left, int box_h, int box_w, float pad)
{
    int const status
        = es::check_preprocess(frame, height, width, stride, output, dtype, out_h, out_w, top, left, box_h, box_w);
    if (status != ES_OK)
    {
        return status;
    }
    if (dtype == ES_FLOAT32)
    {
        preprocess_all(frame, height, width, stride, static_cast<float*>(output), out_h, out_w, top, left, box_h,
            box_w, pad);
    }
    else
    {
        preprocess_all(frame, height, width, stride, static_cast<es::HalfBits*>(output), out_h, out_w, top, left,
            box_h, box_w, pad);
    }
    return ES_OK;
}

int es_host_blur_map(void const* map, int dtype, int map_h, int map_w, int map_stride, float const* kx, int kx_size,
    float const* ky, int ky_size, float* workspace, float* output)
{
    int status = es::check_map(map, map_h, map_w, map_stride);
    if (status == ES_OK)
    {
        status = es::check_taps(kx, kx_size, ky, ky_size);
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
    if (dtype == ES_FLOAT32)
    {
        blur_all(static_cast<float const*>(map), map_h, map_w, map_stride, kx, kx_size, ky, ky_size, workspace, output);
    }
    else
    {
        blur_all(static_cast<es::HalfBits const*>(map), map_h, map_w, map_stride, kx, kx_size, ky, ky_size, workspace,
            output);
    }
    return ES_OK;
}

int es_host_map_range(float const* map, int map_h, int map_w, int map_stride, float* range)
{
    int const status = es::check_map(map, map_h, map_w, map_stride);
    if (status != ES_OK || range == nullptr)
    {
        return status != ES_OK ? status : ES_ERR_NULL_POINTER;
    }
    float lo = map[0];
    float hi = map[0];
    for (int y = 0; y < map_h; ++y)
    {
        for (int x = 0; x < map_w; ++x)
        {
            float const v = map[static_cast<size_t>(y) * static_cast<size_t>(map_stride) + static_cast<size_t>(x)];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    range[0] = lo;
    range[1] = hi;
    return ES_OK;
}

int es_host_overlay_bgr8(float const* map, int map_h, int map_w, int map_stride, float const* range,
    unsigned char const* lut, unsigned char const* frame, int height, int width, int stride, unsigned char* out,
    int out_stride, float alpha)
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
    float lo = 0.0F;
    float scale = 1.0F;
    if (range != nullptr)
    {
        lo = range[0];
        scale = es::range_scale(range[0], range[1]); // a constant map: all zeros
    }
    float const ratio_h = es::source_ratio(map_h, height, false, 0.0);
    float const ratio_w = es::source_ratio(map_w, width, false, 0.0);
    for (int y = 0; y < height; ++y)
    {
        es::Tap const ty = es::source_tap(ratio_h, y, map_h, false);
        for (int x = 0; x < width; ++x)
        {
            es::Tap const tx = es::source_tap(ratio_w, x, map_w, false);
            size_t const in_at = static_cast<size_t>(y) * static_cast<size_t>(stride) + 3 * static_cast<size_t>(x);
            size_t const out_at = static_cast<size_t>(y) * static_cast<size_t>(out_stride) + 3 * static_cast<size_t>(x);
            es::overlay_pixel(map, map_stride, ty, tx, lo, scale, lut, frame + in_at, out + out_at, alpha);
        }
    }
    return ES_OK;
}

char const* es_host_frame_status_string(int status)
{
    char const* text = es::frame_status_string(status);
    return text != nullptr ? text : es_host_status_string(status);
}

} // extern "C"
