// CTest: the host library against independent expectations (no PyTorch needed). The Python tests
// (tests/plugins/) compare the same library with torch.nn.functional.interpolate.
#include "edge_saliency/bilinear.h"
#include "edge_saliency/upsample_api.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>

namespace
{

int failures = 0;

void check(bool ok, char const* what, int line)
{
    if (!ok)
    {
        std::printf("FAIL line %d: %s\n", line, what);
        ++failures;
    }
}
#define CHECK(cond) check((cond), #cond, __LINE__)

// deterministic pseudo-random values in [0, 1)
float next_value(unsigned& state)
{
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 16777216.0F;
}

// Bilinear interpolation reproduces a plane a*y + b*x + c exactly (up to rounding) at the clamped source
// coordinate: an expectation computed in double, independent of the library's arithmetic.
double clamped_source(int dst, int in_size, int out_size, bool align_corners)
{
    double src;
    if (align_corners)
    {
        src = out_size > 1 ? dst * static_cast<double>(in_size - 1) / (out_size - 1) : 0.0;
    }
    else
    {
        src = (dst + 0.5) * in_size / out_size - 0.5;
    }
    return std::fmin(std::fmax(src, 0.0), in_size - 1.0);
}

void test_linear_planes_are_reproduced()
{
    int const sizes[][4] = {{5, 7, 13, 3}, {1, 1, 4, 6}, {9, 4, 9, 4}, {16, 12, 3, 31}, {3, 8, 1, 1}, {7, 1, 20, 2}};
    for (auto const& s : sizes)
    {
        for (int align = 0; align < 2; ++align)
        {
            int const in_h = s[0], in_w = s[1], out_h = s[2], out_w = s[3];
            std::vector<float> in(static_cast<size_t>(in_h * in_w));
            for (int y = 0; y < in_h; ++y)
                for (int x = 0; x < in_w; ++x)
                    in[static_cast<size_t>(y * in_w + x)] = 0.25F * y - 0.125F * x + 1.0F;
            std::vector<float> out(static_cast<size_t>(out_h * out_w));
            CHECK(es_host_bilinear_resize(in.data(), out.data(), ES_FLOAT32, 1, 1, in_h, in_w, out_h, out_w, align, 0, 0)
                == ES_OK);
            double worst = 0;
            for (int y = 0; y < out_h; ++y)
                for (int x = 0; x < out_w; ++x)
                {
                    double const sy = clamped_source(y, in_h, out_h, align != 0);
                    double const sx = clamped_source(x, in_w, out_w, align != 0);
                    double const expected = 0.25 * sy - 0.125 * sx + 1.0;
                    worst = std::fmax(worst, std::fabs(out[static_cast<size_t>(y * out_w + x)] - expected));
                }
            CHECK(worst < 2e-6);
        }
    }
}

void test_same_size_is_identity_and_corners_are_kept()
{
    unsigned state = 7;
    int const h = 11, w = 6;
    std::vector<float> in(static_cast<size_t>(2 * h * w));
    for (auto& v : in)
        v = next_value(state);
    std::vector<float> out(in.size());
    CHECK(es_host_bilinear_resize(in.data(), out.data(), ES_FLOAT32, 2, 1, h, w, h, w, 0, 0, 0) == ES_OK);
    CHECK(out == in);

    int const oh = 23, ow = 17;
    std::vector<float> big(static_cast<size_t>(oh * ow));
    CHECK(es_host_bilinear_resize(in.data(), big.data(), ES_FLOAT32, 1, 1, h, w, oh, ow, 1, 0, 0) == ES_OK);
    CHECK(big[0] == in[0]);
    CHECK(big[static_cast<size_t>(ow - 1)] == in[static_cast<size_t>(w - 1)]);
    CHECK(big[static_cast<size_t>((oh - 1) * ow)] == in[static_cast<size_t>((h - 1) * w)]);
    CHECK(big[static_cast<size_t>(oh * ow - 1)] == in[static_cast<size_t>(h * w - 1)]);
}

void test_half_conversion()
{
    // every finite half survives half -> float -> half; a few known encodings
    int mismatches = 0;
    for (uint32_t h = 0; h < 0x10000u; ++h)
    {
        bool const nan = ((h >> 10) & 0x1fu) == 0x1fu && (h & 0x3ffu) != 0;
        if (!nan && es::float_to_half_bits(es::half_bits_to_float(static_cast<uint16_t>(h))) != h)
            ++mismatches;
    }
    CHECK(mismatches == 0);
    CHECK(es::float_to_half_bits(1.0F) == 0x3c00u);
    CHECK(es::float_to_half_bits(-2.0F) == 0xc000u);
    CHECK(es::float_to_half_bits(65504.0F) == 0x7bffu);
    CHECK(es::float_to_half_bits(65520.0F) == 0x7c00u);         // rounds up to inf
    CHECK(es::float_to_half_bits(std::ldexp(1.0F, -24)) == 0x0001u); // smallest subnormal
    CHECK(es::float_to_half_bits(std::ldexp(1.0F, -25)) == 0x0000u); // tie to even: zero
    CHECK(es::float_to_half_bits(1.0F + std::ldexp(1.0F, -11)) == 0x3c00u); // tie to even
    CHECK(es::float_to_half_bits(1.0F + 3 * std::ldexp(1.0F, -11)) == 0x3c02u);
    CHECK(es::half_bits_to_float(0x3555u) == 0.333251953125F);
}

void test_fused_equals_separate()
{
    unsigned state = 3;
    int const batch = 2, out_h = 24, out_w = 32;
    int hs[3] = {3, 6, 24};
    int ws[3] = {4, 8, 32};
    std::vector<std::vector<float>> maps(3);
    void const* ptrs[3];
    for (int m = 0; m < 3; ++m)
    {
        maps[m].resize(static_cast<size_t>(batch * hs[m] * ws[m]));
        for (auto& v : maps[m])
            v = next_value(state);
        ptrs[m] = maps[m].data();
    }
    for (int align = 0; align < 2; ++align)
    {
        std::vector<float> fused(static_cast<size_t>(batch * 3 * out_h * out_w));
        CHECK(es_host_bilinear_resize_concat(ptrs, hs, ws, 3, batch, fused.data(), ES_FLOAT32, out_h, out_w, align)
            == ES_OK);
        size_t const plane = static_cast<size_t>(out_h * out_w);
        for (int m = 0; m < 3; ++m)
        {
            std::vector<float> single(static_cast<size_t>(batch) * plane);
            CHECK(es_host_bilinear_resize(
                      maps[m].data(), single.data(), ES_FLOAT32, batch, 1, hs[m], ws[m], out_h, out_w, align, 0, 0)
                == ES_OK);
            for (int b = 0; b < batch; ++b)
                for (size_t i = 0; i < plane; ++i)
                    CHECK(fused[(static_cast<size_t>(b) * 3 + m) * plane + i] == single[b * plane + i]);
        }
    }
}

void test_errors_and_size_rule()
{
    float buffer[4] = {0, 0, 0, 0};
    CHECK(es_host_bilinear_resize(nullptr, buffer, ES_FLOAT32, 1, 1, 1, 1, 1, 1, 0, 0, 0) == ES_ERR_NULL_POINTER);
    CHECK(es_host_bilinear_resize(buffer, buffer, 7, 1, 1, 1, 1, 1, 1, 0, 0, 0) == ES_ERR_BAD_DTYPE);
    CHECK(es_host_bilinear_resize(buffer, buffer, ES_FLOAT32, 1, 1, 0, 1, 1, 1, 0, 0, 0) == ES_ERR_BAD_SHAPE);
    void const* ptrs[ES_MAX_FUSED_MAPS + 1] = {};
    int dims[ES_MAX_FUSED_MAPS + 1] = {};
    CHECK(es_host_bilinear_resize_concat(ptrs, dims, dims, ES_MAX_FUSED_MAPS + 1, 1, buffer, ES_FLOAT32, 1, 1, 0)
        == ES_ERR_TOO_MANY_MAPS);
    long long h = 0, w = 0;
    CHECK(es_host_output_size(15, 20, 480, 640, 0, 0, &h, &w) == ES_OK && h == 480 && w == 640);
    CHECK(es_host_output_size(15, 20, 0, 0, 32.0, 32.0, &h, &w) == ES_OK && h == 480 && w == 640);
    CHECK(es_host_output_size(15, 20, 0, 0, 1.5, 0.5, &h, &w) == ES_OK && h == 22 && w == 10);
    CHECK(es_host_output_size(15, 20, 0, 0, 0, 0, &h, &w) == ES_ERR_BAD_SIZE_RULE);
    CHECK(es_host_abi_version() == ES_ABI_VERSION);
}

} // namespace

int main()
{
    test_linear_planes_are_reproduced();
    test_same_size_is_identity_and_corners_are_kept();
    test_half_conversion();
    test_fused_equals_separate();
    test_errors_and_size_rule();
    if (failures != 0)
    {
        std::printf("%d check(s) failed\n", failures);
        return 1;
    }
    std::printf("all host checks passed\n");
    return 0;
}
