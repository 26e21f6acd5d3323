// libedge_saliency_trt_plugin.so driven the way TensorRT drives it, compiled against one TensorRT version's real
// headers (CMake builds one program per TensorRT: es_trt_plugin_tests[_<version>]; CTest: tensorrt_plugin[_<v>]).
//
//   es_trt_plugin_tests PLUGIN_LIBRARY [AUTOREGISTER_LIBRARY]
//   es_trt_plugin_tests --print-node-attributes      (the node attributes below; tests/plugins compares them with
//                                                      edge_saliency/plugins/upsample_op.py)
//
//  1. loading: dlopen registers nothing; the entry points TensorRT reads exist (getCreators on >= 10,
//     getPluginCreators on 8.x, setLoggerFinder from 8.6) and hand over one creator, which a registry that refuses
//     duplicates (as IPluginRegistry::loadLibrary does, NvInferRuntimeCommon.h) accepts exactly once;
//  2. creation from PluginFields typed as the ONNX parser types the node's attributes (onnx-tensorrt loadFields:
//     INT -> kINT32, FLOAT -> kFLOAT32, STRING -> kCHAR including its NUL), only for the fields the creator lists;
//  3. output shapes for a fixed size and scales 2, 0.5, 16 (and 1.5) on constant and dynamic dimensions, through a
//     fake IExprBuilder that keeps the expressions and evaluates them; formats; serialization round trip;
//     clone / attachToContext;
//  4. enqueue: a bad argument and a failing CUDA launch (no GPU) reach TensorRT's logger (8.5: stderr); with a GPU
//     the output matches an independent bilinear reference;
//  5. the autoregister library registers the same creator through getPluginRegistry() once, and loading the plugin
//     library into that registry as well is then refused: why the plugin library never registers itself.
#include <NvInferRuntime.h>
#include <cuda_runtime_api.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

// The test implements each version's whole IPluginRegistry, whose 8.x / 10.x parts are marked TRT_DEPRECATED.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

#define ES_TRT_AT_LEAST(major, minor)                                                                                 \
    (NV_TENSORRT_MAJOR > (major) || (NV_TENSORRT_MAJOR == (major) && NV_TENSORRT_MINOR >= (minor)))

using namespace nvinfer1;

namespace
{

using DimValue = decltype(std::declval<IDimensionExpr const&>().getConstantValue());
using DimsValue = std::remove_reference_t<decltype(std::declval<Dims>().d[0])>;

#if NV_TENSORRT_MAJOR >= 10
using Creator = IPluginCreatorV3One;
using CreatorInterface = IPluginCreatorInterface;
char const* const kEntryPoint = "getCreators";
char const* const kOtherEntryPoint = "getPluginCreators";
using Plugin = IPluginV3;
#else
using Creator = IPluginCreator;
using CreatorInterface = IPluginCreator;
char const* const kEntryPoint = "getPluginCreators";
char const* const kOtherEntryPoint = "getCreators";
using Plugin = IPluginV2DynamicExt;
#endif
using EntryPoint = CreatorInterface* const* (*) (int32_t&);

char const* const kName = "BilinearUpsample_TRT";
char const* const kVersion = "1";

// ---------------------------------------------------------------------------------------------------------------
int gFailures = 0;
int gChecks = 0;
std::string gContext;

void check(bool ok, char const* what, int line, std::string const& detail = std::string())
{
    ++gChecks;
    if (!ok)
    {
        ++gFailures;
        std::fprintf(stdout, "FAIL line %d [%s]: %s %s\n", line, gContext.c_str(), what, detail.c_str());
    }
}
#define CHECK(cond) check((cond), #cond, __LINE__)
#define CHECK_MSG(cond, detail) check((cond), #cond, __LINE__, (detail))

std::string text(char const* s)
{
    return s != nullptr ? s : "";
}

// ---------------------------------------------------------------------------------------------------------------
// TensorRT's logger (what the plugin finds through ILoggerFinder) and stderr, captured
class CapturingLogger : public ILogger
{
public:
    void log(Severity severity, AsciiChar const* msg) noexcept override
    {
        if (severity <= Severity::kWARNING)
        {
            messages.emplace_back(msg != nullptr ? msg : "");
        }
    }
    std::vector<std::string> messages;
};
CapturingLogger gLogger;

#if ES_TRT_AT_LEAST(8, 6)
class Finder : public ILoggerFinder
{
public:
    ILogger* findLogger() noexcept override
    {
        return &gLogger;
    }
};
Finder gFinder;
#endif

class StderrCapture
{
public:
    StderrCapture()
    {
        std::fflush(stderr);
        std::snprintf(mPath, sizeof(mPath), "/tmp/es_trt_plugin_stderr_XXXXXX");
        mFile = mkstemp(mPath);
        mSaved = dup(2);
        dup2(mFile, 2);
    }
    std::string finish()
    {
        std::fflush(stderr);
        dup2(mSaved, 2);
        close(mSaved);
        std::string text;
        lseek(mFile, 0, SEEK_SET);
        char buffer[512];
        ssize_t n = 0;
        while ((n = read(mFile, buffer, sizeof(buffer))) > 0)
        {
            text.append(buffer, static_cast<size_t>(n));
        }
        close(mFile);
        unlink(mPath);
        return text;
    }

private:
    char mPath[64];
    int mFile{-1};
    int mSaved{-1};
};

//! The error message the plugin reported for the call in ``fn``: TensorRT's logger from 8.6, stderr on 8.5.
template <typename Fn>
std::string reported_error(Fn fn)
{
    gLogger.messages.clear();
    StderrCapture capture;
    fn();
    std::string const err = capture.finish();
#if ES_TRT_AT_LEAST(8, 6)
    CHECK_MSG(err.empty(), "stderr: " + err);  // the logger, not stderr
    return gLogger.messages.empty() ? std::string() : gLogger.messages.back();
#else
    CHECK(gLogger.messages.empty());
    return err.empty() || err.back() != '\n' ? err : err.substr(0, err.size() - 1);
#endif
}

// ---------------------------------------------------------------------------------------------------------------
// A fake IExprBuilder: expressions over named symbols (dynamic dimensions), kept as trees and evaluated later.
class FakeDim final : public IDimensionExpr, public apiv::VDimensionExpr
{
public:
    enum class Kind
    {
        kCONSTANT,
        kSYMBOL,
        kOPERATION
    };
    FakeDim(Kind kind, int64_t value, DimensionOperation op, FakeDim const* a, FakeDim const* b)
        : kind(kind)
        , value(value)
        , op(op)
        , lhs(a)
        , rhs(b)
    {
        mImpl = this;
    }
    bool isConstant() const override
    {
        return kind == Kind::kCONSTANT;
    }
    DimValue getConstantValue() const override
    {
        return isConstant() ? static_cast<DimValue>(value) : std::numeric_limits<DimValue>::min();
    }
#if NV_TENSORRT_MAJOR >= 10
    bool isSizeTensor() const override
    {
        return false;
    }
#endif
    //! value with each symbol i bound to symbols[i]
    int64_t evaluate(std::vector<int64_t> const& symbols) const
    {
        if (kind == Kind::kCONSTANT)
        {
            return value;
        }
        if (kind == Kind::kSYMBOL)
        {
            return symbols.at(static_cast<size_t>(value));
        }
        int64_t const a = lhs->evaluate(symbols);
        int64_t const b = rhs->evaluate(symbols);
        switch (op)
        {
        case DimensionOperation::kSUM: return a + b;
        case DimensionOperation::kPROD: return a * b;
        case DimensionOperation::kMAX: return a > b ? a : b;
        case DimensionOperation::kMIN: return a < b ? a : b;
        case DimensionOperation::kSUB: return a - b;
        case DimensionOperation::kEQUAL: return a == b ? 1 : 0;
        case DimensionOperation::kLESS: return a < b ? 1 : 0;
        case DimensionOperation::kFLOOR_DIV: return static_cast<int64_t>(std::floor(static_cast<double>(a) / b));
        case DimensionOperation::kCEIL_DIV: return static_cast<int64_t>(std::ceil(static_cast<double>(a) / b));
        }
        return std::numeric_limits<int64_t>::min();
    }

