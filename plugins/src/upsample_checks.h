// Argument checks and status strings shared by the host and the CUDA library (one rule for both).
#ifndef EDGE_SALIENCY_UPSAMPLE_CHECKS_H
#define EDGE_SALIENCY_UPSAMPLE_CHECKS_H

#include "edge_saliency/bilinear.h"
#include "edge_saliency/upsample_api.h"

namespace es
{

inline int check_resize(void const* input, void* output, int dtype, int n, int c, int in_h, int in_w, int out_h,
    int out_w, double scale_h, double scale_w)
{
    if (input == nullptr || output == nullptr)
    {
        return ES_ERR_NULL_POINTER;
    }
    if (dtype != ES_FLOAT32 && dtype != ES_FLOAT16)
    {
        return ES_ERR_BAD_DTYPE;
    }
    if (n < 0 || c < 0 || in_h <= 0 || in_w <= 0 || out_h <= 0 || out_w <= 0 || scale_h < 0.0 || scale_w < 0.0)
    {
        return ES_ERR_BAD_SHAPE;
    }
    return ES_OK;
}

inline int check_concat(void const* const* maps, int const* map_h, int const* map_w, int num_maps, int batch,
    void* output, int dtype, int out_h, int out_w)
{
    if (maps == nullptr || map_h == nullptr || map_w == nullptr || output == nullptr)
    {
        return ES_ERR_NULL_POINTER;
    }
    if (num_maps > kMaxFusedMaps)
    {
        return ES_ERR_TOO_MANY_MAPS;
    }
    if (dtype != ES_FLOAT32 && dtype != ES_FLOAT16)
    {
        return ES_ERR_BAD_DTYPE;
    }
    if (num_maps <= 0 || batch < 0 || out_h <= 0 || out_w <= 0)
    {
        return ES_ERR_BAD_SHAPE;
    }
    for (int i = 0; i < num_maps; ++i)
    {
        if (maps[i] == nullptr)
        {
            return ES_ERR_NULL_POINTER;
        }
        if (map_h[i] <= 0 || map_w[i] <= 0)
        {
            return ES_ERR_BAD_SHAPE;
        }
    }
    return ES_OK;
}

inline char const* argument_status_string(int status)
{
    switch (status)
    {
    case ES_OK: return "ok";
    case ES_ERR_NULL_POINTER: return "a tensor pointer is NULL";
    case ES_ERR_BAD_SHAPE: return "a size is not positive (or a scale is negative)";
    case ES_ERR_BAD_DTYPE: return "dtype must be ES_FLOAT32 (0) or ES_FLOAT16 (1)";
    case ES_ERR_TOO_MANY_MAPS: return "more maps than ES_MAX_FUSED_MAPS (32) in one fused resize";
    case ES_ERR_BAD_SIZE_RULE: return "output size needs output_height/output_width > 0 or positive scales";
    default: return nullptr;
    }
}

} // namespace es

#endif // EDGE_SALIENCY_UPSAMPLE_CHECKS_H
