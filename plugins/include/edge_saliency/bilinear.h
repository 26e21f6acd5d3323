// The per-pixel bilinear resize of edge-saliency: ONE header, compiled by the host C++ compiler (host library,
// tests) and by nvcc (CUDA kernels, TensorRT plugin), so the CPU and the GPU run the same arithmetic.
//
// Numerics mirror PyTorch's CUDA kernel (aten/src/ATen/native/cuda/UpSampleBilinear2d.cu with
// area_pixel_compute_scale / area_pixel_compute_source_index): float32 coordinates and weights, the source
// coordinate clamped at 0 when align_corners is false, the lower index by truncation, the upper index
// lower + 1 unless it is the last row / column, and
//   out = h0 * (w0 * x00 + w1 * x01) + h1 * (w0 * x10 + w1 * x11)
// in float32 (float16 data is read into float32 and rounded once at the end).
#ifndef EDGE_SALIENCY_BILINEAR_H
#define EDGE_SALIENCY_BILINEAR_H

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#include <cuda_fp16.h>
#define ES_HD __host__ __device__ __forceinline__
#else
#define ES_HD inline
#endif

namespace es
{

// ---------------------------------------------------------------------------------------------------------------
// Element types. float32 everywhere; float16 as CUDA's __half on the device and as raw IEEE bits on the host.
// ---------------------------------------------------------------------------------------------------------------

//! IEEE binary16 stored as its bits: the host library's float16 element (no compiler half type needed).
struct HalfBits
{
    uint16_t bits;
};

inline float half_bits_to_float(uint16_t h)
{
    uint32_t const sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    uint32_t exponent = (h >> 10) & 0x1fu;
    uint32_t mantissa = h & 0x3ffu;
    uint32_t bits;
    if (exponent == 0x1fu)
    {
        bits = sign | 0x7f800000u | (mantissa << 13); // inf / nan
    }
    else if (exponent != 0)
    {
        bits = sign | ((exponent + 112u) << 23) | (mantissa << 13); // normal: rebias 15 -> 127
    }
    else if (mantissa == 0)
    {
        bits = sign; // +-0
    }
    else
    {
        // subnormal: normalise the mantissa
        exponent = 113u;
        while ((mantissa & 0x400u) == 0)
        {
            mantissa <<= 1;
            --exponent;
        }
        bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
    }
    float out;
    std::memcpy(&out, &bits, sizeof(out));
    return out;
}

//! float32 -> binary16 bits, round to nearest even (as __float2half_rn), overflow to inf, nan kept quiet.
inline uint16_t float_to_half_bits(float value)
{
    uint32_t bits;
    std::memcpy(&bits, &value, sizeof(bits));
    uint32_t const sign = (bits >> 16) & 0x8000u;
    uint32_t const abs = bits & 0x7fffffffu;
    if (abs >= 0x7f800000u)
    {
        return static_cast<uint16_t>(sign | 0x7c00u | (abs > 0x7f800000u ? 0x200u : 0u));
    }
    if (abs >= 0x477ff000u) // rounds to >= 65520: inf
    {
        return static_cast<uint16_t>(sign | 0x7c00u);
    }
    if (abs < 0x38800000u) // below the smallest normal half (2^-14): subnormal or zero
    {
        if (abs < 0x33000000u) // < 2^-25: rounds to zero
        {
            return static_cast<uint16_t>(sign);
        }
        uint32_t const exponent = abs >> 23;
        uint32_t const mantissa = (abs & 0x7fffffu) | 0x800000u;
        uint32_t const shift = 126u - exponent; // 14..24 for the range handled here
        uint32_t result = mantissa >> shift;
        uint32_t const remainder = mantissa & ((1u << shift) - 1u);
        uint32_t const half = 1u << (shift - 1u);
        if (remainder > half || (remainder == half && (result & 1u)))
        {
            ++result;
        }
        return static_cast<uint16_t>(sign | result);
    }
    uint32_t result = ((abs >> 13) - (112u << 10)) & 0xffffu; // rebias 127 -> 15, keep 10 mantissa bits
    uint32_t const remainder = abs & 0x1fffu;
    if (remainder > 0x1000u || (remainder == 0x1000u && (result & 1u)))
    {
        ++result; // may carry into the exponent, which is the correct rounding
    }
    return static_cast<uint16_t>(sign | result);
}

ES_HD float to_float(float v)
{
    return v;
}
ES_HD void store(float* p, float v)
{
    *p = v;
}
inline float to_float(HalfBits v)
{
    return half_bits_to_float(v.bits);
}
inline void store(HalfBits* p, float v)
{
    p->bits = float_to_half_bits(v);
}
#if defined(__CUDACC__)
__device__ __forceinline__ float to_float(__half v)
{
    return __half2float(v);
}
__device__ __forceinline__ void store(__half* p, float v)
{
    *p = __float2half_rn(v);
}
#endif

// ---------------------------------------------------------------------------------------------------------------
// Coordinates
// ---------------------------------------------------------------------------------------------------------------

//! Source-coordinate ratio of one axis (PyTorch's area_pixel_compute_scale). ``scale`` > 0 is the user's scale
//! factor (output / input); the ratio is then 1 / scale, computed in double and rounded to float, as PyTorch does
//! for interpolate(scale_factor=..., recompute_scale_factor=False). align_corners ignores ``scale``.
inline float source_ratio(int in_size, int out_size, bool align_corners, double scale)
{
    if (align_corners)
    {
        return out_size > 1 ? static_cast<float>(in_size - 1) / static_cast<float>(out_size - 1) : 0.0F;
    }
    if (scale > 0.0)
    {
        return static_cast<float>(1.0 / scale);
    }
    return static_cast<float>(in_size) / static_cast<float>(out_size);
}

//! The two source indices of one output index along one axis and their weights.
struct Tap
{
    int lo;
    int hi;
    float w_lo;
    float w_hi;
};

//! PyTorch's area_pixel_compute_source_index + the index / lambda rule of its CUDA kernel. The lower index is
//! also clamped to the last row / column and the weight to [0, 1], which never changes a valid resize (the source
//! coordinate stays below in_size - 1/2) but keeps an inconsistent (size, scale) pair inside the input.
ES_HD Tap source_tap(float ratio, int dst, int in_size, bool align_corners)
{
    float src;
    if (align_corners)
    {
        src = ratio * static_cast<float>(dst);
    }
    else
    {
        // one rounding, as the fused multiply-add that nvcc makes of PyTorch's `scale * (dst + 0.5) - 0.5`
        // (PyTorch's vectorised CPU kernel rounds it once too); explicit so that host and device agree
        src = fmaf(ratio, static_cast<float>(dst) + 0.5F, -0.5F);
        src = src < 0.0F ? 0.0F : src;
    }
    int lo = static_cast<int>(src);
    lo = lo < in_size - 1 ? lo : in_size - 1;
    int const hi = lo < in_size - 1 ? lo + 1 : lo;
    float w_hi = src - static_cast<float>(lo);
    w_hi = w_hi > 1.0F ? 1.0F : w_hi;
    Tap tap;
    tap.lo = lo;
    tap.hi = hi;
    tap.w_lo = 1.0F - w_hi;
    tap.w_hi = w_hi;
    return tap;
}

//! THE per-pixel function: the value of one output pixel from one input plane (row-major, ``in_w`` wide), given
//! the taps of its row (``ty``) and column (``tx``). Computed in float32 whatever the element type.
template <typename T>
ES_HD float bilinear_pixel(T const* plane, int in_w, Tap ty, Tap tx)
{
    T const* row0 = plane + static_cast<size_t>(ty.lo) * static_cast<size_t>(in_w);
    T const* row1 = plane + static_cast<size_t>(ty.hi) * static_cast<size_t>(in_w);
    return ty.w_lo * (tx.w_lo * to_float(row0[tx.lo]) + tx.w_hi * to_float(row0[tx.hi]))
        + ty.w_hi * (tx.w_lo * to_float(row1[tx.lo]) + tx.w_hi * to_float(row1[tx.hi]));
}

//! Output size rule of the BilinearUpsample_TRT node (edge_saliency/plugins/upsample_op.py:output_size): the
//! explicit size when both are > 0, else floor(in * scale). Returns false when neither is usable.
inline bool output_size(int64_t in_h, int64_t in_w, int64_t attr_h, int64_t attr_w, double scale_h, double scale_w,
    int64_t* out_h, int64_t* out_w)
{
    if (attr_h > 0 && attr_w > 0)
    {
        *out_h = attr_h;
        *out_w = attr_w;
        return true;
    }
    if (!(scale_h > 0.0) || !(scale_w > 0.0))
    {
        return false;
    }
    // truncation is floor() here: both products are positive
    double const h = static_cast<double>(in_h) * scale_h;
    double const w = static_cast<double>(in_w) * scale_w;
    *out_h = static_cast<int64_t>(h);
    *out_w = static_cast<int64_t>(w);
    return *out_h > 0 && *out_w > 0;
}

//! Most maps the fused resize-and-concatenate takes in one launch (EML-Net's decoder has up to 10).
constexpr int kMaxFusedMaps = 32;

} // namespace es

#endif // EDGE_SALIENCY_BILINEAR_H