    Kind kind;
    int64_t value;
    DimensionOperation op;
    FakeDim const* lhs;
    FakeDim const* rhs;
};

class FakeExprBuilder final : public IExprBuilder, public apiv::VExprBuilder
{
public:
    FakeExprBuilder()
    {
        mImpl = this;
    }
    IDimensionExpr const* constant(DimValue value) override
    {
        return make(FakeDim::Kind::kCONSTANT, value, DimensionOperation::kSUM, nullptr, nullptr);
    }
    IDimensionExpr const* operation(DimensionOperation op, IDimensionExpr const& first, IDimensionExpr const& second)
        override
    {
        auto const& a = static_cast<FakeDim const&>(first);
        auto const& b = static_cast<FakeDim const&>(second);
        if (a.isConstant() && b.isConstant())  // TensorRT folds constant operands into a constant
        {
            return constant(static_cast<DimValue>(FakeDim(FakeDim::Kind::kOPERATION, 0, op, &a, &b).evaluate({})));
        }
        return make(FakeDim::Kind::kOPERATION, 0, op, &a, &b);
    }
#if NV_TENSORRT_MAJOR >= 10
    IDimensionExpr const* declareSizeTensor(int32_t, IDimensionExpr const&, IDimensionExpr const&) override
    {
        ++sizeTensorCalls;  // our plugin has no data-dependent output shape
        return nullptr;
    }
#endif
    IDimensionExpr const* symbol(int64_t index)
    {
        return make(FakeDim::Kind::kSYMBOL, index, DimensionOperation::kSUM, nullptr, nullptr);
    }
    int sizeTensorCalls{0};

private:
    FakeDim const* make(FakeDim::Kind kind, int64_t value, DimensionOperation op, FakeDim const* a, FakeDim const* b)
    {
        mNodes.emplace_back(new FakeDim(kind, value, op, a, b));
        return mNodes.back().get();
    }
    std::deque<std::unique_ptr<FakeDim>> mNodes;
};

int64_t eval(IDimensionExpr const* e, std::vector<int64_t> const& symbols)
{
    return static_cast<FakeDim const*>(e)->evaluate(symbols);
}

// ---------------------------------------------------------------------------------------------------------------
// A plugin registry that refuses a second creator of the same name, version and namespace, as TensorRT's does
// ("Returns false if a plugin creator with the same type is already registered"), with loadLibrary read through
// the library's entry points the way TensorRT reads them (8.6+).
std::string creator_key(CreatorInterface& c, std::string const& ns)
{
#if NV_TENSORRT_MAJOR >= 10
    std::string const kind = c.getInterfaceInfo().kind;
    if (kind == "PLUGIN CREATOR_V3ONE")
    {
        auto& v3 = static_cast<IPluginCreatorV3One&>(c);
        return std::string(v3.getPluginName()) + "/" + v3.getPluginVersion() + "/" + ns;
    }
    if (kind == "PLUGIN CREATOR_V1")
    {
        auto& v2 = static_cast<IPluginCreator&>(c);
        return std::string(v2.getPluginName()) + "/" + v2.getPluginVersion() + "/" + ns;
    }
    return "unknown creator interface " + kind;
#else
    return std::string(c.getPluginName()) + "/" + c.getPluginVersion() + "/" + ns;
#endif
}

class FakeRegistry final : public IPluginRegistry
{
public:
    bool add(CreatorInterface& creator, char const* ns)
    {
        std::string const key = creator_key(creator, ns != nullptr ? ns : "");
        if (mCreators.count(key) != 0)
        {
            ++refused;
            return false;
        }
        mCreators[key] = &creator;
        mList.push_back(&creator);
        return true;
    }
    CreatorInterface* find(char const* name, char const* version, char const* ns)
    {
        for (auto& entry : mCreators)
        {
            if (entry.first == std::string(name) + "/" + version + "/" + (ns != nullptr ? ns : ""))
            {
                return entry.second;
            }
        }
        return nullptr;
    }
    bool remove(CreatorInterface const& creator)
    {
        for (auto it = mCreators.begin(); it != mCreators.end(); ++it)
        {
            if (it->second == &creator)
            {
                mCreators.erase(it);
                mList.clear();
                for (auto& entry : mCreators)
                {
                    mList.push_back(entry.second);
                }
                return true;
            }
        }
        return false;
    }
    size_t size() const
    {
        return mCreators.size();
    }
    void clear()
    {
        mCreators.clear();
        mList.clear();
        refused = 0;
    }
    int refused{0};

