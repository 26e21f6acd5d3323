// The per-pixel steps of the frame kernels (frame_api.h): ONE header compiled by the host compiler (the host
// twins) and by nvcc (the CUDA kernels), so both run the same float32 arithmetic.
#ifndef EDGE_SALIENCY_FRAME_OPS_H
#define EDGE_SALIENCY_FRAME_OPS_H

#include "edge_saliency/bilinear.h"
#include "edge_saliency/frame_api.h"

namespace es
{

//! Gaussian taps passed by value to a kernel (no device allocation for them).
struct Taps
{
    float w[ES_MAX_TAPS];
    int size;
};

ES_HD int clamp_index(int i, int n)
{
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

//! round half away from zero of a value in [0, 255.5) to uint8, as OpenCV's saturate_cast after cvRound for
//! non-negative values (ties: OpenCV rounds half to even; with float inputs exact ties are rare and differ by 1).
ES_HD unsigned char to_u8(float v)
{
    v = v < 0.0F ? 0.0F : (v > 255.0F ? 255.0F : v);
    return static_cast<unsigned char>(rintf(v));
}

//! OpenCV INTER_LINEAR's taps of one output index: the source position (dst + 0.5) * in / out - 0.5 computed in
//! double and rounded to float, as cv::resize does (a float ratio drifts by 1e-4 px across a 1920-pixel row), the
//! lower index by floor, clamped at both edges with the weight moved to the edge pixel.
ES_HD Tap linear_tap(double ratio, int dst, int in_size)
{
    float src = static_cast<float>((static_cast<double>(dst) + 0.5) * ratio - 0.5);
    int lo = static_cast<int>(floorf(src));
    float w_hi = src - static_cast<float>(lo);
    if (lo < 0)
    {
        lo = 0;
        w_hi = 0.0F;
    }
    if (lo >= in_size - 1)
    {
        lo = in_size - 1;
        w_hi = 0.0F;
    }
    Tap tap;
    tap.lo = lo;
    tap.hi = lo < in_size - 1 ? lo + 1 : lo;
    tap.w_lo = 1.0F - w_hi;
    tap.w_hi = w_hi;
    return tap;
}

//! The source/destination ratio as cv::resize computes it: 1 / (out / in) in double.
inline double linear_ratio(int in_size, int out_size)
{
    return 1.0 / (static_cast<double>(out_size) / static_cast<double>(in_size));
}

//! One model-input pixel (channel c of RGB, at (oy, ox) inside the box) from a uint8 BGR frame.
ES_HD float preprocess_pixel(unsigned char const* frame, int stride, Tap ty, Tap tx, int c)
{
    int const b = 2 - c; // RGB channel c is BGR channel 2 - c
    unsigned char const* r0 = frame + static_cast<size_t>(ty.lo) * static_cast<size_t>(stride);
    unsigned char const* r1 = frame + static_cast<size_t>(ty.hi) * static_cast<size_t>(stride);
    float const v = ty.w_lo * (tx.w_lo * static_cast<float>(r0[3 * tx.lo + b]) + tx.w_hi * static_cast<float>(r0[3 * tx.hi + b]))
        + ty.w_hi * (tx.w_lo * static_cast<float>(r1[3 * tx.lo + b]) + tx.w_hi * static_cast<float>(r1[3 * tx.hi + b]));
    return v * (1.0F / 255.0F);
}

//! One tap-weighted sum along a row (dx = 1) or a column (dx = stride) with the edge value repeated.
template <typename T>
ES_HD float blur_line(T const* base, int pos, int n, int step, float const* w, int size)
{
    int const radius = size / 2;
    float sum = 0.0F;
    for (int k = 0; k < size; ++k)
    {
        int const i = clamp_index(pos + k - radius, n);
        sum += w[k] * to_float(base[static_cast<size_t>(i) * static_cast<size_t>(step)]);
    }
    return sum;
}

//! The min-max factor 1 / (hi - lo), computed in double and rounded to float as the CPU path does (numpy: a Python
//! float made float32), so both round a map value to the same level; 0 for a constant map (all zeros).
ES_HD float range_scale(float lo, float hi)
{
    return hi > lo ? static_cast<float>(1.0 / (static_cast<double>(hi) - static_cast<double>(lo))) : 0.0F;
}

//! The uint8 map value at (y, x): min-max scaled by range (lo, hi) when given, clipped to [0, 1], x255, rounded.
ES_HD int map_level(float const* map, int map_stride, int y, int x, float lo, float scale)
{
    float const v = (map[static_cast<size_t>(y) * static_cast<size_t>(map_stride) + static_cast<size_t>(x)] - lo) * scale;
    float const c = v < 0.0F ? 0.0F : (v > 1.0F ? 1.0F : v);
    return static_cast<int>(rintf(c * 255.0F));
}

//! One overlay pixel: the colours of the four neighbouring map levels, interpolated, rounded, blended.
ES_HD void overlay_pixel(float const* map, int map_stride, Tap ty, Tap tx, float lo, float scale,
    unsigned char const* lut, unsigned char const* in, unsigned char* out, float alpha)
{
    int const l00 = map_level(map, map_stride, ty.lo, tx.lo, lo, scale);
    int const l01 = map_level(map, map_stride, ty.lo, tx.hi, lo, scale);
    int const l10 = map_level(map, map_stride, ty.hi, tx.lo, lo, scale);
    int const l11 = map_level(map, map_stride, ty.hi, tx.hi, lo, scale);
    for (int c = 0; c < 3; ++c)
    {
        float const heat = ty.w_lo * (tx.w_lo * static_cast<float>(lut[3 * l00 + c]) + tx.w_hi * static_cast<float>(lut[3 * l01 + c]))
            + ty.w_hi * (tx.w_lo * static_cast<float>(lut[3 * l10 + c]) + tx.w_hi * static_cast<float>(lut[3 * l11 + c]));
        float const colour = rintf(heat);
        out[c] = to_u8(static_cast<float>(in[c]) * (1.0F - alpha) + colour * alpha);
    }
}

inline int check_frame(void const* frame, int height, int width, int stride)
{
    if (frame == nullptr)
    {
        return ES_ERR_NULL_POINTER;
    }
    if (height <= 0 || width <= 0 || stride < 3 * width)
    {
        return ES_ERR_BAD_SHAPE;
    }
    return ES_OK;
}

inline int check_preprocess(unsigned char const* frame, int height, int width, int stride, void const* output,
    int dtype, int out_h, int out_w, int top, int left, int box_h, int box_w)
{
    int const status = check_frame(frame, height, width, stride);
    if (status != ES_OK)
    {
        return status;
    }
    if (output == nullptr)
    {
        return ES_ERR_NULL_POINTER;
    }
    if (dtype != ES_FLOAT32 && dtype != ES_FLOAT16)
    {
        return ES_ERR_BAD_DTYPE;
    }
    if (out_h <= 0 || out_w <= 0 || box_h <= 0 || box_w <= 0 || top < 0 || left < 0 || top + box_h > out_h
        || left + box_w > out_w)
    {
        return ES_ERR_BAD_SHAPE;
    }
    return ES_OK;
}

inline int check_map(void const* map, int map_h, int map_w, int map_stride)
{
    if (map == nullptr)
    {
        return ES_ERR_NULL_POINTER;
    }
    if (map_h <= 0 || map_w <= 0 || map_stride < map_w)
    {
        return ES_ERR_BAD_SHAPE;
    }
    return ES_OK;
}

inline int check_taps(float const* kx, int kx_size, float const* ky, int ky_size)
{
    if (kx == nullptr || ky == nullptr)
    {
        return ES_ERR_NULL_POINTER;
    }
    bool const ok = kx_size > 0 && ky_size > 0 && kx_size % 2 == 1 && ky_size % 2 == 1 && kx_size <= ES_MAX_TAPS
        && ky_size <= ES_MAX_TAPS;
    return ok ? static_cast<int>(ES_OK) : static_cast<int>(ES_ERR_BAD_TAPS);
}

inline char const* frame_status_string(int status)
{
    switch (status)
    {
    case ES_ERR_BAD_TAPS: return "blur taps must be odd counts of 1 to ES_MAX_TAPS (129)";
    case ES_ERR_BAD_ALPHA: return "alpha must be in [0, 1]";
    default: return nullptr;
    }
}

} // namespace es

#endif // EDGE_SALIENCY_FRAME_OPS_H
