# Model files: inspection without loading, and loaded models of any family.

"""
    ModelInfo

What `inspect_model` reads from a model file: `family` ("flow",
"posterior", "diffusion", "merger"), `format_version`, `library_version`
(of the library that wrote it), `checksum` ("fnv1a64:..."), `n_tensors` and
`n_parameters`.
"""
struct ModelInfo
    family::String
    format_version::Int32
    library_version::String
    checksum::String
    n_tensors::Int64
    n_parameters::Int64
end

"""
    inspect_model(path; family=nothing) -> ModelInfo

Reads and fully verifies a model file (checksum included) without loading
it. With `family`, a file of another family throws GML_ERR_FAMILY.
"""
function inspect_model(path::AbstractString; family::Union{Nothing,AbstractString} = nothing)
    info = Ref(_sized(L.gml_model_info))
    check(L.gml_model_file_inspect(_cstring(path), _cstr_arg(family), info))
    i = info[]
    return ModelInfo(_text(i.family), i.format_version, _text(i.library_version),
                     _text(i.checksum), i.n_tensors, i.n_parameters)
end

"""
    model_config(path) -> String

JSON text of a model file's architecture and training settings.
"""
model_config(path::AbstractString) =
    _string_out((b, n, len) -> L.gml_model_file_config(_cstring(path), b, n, len))

"""
    Model

A model loaded onto a context's device by `load_model`. It keeps that context
as its default for calls (`context` keyword of every model function).
Released by `close` or by the garbage collector.
"""
mutable struct Model
    ptr::Ptr{L.gml_model}
    family::String
    path::String
    context::Context

    function Model(ptr::Ptr{L.gml_model}, family::String, path::String, context::Context)
        m = new(ptr, family, path, context)
        return finalizer(close, m)
    end
end

"""
    load_model(ctx, path; family=nothing) -> Model

Loads a model file (or, for the diffusion family, a diffusers folder) onto the
context's device. With `family`, a model of another family throws
GML_ERR_FAMILY.
"""
function load_model(c::Context, path::AbstractString;
                    family::Union{Nothing,AbstractString} = nothing)
    out = Ref{Ptr{L.gml_model}}(C_NULL)
    check(L.gml_model_load(c, _cstring(path), _cstr_arg(family), out))
    m = Model(out[], "", String(path), c)
    m.family = _string_out((b, n, len) -> L.gml_model_family(m, b, n, len))
    return m
end

Base.unsafe_convert(::Type{Ptr{L.gml_model}}, m::Model) = _live(m.ptr, "Model")

"""
    close(model::Model)

Releases the model now.
"""
function Base.close(m::Model)
    p = m.ptr
    m.ptr = C_NULL
    p == C_NULL || L.gml_model_free(p)
    return nothing
end

Base.isopen(m::Model) = m.ptr != C_NULL

Base.show(io::IO, m::Model) =
    print(io, "GalaxyML.Model(", repr(m.family), ", ", repr(m.path), isopen(m) ? "" : ", closed", ")")

"""
    family(model) -> String

The model's family as the library reports it.
"""
family(m::Model) = _string_out((b, n, len) -> L.gml_model_family(m, b, n, len))