    // -- IPluginRegistry of this TensorRT version ---------------------------------------------------------------
#if NV_TENSORRT_MAJOR < 11
    IPluginCreator* const* getPluginCreatorList(int32_t* const numCreators) const noexcept override
    {
        *numCreators = 0;
        return nullptr;
    }
#endif
    void setErrorRecorder(IErrorRecorder* const) noexcept override {}
    IErrorRecorder* getErrorRecorder() const noexcept override
    {
        return nullptr;
    }
#if NV_TENSORRT_MAJOR < 10
    bool registerCreator(IPluginCreator& creator, AsciiChar const* const ns) noexcept override
    {
        return add(creator, ns);
    }
    IPluginCreator* getPluginCreator(AsciiChar const* const name, AsciiChar const* const version,
        AsciiChar const* const ns = "") noexcept override
    {
        return find(name, version, ns);
    }
    bool deregisterCreator(IPluginCreator const& creator) noexcept override
    {
        return remove(creator);
    }
#else
#if NV_TENSORRT_MAJOR < 11
    bool registerCreator(IPluginCreator& creator, AsciiChar const* const ns) noexcept override
    {
        return add(creator, ns);
    }
    IPluginCreator* getPluginCreator(
        AsciiChar const* const, AsciiChar const* const, AsciiChar const* const = "") noexcept override
    {
        return nullptr;  // V1 creators only; ours is IPluginCreatorV3One
    }
    bool deregisterCreator(IPluginCreator const& creator) noexcept override
    {
        return remove(creator);
    }
#endif
    bool registerCreator(IPluginCreatorInterface& creator, AsciiChar const* const ns) noexcept override
    {
        return add(creator, ns);
    }
    IPluginCreatorInterface* const* getAllCreators(int32_t* const numCreators) const noexcept override
    {
        *numCreators = static_cast<int32_t>(mList.size());
        return mList.empty() ? nullptr : mList.data();
    }
    IPluginCreatorInterface* getCreator(AsciiChar const* const name, AsciiChar const* const version,
        AsciiChar const* const ns = "") noexcept override
    {
        return find(name, version, ns);
    }
    bool deregisterCreator(IPluginCreatorInterface const& creator) noexcept override
    {
        return remove(creator);
    }
    IPluginResource* acquirePluginResource(AsciiChar const*, IPluginResource*) noexcept override
    {
        return nullptr;
    }
    int32_t releasePluginResource(AsciiChar const*) noexcept override
    {
        return 1;
    }
#if ES_TRT_AT_LEAST(10, 16)
    IPluginCreatorInterface* const* getAllCreatorsRecursive(int32_t* const numCreators) noexcept override
    {
        return getAllCreators(numCreators);
    }
#endif
#endif

#if ES_TRT_AT_LEAST(8, 6)
    bool isParentSearchEnabled() const override
    {
        return false;
    }
    void setParentSearchEnabled(bool const) override {}

    //! As TensorRT: dlopen, read the creators through the entry point, hand over a logger finder, register them all
    //! or fail with nullptr when one is already registered.
    PluginLibraryHandle loadLibrary(AsciiChar const* path) noexcept override
    {
        void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (handle == nullptr)
        {
            return nullptr;
        }
        auto entry = reinterpret_cast<EntryPoint>(dlsym(handle, kEntryPoint));
        int32_t count = 0;
        CreatorInterface* const* creators = entry != nullptr ? entry(count) : nullptr;
        for (int32_t i = 0; i < count; ++i)
        {
            if (find_key(creator_key(*creators[i], "")))
            {
                ++refused;
                dlclose(handle);
                return nullptr;
            }
        }
        if (creators == nullptr || count == 0)
        {
            dlclose(handle);
            return nullptr;
        }
        auto setFinder = reinterpret_cast<void (*)(ILoggerFinder*)>(dlsym(handle, "setLoggerFinder"));
        if (setFinder != nullptr)
        {
            setFinder(&gFinder);
        }
        for (int32_t i = 0; i < count; ++i)
        {
            add(*creators[i], "");
        }
        mLibraries[handle] = std::vector<CreatorInterface*>(creators, creators + count);
        return handle;
    }
    void deregisterLibrary(PluginLibraryHandle handle) noexcept override
    {
        auto it = mLibraries.find(handle);
        if (it == mLibraries.end())
        {
            return;
        }
        for (CreatorInterface* c : it->second)
        {
            remove(*c);
        }
        mLibraries.erase(it);
        dlclose(handle);
    }
#endif

private:
    bool find_key(std::string const& key) const
    {
        return mCreators.count(key) != 0;
    }
    std::map<std::string, CreatorInterface*> mCreators;
    std::vector<CreatorInterface*> mList;
    std::map<void*, std::vector<CreatorInterface*>> mLibraries;
};

FakeRegistry gRegistry;
int gRegistryCalls = 0;

} // namespace

// The global registry a library linked against libnvinfer reaches (the autoregister library): ours, exported
// from this executable so that it takes precedence over the (stub) libnvinfer.
extern "C" TENSORRTAPI __attribute__((visibility("default"))) IPluginRegistry* getPluginRegistry() noexcept
{
    ++gRegistryCalls;
    return &gRegistry;
}

namespace
{

// ---------------------------------------------------------------------------------------------------------------
// The node's attributes as the exporter writes them (edge_saliency/plugins/upsample_op.py) and the PluginFields the
// ONNX parser builds from them: only fields the creator lists, INT -> kINT32, FLOAT -> kFLOAT32, STRING -> kCHAR
// with the terminating NUL counted in its length.
struct Attribute
{
    enum Type
    {
        kINT,
        kFLOAT,
        kSTRING
    } type;
    int64_t i;
    float f;
    std::string s;
};

using NodeAttributes = std::map<std::string, Attribute>;

NodeAttributes node_attributes(int64_t out_h, int64_t out_w, float scale_h, float scale_w, int64_t align_corners)
{
    return {
        {"output_height", {Attribute::kINT, out_h, 0.0F, ""}},
        {"output_width", {Attribute::kINT, out_w, 0.0F, ""}},
        {"scale_height", {Attribute::kFLOAT, 0, scale_h, ""}},
        {"scale_width", {Attribute::kFLOAT, 0, scale_w, ""}},
        {"align_corners", {Attribute::kINT, align_corners, 0.0F, ""}},
        {"plugin_version", {Attribute::kSTRING, 0, 0.0F, kVersion}},
        {"plugin_namespace", {Attribute::kSTRING, 0, 0.0F, ""}},
    };
}

class ParserFields
{
public:
    ParserFields(NodeAttributes const& attrs, PluginFieldCollection const* names)
    {
        for (int32_t i = 0; names != nullptr && i < names->nbFields; ++i)
        {
            auto it = attrs.find(names->fields[i].name);
            if (it == attrs.end())
            {
                continue;  // the parser warns and leaves the field out
            }
            std::vector<uint8_t>& bytes = mData[it->first];
            Attribute const& a = it->second;
            PluginFieldType type{};
            int32_t length = 1;
            if (a.type == Attribute::kINT)
            {
                int32_t const v = static_cast<int32_t>(a.i);  // attrs.get<int32_t>
                bytes.resize(sizeof(v));
                std::memcpy(bytes.data(), &v, sizeof(v));
                type = PluginFieldType::kINT32;
            }
            else if (a.type == Attribute::kFLOAT)
            {
                bytes.resize(sizeof(a.f));
                std::memcpy(bytes.data(), &a.f, sizeof(a.f));
                type = PluginFieldType::kFLOAT32;
            }
            else
            {
                bytes.assign(a.s.begin(), a.s.end());
                bytes.push_back('\0');
                length = static_cast<int32_t>(bytes.size());
                type = PluginFieldType::kCHAR;
            }
            mFields.emplace_back(it->first.c_str(), bytes.data(), type, length);
        }
        collection.nbFields = static_cast<int32_t>(mFields.size());
        collection.fields = mFields.data();
    }
    PluginFieldCollection collection{};

private:
    std::map<std::string, std::vector<uint8_t>> mData;
    std::vector<PluginField> mFields;
};

//! A deep copy of a field collection (TensorRT stores serialized fields' bytes in the engine).
class CopiedFields
{
public:
    explicit CopiedFields(PluginFieldCollection const* fc)
    {
        for (int32_t i = 0; fc != nullptr && i < fc->nbFields; ++i)
        {
            PluginField const& f = fc->fields[i];
            size_t const size = static_cast<size_t>(f.length) * element_size(f.type);
            mNames.emplace_back(f.name);
            mData.emplace_back(static_cast<uint8_t const*>(f.data), static_cast<uint8_t const*>(f.data) + size);
        }
        for (int32_t i = 0; fc != nullptr && i < fc->nbFields; ++i)
        {
            mFields.emplace_back(mNames[static_cast<size_t>(i)].c_str(), mData[static_cast<size_t>(i)].data(),
                fc->fields[i].type, fc->fields[i].length);
        }
        collection.nbFields = static_cast<int32_t>(mFields.size());
        collection.fields = mFields.data();
    }
    static size_t element_size(PluginFieldType type)
    {
        switch (type)
        {
        case PluginFieldType::kFLOAT64: return 8;
        case PluginFieldType::kFLOAT32:
        case PluginFieldType::kINT32: return 4;
        case PluginFieldType::kFLOAT16:
        case PluginFieldType::kINT16: return 2;
        default: return 1;
        }
    }
    PluginFieldCollection collection{};

private:
    std::deque<std::string> mNames;
    std::deque<std::vector<uint8_t>> mData;
    std::vector<PluginField> mFields;
};

// ---------------------------------------------------------------------------------------------------------------
// Version-neutral access to the plugin: create, shapes, formats, serialize, clone, enqueue.
struct Case
{
    std::string label;
    int64_t out_h, out_w;
    float scale_h, scale_w;
    int64_t align;
};

double expected_dim(int64_t in, int64_t size, float scale)
{
    return size > 0 ? static_cast<double>(size) : std::floor(static_cast<double>(in) * static_cast<double>(scale));
}

#if NV_TENSORRT_MAJOR >= 10
Plugin* create(Creator& creator, PluginFieldCollection const* fc, TensorRTPhase phase = TensorRTPhase::kBUILD)
{
    return creator.createPlugin("upsample_node", fc, phase);
}
IPluginV3OneBuild* build_of(Plugin* p)
{
    return static_cast<IPluginV3OneBuild*>(p->getCapabilityInterface(PluginCapabilityType::kBUILD));
}
IPluginV3OneRuntime* runtime_of(Plugin* p)
{
    return static_cast<IPluginV3OneRuntime*>(p->getCapabilityInterface(PluginCapabilityType::kRUNTIME));
}
void destroy(Plugin* p)
{
    delete p;
}
//! output dims for input expressions; false when the plugin reports an error
bool output_shape(Plugin* p, IExprBuilder& builder, DimsExprs const& in, DimsExprs& out)
{
    return build_of(p)->getOutputShapes(&in, 1, nullptr, 0, &out, 1, builder) == 0;
}
bool supports(Plugin* p, int32_t pos, PluginTensorDesc const* io)
{
    DynamicPluginTensorDesc d[2]{};
    d[0].desc = io[0];
    d[1].desc = io[1];
    return build_of(p)->supportsFormatCombination(pos, d, 1, 1);
}
DataType output_type(Plugin* p, DataType in)
{
    DataType out = DataType::kINT32;
    CHECK(build_of(p)->getOutputDataTypes(&out, 1, &in, 1) == 0);
    return out;
}
int32_t configure(Plugin* p, PluginTensorDesc const& in, PluginTensorDesc const& out)
{
    DynamicPluginTensorDesc i{};
    DynamicPluginTensorDesc o{};
    i.desc = in;
    o.desc = out;
    return build_of(p)->configurePlugin(&i, 1, &o, 1);
}
int32_t enqueue(Plugin* p, PluginTensorDesc const& in, PluginTensorDesc const& out, void const* x, void* y,
    cudaStream_t stream)
{
    IPluginV3OneRuntime* runtime = runtime_of(p);
    if (runtime->onShapeChange(&in, 1, &out, 1) != 0)
    {
        return -1;
    }
    void const* inputs[] = {x};
    void* outputs[] = {y};
    return runtime->enqueue(&in, &out, inputs, outputs, nullptr, stream);
}
#else
Plugin* create(Creator& creator, PluginFieldCollection const* fc)
{
    return static_cast<Plugin*>(creator.createPlugin("upsample_node", fc));
}
void destroy(Plugin* p)
{
    p->destroy();
}
bool output_shape(Plugin* p, IExprBuilder& builder, DimsExprs const& in, DimsExprs& out)
{
    out = p->getOutputDimensions(0, &in, 1, builder);
    return out.nbDims == 4;
}
bool supports(Plugin* p, int32_t pos, PluginTensorDesc const* io)
{
    return p->supportsFormatCombination(pos, io, 1, 1);
}
DataType output_type(Plugin* p, DataType in)
{
    return p->getOutputDataType(0, &in, 1);
}
int32_t configure(Plugin* p, PluginTensorDesc const& in, PluginTensorDesc const& out)
{
    DynamicPluginTensorDesc i{};
    DynamicPluginTensorDesc o{};
    i.desc = in;
    o.desc = out;
    p->configurePlugin(&i, 1, &o, 1);  // void on V2: errors only reach the logger
    return 0;
}
int32_t enqueue(Plugin* p, PluginTensorDesc const& in, PluginTensorDesc const& out, void const* x, void* y,
    cudaStream_t stream)
{
    void const* inputs[] = {x};
    void* outputs[] = {y};
    return p->enqueue(&in, &out, inputs, outputs, nullptr, stream);
}
#endif

PluginTensorDesc tensor(std::vector<int64_t> const& shape, DataType type, TensorFormat format = TensorFormat::kLINEAR)
{
    PluginTensorDesc d{};
    d.dims.nbDims = static_cast<int32_t>(shape.size());
    for (size_t i = 0; i < shape.size(); ++i)
    {
        d.dims.d[i] = static_cast<DimsValue>(shape[i]);
    }
    d.type = type;
    d.format = format;
    d.scale = -1.0F;
    return d;
}

DimsExprs symbolic_input(FakeExprBuilder& builder, bool dynamic_hw, int64_t h, int64_t w)
{
    DimsExprs in{};
    in.nbDims = 4;
    in.d[0] = builder.symbol(0);  // batch: dynamic
    in.d[1] = builder.constant(1);
    in.d[2] = dynamic_hw ? builder.symbol(1) : builder.constant(static_cast<DimValue>(h));
    in.d[3] = dynamic_hw ? builder.symbol(2) : builder.constant(static_cast<DimValue>(w));
    return in;
}

void check_shapes(Plugin* p, Case const& c)
{
    // constant spatial dimensions (a static engine): the output is a constant
    for (auto hw : std::vector<std::pair<int64_t, int64_t>>{{15, 20}, {7, 10}, {1, 1}, {480, 640}})
    {
        FakeExprBuilder builder;
        DimsExprs in = symbolic_input(builder, false, hw.first, hw.second);
        DimsExprs out{};
        CHECK(output_shape(p, builder, in, out));
        CHECK(out.nbDims == 4 && out.d[0] == in.d[0] && out.d[1] == in.d[1]);
        CHECK(out.d[2] != nullptr && out.d[2]->isConstant() && out.d[3] != nullptr && out.d[3]->isConstant());
        if (out.d[2] != nullptr && out.d[3] != nullptr)
        {
            CHECK(out.d[2]->getConstantValue() == expected_dim(hw.first, c.out_h, c.scale_h));
            CHECK(out.d[3]->getConstantValue() == expected_dim(hw.second, c.out_w, c.scale_w));
        }
    }
    // dynamic spatial dimensions: one expression, right for every size
    FakeExprBuilder builder;
    DimsExprs in = symbolic_input(builder, true, 0, 0);
    DimsExprs out{};
    CHECK(output_shape(p, builder, in, out));
    CHECK(out.nbDims == 4 && out.d[2] != nullptr && out.d[3] != nullptr);
    if (out.nbDims == 4 && out.d[2] != nullptr && out.d[3] != nullptr)
    {
        CHECK(c.out_h <= 0 || out.d[2]->isConstant());
        int mismatches = 0;
        for (int64_t h = 1; h <= 300; ++h)
        {
            int64_t const w = 2 * h + 1;
            std::vector<int64_t> const sym{3, h, w};
            mismatches += eval(out.d[2], sym) != expected_dim(h, c.out_h, c.scale_h);
            mismatches += eval(out.d[3], sym) != expected_dim(w, c.out_w, c.scale_w);
            mismatches += eval(out.d[0], sym) != 3;
        }
        CHECK_MSG(mismatches == 0, std::to_string(mismatches) + " sizes disagree with floor(in * scale)");
    }
#if NV_TENSORRT_MAJOR >= 10
    CHECK(builder.sizeTensorCalls == 0);
#endif
}

void check_formats(Plugin* p)
{
    CHECK(output_type(p, DataType::kFLOAT) == DataType::kFLOAT);
    CHECK(output_type(p, DataType::kHALF) == DataType::kHALF);
    DataType const types[] = {DataType::kFLOAT, DataType::kHALF, DataType::kINT8, DataType::kINT32};
    TensorFormat const formats[] = {TensorFormat::kLINEAR, TensorFormat::kCHW32, TensorFormat::kHWC8};
    for (DataType ti : types)
    {
        for (DataType to : types)
        {
            for (TensorFormat fi : formats)
            {
                for (TensorFormat fo : formats)
                {
                    PluginTensorDesc io[2] = {tensor({1, 1, 4, 4}, ti, fi), tensor({1, 1, 8, 8}, to, fo)};
                    bool const floating = ti == DataType::kFLOAT || ti == DataType::kHALF;
                    bool const in_ok = floating && fi == TensorFormat::kLINEAR;
                    CHECK(supports(p, 0, io) == in_ok);
                    if (in_ok)  // TensorRT asks about position 1 with position 0 already chosen
                    {
                        CHECK(supports(p, 1, io) == (to == ti && fo == TensorFormat::kLINEAR));
                    }
                }
            }
        }
    }
    PluginTensorDesc io[2] = {tensor({1, 1, 4, 4}, DataType::kFLOAT), tensor({1, 1, 8, 8}, DataType::kFLOAT)};
    CHECK(!supports(p, 2, io) && !supports(p, -1, io));
}

std::vector<std::pair<int64_t, int64_t>> fixed_outputs(Plugin* p, std::vector<std::pair<int64_t, int64_t>> const& in)
{
    std::vector<std::pair<int64_t, int64_t>> result;
    for (auto hw : in)
    {
        FakeExprBuilder builder;
        DimsExprs din = symbolic_input(builder, false, hw.first, hw.second);
        DimsExprs out{};
        if (output_shape(p, builder, din, out) && out.d[2] != nullptr && out.d[3] != nullptr)
        {
            result.emplace_back(out.d[2]->getConstantValue(), out.d[3]->getConstantValue());
        }
    }
    return result;
}

//! serialize the plugin as TensorRT stores it in an engine and create it again as deserialization does
Plugin* round_trip(Creator& creator, Plugin* p)
{
#if NV_TENSORRT_MAJOR >= 10
    PluginFieldCollection const* fields = runtime_of(p)->getFieldsToSerialize();
    CHECK(fields != nullptr && fields->nbFields > 0);
    CopiedFields copy(fields);
    // a runtime creation sees only the serialized fields (TensorRTPhase::kRUNTIME)
    return create(creator, &copy.collection, TensorRTPhase::kRUNTIME);
#else
    std::vector<uint8_t> blob(p->getSerializationSize());
    p->serialize(blob.data());
    return static_cast<Plugin*>(creator.deserializePlugin("upsample_node", blob.data(), blob.size()));
#endif
}

// independent bilinear reference (PyTorch's formula, half-pixel or align_corners), for the GPU check
std::vector<float> reference_resize(std::vector<float> const& x, int h, int w, int oh, int ow, bool align)
{
    std::vector<float> y(static_cast<size_t>(oh * ow));
    auto source = [align](int dst, int in, int out) {
        double const s = align ? (out > 1 ? dst * static_cast<double>(in - 1) / (out - 1) : 0.0)
                               : std::max(0.0, (dst + 0.5) * in / out - 0.5);
        int const lo = std::min(static_cast<int>(std::floor(s)), in - 1);
        return std::make_pair(lo, s - lo);
    };
    for (int i = 0; i < oh; ++i)
    {
        auto const sy = source(i, h, oh);
        int const y1 = std::min(sy.first + 1, h - 1);
        for (int j = 0; j < ow; ++j)
        {
            auto const sx = source(j, w, ow);
            int const x1 = std::min(sx.first + 1, w - 1);
            auto at = [&](int r, int c) { return static_cast<double>(x[static_cast<size_t>(r * w + c)]); };
            double const top = at(sy.first, sx.first) * (1 - sx.second) + at(sy.first, x1) * sx.second;
            double const bottom = at(y1, sx.first) * (1 - sx.second) + at(y1, x1) * sx.second;
            y[static_cast<size_t>(i * ow + j)] = static_cast<float>(top * (1 - sy.second) + bottom * sy.second);
        }
    }
    return y;
}

void check_enqueue(Plugin* p)
{
    PluginTensorDesc const in = tensor({1, 1, 5, 7}, DataType::kFLOAT);
    PluginTensorDesc const out = tensor({1, 1, 10, 14}, DataType::kFLOAT);
    CHECK(configure(p, in, out) == 0);
    // a bad argument, caught before any CUDA call
    int32_t status = 0;
    std::string const null_error = reported_error([&] { status = enqueue(p, in, out, nullptr, nullptr, nullptr); });
    CHECK(status != 0);
    CHECK_MSG(null_error.find(kName) != std::string::npos && null_error.find("NULL") != std::string::npos,
        "reported: '" + null_error + "'");

    int devices = 0;
    cudaError_t const probe = cudaGetDeviceCount(&devices);
    if (probe != cudaSuccess || devices == 0)
    {
        // no GPU (or no driver): the kernel launch fails and the CUDA error reaches the logger
        static float dummy_in[70];
        static float dummy_out[140];
        std::string const launch_error
            = reported_error([&] { status = enqueue(p, in, out, dummy_in, dummy_out, nullptr); });
        CHECK(status != 0);
        bool const cuda_reason = launch_error.rfind(std::string(kName) + ": ", 0) == 0
            && launch_error.find("NULL") == std::string::npos && launch_error.size() > std::strlen(kName) + 4;
        CHECK_MSG(cuda_reason, "reported: '" + launch_error + "'");
        std::printf("  no GPU (%s): enqueue reported '%s'\n", cudaGetErrorString(probe), launch_error.c_str());
        return;
    }
    // a GPU: run it and compare with the reference
    std::vector<float> x(35);
    for (size_t i = 0; i < x.size(); ++i)
    {
        x[i] = static_cast<float>((i * 37) % 11) / 11.0F;
    }
    void* dx = nullptr;
    void* dy = nullptr;
    CHECK(cudaMalloc(&dx, 35 * sizeof(float)) == cudaSuccess && cudaMalloc(&dy, 140 * sizeof(float)) == cudaSuccess);
    cudaMemcpy(dx, x.data(), 35 * sizeof(float), cudaMemcpyHostToDevice);
    cudaStream_t stream = nullptr;
    cudaStreamCreate(&stream);
    CHECK(enqueue(p, in, out, dx, dy, stream) == 0);
    cudaStreamSynchronize(stream);
    std::vector<float> y(140);
    cudaMemcpy(y.data(), dy, 140 * sizeof(float), cudaMemcpyDeviceToHost);
    std::vector<float> const expected = reference_resize(x, 5, 7, 10, 14, false);
    double worst = 0.0;
    for (size_t i = 0; i < y.size(); ++i)
    {
        worst = std::max(worst, std::fabs(static_cast<double>(y[i]) - expected[i]));
    }
    CHECK_MSG(worst < 1e-6, "max |gpu - reference| = " + std::to_string(worst));
    cudaStreamDestroy(stream);
    cudaFree(dx);
    cudaFree(dy);
    std::printf("  GPU enqueue matches the reference (max diff %.3g)\n", worst);
}

#if NV_TENSORRT_MAJOR >= 10
class FakeResourceContext final : public IPluginResourceContext
{
public:
    IGpuAllocator* getGpuAllocator() const noexcept override
    {
        return nullptr;
    }
    IErrorRecorder* getErrorRecorder() const noexcept override
    {
        return nullptr;
    }
};
#endif

void check_case(Creator& creator, Case const& c, bool with_enqueue)
{
    gContext = c.label;
    NodeAttributes const attrs = node_attributes(c.out_h, c.out_w, c.scale_h, c.scale_w, c.align);
    ParserFields fields(attrs, creator.getFieldNames());
    CHECK(fields.collection.nbFields == static_cast<int32_t>(attrs.size()));  // every attribute reaches the plugin
    Plugin* p = create(creator, &fields.collection);
    CHECK(p != nullptr);
    if (p == nullptr)
    {
        return;
    }
#if NV_TENSORRT_MAJOR >= 10
    CHECK(std::string(p->getCapabilityInterface(PluginCapabilityType::kCORE)->getInterfaceInfo().kind)
        == "PLUGIN_V3ONE_CORE");
    CHECK(std::string(build_of(p)->getInterfaceInfo().kind) == "PLUGIN_V3ONE_BUILD");
    CHECK(std::string(runtime_of(p)->getInterfaceInfo().kind) == "PLUGIN_V3ONE_RUNTIME");
    auto* core = static_cast<IPluginV3OneCore*>(p->getCapabilityInterface(PluginCapabilityType::kCORE));
    CHECK(std::string(core->getPluginName()) == kName && std::string(core->getPluginVersion()) == kVersion);
    CHECK(build_of(p)->getNbOutputs() == 1);
    CHECK(build_of(p)->getTimingCacheID() != nullptr && std::strlen(build_of(p)->getTimingCacheID()) > 0);
#else
    CHECK(std::string(p->getPluginType()) == kName && std::string(p->getPluginVersion()) == kVersion);
    CHECK(p->getNbOutputs() == 1 && p->initialize() == 0);
    CHECK(p->getWorkspaceSize(nullptr, 1, nullptr, 1) == 0);
#endif
    check_shapes(p, c);
    check_formats(p);

    std::vector<std::pair<int64_t, int64_t>> const sizes{{15, 20}, {7, 10}, {60, 80}};
    std::vector<std::pair<int64_t, int64_t>> const expected = fixed_outputs(p, sizes);
    CHECK(expected.size() == sizes.size());

    // serialization round trip: the engine's copy of the plugin behaves the same
    Plugin* restored = round_trip(creator, p);
    CHECK(restored != nullptr);
    if (restored != nullptr)
    {
        CHECK(fixed_outputs(restored, sizes) == expected);
        check_shapes(restored, c);
    }

    // clone (the builder clones per layer and per tactic) and, on V3, attachToContext (one per execution context)
    Plugin* clone = static_cast<Plugin*>(p->clone());
    CHECK(clone != nullptr && clone != p);
#if NV_TENSORRT_MAJOR >= 10
    FakeResourceContext context;
    Plugin* attached = restored != nullptr ? runtime_of(restored)->attachToContext(&context) : nullptr;
    CHECK(attached != nullptr && attached != restored);
#else
    Plugin* attached = restored != nullptr ? static_cast<Plugin*>(restored->clone()) : nullptr;
    CHECK(attached != nullptr);
#endif
    destroy(p);  // the copies own their state
    if (clone != nullptr)
    {
        CHECK(fixed_outputs(clone, sizes) == expected);
        destroy(clone);
    }
    if (attached != nullptr)
    {
        CHECK(fixed_outputs(attached, sizes) == expected);
        if (with_enqueue)
        {
            check_enqueue(attached);
        }
        destroy(attached);
    }
    if (restored != nullptr)
    {
        destroy(restored);
    }
}

void check_bad_fields(Creator& creator)
{
    gContext = "bad fields";
    // a 1/3 scale cannot be an exact dimension expression: created, but the shape query fails with a reason
    NodeAttributes attrs = node_attributes(0, 0, 1.0F / 3.0F, 2.0F, 0);
    ParserFields third(attrs, creator.getFieldNames());
    Plugin* p = create(creator, &third.collection);
    CHECK(p != nullptr);
    if (p != nullptr)
    {
        FakeExprBuilder builder;
        DimsExprs in = symbolic_input(builder, true, 0, 0);
        DimsExprs out{};
        bool ok = true;
        std::string const error = reported_error([&] { ok = output_shape(p, builder, in, out); });
        CHECK(!ok);
        CHECK_MSG(error.find("dyadic") != std::string::npos, "reported: '" + error + "'");
        destroy(p);
    }
    // neither a size nor scales; a negative size; a wrong plugin_version: no plugin, and a reason
    std::vector<NodeAttributes> bad{node_attributes(0, 0, 0.0F, 0.0F, 0), node_attributes(-5, 8, 0.0F, 0.0F, 0),
        node_attributes(8, 8, 0.0F, 0.0F, 2)};
    NodeAttributes wrong_version = node_attributes(8, 8, 0.0F, 0.0F, 0);
    wrong_version["plugin_version"].s = "2";
    bad.push_back(wrong_version);
    for (NodeAttributes const& a : bad)
    {
        ParserFields f(a, creator.getFieldNames());
        Plugin* q = nullptr;
        std::string const error = reported_error([&] { q = create(creator, &f.collection); });
        CHECK(q == nullptr);
        CHECK_MSG(error.find(kName) != std::string::npos, "reported: '" + error + "'");
        if (q != nullptr)
        {
            destroy(q);
        }
    }
    // a 3-D input is refused when the builder configures the plugin
    NodeAttributes ok_attrs = node_attributes(8, 8, 0.0F, 0.0F, 0);
    ParserFields ok_fields(ok_attrs, creator.getFieldNames());
    Plugin* r = create(creator, &ok_fields.collection);
    if (r != nullptr)
    {
        int32_t status = 0;
        std::string const error = reported_error(
            [&] { status = configure(r, tensor({1, 5, 7}, DataType::kFLOAT), tensor({1, 8, 8}, DataType::kFLOAT)); });
        CHECK_MSG(error.find("4-D") != std::string::npos, "reported: '" + error + "'");
#if NV_TENSORRT_MAJOR >= 10
        CHECK(status != 0);
#endif
        destroy(r);
    }
}

void check_field_names(Creator& creator)
{
    gContext = "getFieldNames";
    PluginFieldCollection const* names = creator.getFieldNames();
    CHECK(names != nullptr);
    NodeAttributes const attrs = node_attributes(1, 1, 0.0F, 0.0F, 0);
    std::map<std::string, PluginFieldType> const expected{{"output_height", PluginFieldType::kINT32},
        {"output_width", PluginFieldType::kINT32}, {"scale_height", PluginFieldType::kFLOAT32},
        {"scale_width", PluginFieldType::kFLOAT32}, {"align_corners", PluginFieldType::kINT32},
        {"plugin_version", PluginFieldType::kCHAR}, {"plugin_namespace", PluginFieldType::kCHAR}};
    CHECK(names != nullptr && names->nbFields == static_cast<int32_t>(attrs.size()));
    for (int32_t i = 0; names != nullptr && i < names->nbFields; ++i)
    {
        std::string const name = names->fields[i].name;
        CHECK_MSG(attrs.count(name) == 1 && expected.count(name) == 1, name);
        CHECK_MSG(expected.count(name) == 1 && expected.at(name) == names->fields[i].type, name);
    }
}

// ---------------------------------------------------------------------------------------------------------------
void print_node_attributes()
{
    for (auto const& entry : node_attributes(0, 0, 0.0F, 0.0F, 0))
    {
        char const* type = entry.second.type == Attribute::kINT ? "INT"
            : entry.second.type == Attribute::kFLOAT            ? "FLOAT"
                                                                : "STRING";
        std::printf("%s %s\n", entry.first.c_str(), type);
    }
}

#if NV_TENSORRT_MAJOR >= 10
Creator* as_creator(CreatorInterface* c)
{
    if (c == nullptr || std::string(c->getInterfaceInfo().kind) != "PLUGIN CREATOR_V3ONE")
    {
        return nullptr;
    }
    return static_cast<Creator*>(c);
}
#endif

} // namespace

int main(int argc, char** argv)
{
    if (argc == 2 && std::string(argv[1]) == "--print-node-attributes")
    {
        print_node_attributes();
        return 0;
    }
    if (argc < 2)
    {
        std::fprintf(stderr, "usage: %s PLUGIN_LIBRARY [AUTOREGISTER_LIBRARY]\n", argv[0]);
        return 2;
    }
    char const* plugin_path = argv[1];
    char const* autoregister_path = argc > 2 ? argv[2] : nullptr;
    std::printf(
        "TensorRT headers %d.%d.%d: %s\n", NV_TENSORRT_MAJOR, NV_TENSORRT_MINOR, NV_TENSORRT_PATCH, plugin_path);

    // 1. loading registers nothing; the entry points of this version exist
    gContext = "loading";
    void* library = dlopen(plugin_path, RTLD_NOW | RTLD_LOCAL);
    CHECK_MSG(library != nullptr, text(dlerror()));
    if (library == nullptr)
    {
        return 1;
    }
    CHECK(gRegistryCalls == 0 && gRegistry.size() == 0);
    auto entry = reinterpret_cast<EntryPoint>(dlsym(library, kEntryPoint));
    CHECK_MSG(entry != nullptr, kEntryPoint);
    CHECK_MSG(dlsym(library, kOtherEntryPoint) == nullptr, kOtherEntryPoint);
    CHECK((dlsym(library, "setLoggerFinder") != nullptr) == ES_TRT_AT_LEAST(8, 6));
    if (entry == nullptr)
    {
        return 1;
    }
    int32_t count = -1;
    CreatorInterface* const* creators = entry(count);
    CHECK(count == 1 && creators != nullptr && creators[0] != nullptr);

    // ... registered once, as TensorRT's loadLibrary does it (8.6+) or by reading the entry point (8.5)
    gContext = "registration";
#if ES_TRT_AT_LEAST(8, 6)
    void* handle = gRegistry.loadLibrary(plugin_path);
    CHECK(handle != nullptr && gRegistry.size() == 1);
    CHECK(gRegistry.loadLibrary(plugin_path) == nullptr && gRegistry.size() == 1 && gRegistry.refused == 1);
    gRegistry.deregisterLibrary(handle);
    CHECK(gRegistry.size() == 0);
    handle = gRegistry.loadLibrary(plugin_path);
    CHECK(handle != nullptr && gRegistry.size() == 1);
#else
    CHECK(gRegistry.registerCreator(*creators[0], "") && gRegistry.size() == 1);
    CHECK(!gRegistry.registerCreator(*creators[0], "") && gRegistry.size() == 1);
#endif
    CHECK(gRegistryCalls == 0);  // the plugin library never reaches for TensorRT's global registry

    // the parser's lookup: by op type, plugin_version and plugin_namespace
#if NV_TENSORRT_MAJOR >= 10
    Creator* creator = as_creator(gRegistry.getCreator(kName, kVersion, ""));
#else
    Creator* creator = gRegistry.getPluginCreator(kName, kVersion, "");
#endif
    CHECK(creator != nullptr && static_cast<CreatorInterface*>(creator) == creators[0]);
    if (creator == nullptr)
    {
        return 1;
    }
    CHECK(std::string(creator->getPluginName()) == kName && std::string(creator->getPluginVersion()) == kVersion);

    // 2.-4. fields, shapes, formats, serialization, clone / attachToContext, enqueue
    check_field_names(*creator);
    std::vector<Case> const cases{
        {"size 480x640", 480, 640, 0.0F, 0.0F, 0},
        {"size 480x640 align_corners", 480, 640, 0.0F, 0.0F, 1},
        {"scale 2", 0, 0, 2.0F, 2.0F, 0},
        {"scale 0.5", 0, 0, 0.5F, 0.5F, 0},
        {"scale 16", 0, 0, 16.0F, 16.0F, 0},
        {"scale 1.5 x 32 align_corners", 0, 0, 1.5F, 32.0F, 1},
    };
    for (size_t i = 0; i < cases.size(); ++i)
    {
        check_case(*creator, cases[i], i == 2);
    }
    check_bad_fields(*creator);

    // 5. the autoregister library: the same creator, registered once through getPluginRegistry(); loading the
    //    plugin library into that registry as well is refused
    if (autoregister_path != nullptr)
    {
        gContext = "autoregister";
#if ES_TRT_AT_LEAST(8, 6)
        gRegistry.deregisterLibrary(handle);
#else
        gRegistry.clear();
#endif
        gRegistry.clear();
        StderrCapture capture;
        void* autoregister = dlopen(autoregister_path, RTLD_NOW | RTLD_LOCAL);
        std::string const err = capture.finish();
        CHECK_MSG(autoregister != nullptr, text(dlerror()));
        CHECK_MSG(err.empty(), err);
        CHECK(gRegistryCalls == 1 && gRegistry.size() == 1 && gRegistry.refused == 0);
#if NV_TENSORRT_MAJOR >= 10
        CHECK(gRegistry.getCreator(kName, kVersion, "") == creators[0]);
#else
        CHECK(gRegistry.getPluginCreator(kName, kVersion, "") == creators[0]);
#endif
#if ES_TRT_AT_LEAST(8, 6)
        CHECK(gRegistry.loadLibrary(plugin_path) == nullptr && gRegistry.refused == 1 && gRegistry.size() == 1);
#endif
    }
    else
    {
        std::printf("  (no autoregister library given: its check skipped)\n");
    }

    std::printf("%s: %d checks, %d failed\n", gFailures == 0 ? "PASS" : "FAIL", gChecks, gFailures);
    return gFailures == 0 ? 0 : 1;
}
