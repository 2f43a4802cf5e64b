# Errors, strings, arrays and option structs: what every wrapper shares.

"""
    GalaxymlError(status, code, message)

A galaxyml call failed. `status` is the constant's name (`"GML_ERR_IO"`, ...),
`code` its value and `message` the library's description of the failure
(`gml_last_error()` of the failing call).
"""
struct GalaxymlError <: Exception
    status::String
    code::Int32
    message::String
end

Base.showerror(io::IO, e::GalaxymlError) = print(io, "GalaxymlError ", e.status, ": ", e.message)

"""
    status_name(code) -> String

Name of a status value, e.g. `status_name(2) == "GML_ERR_IO"`.
"""
status_name(code::Integer) = unsafe_string(L.gml_status_name(Int32(code)))

"""
    last_error() -> String

Message of the last failed galaxyml call on the calling thread ("" if none).
"""
last_error() = unsafe_string(L.gml_last_error())

"""
    clear_error()

Empties the calling thread's last-error message.
"""
clear_error() = (L.gml_clear_error(); nothing)

function check(code::Integer)
    code == L.GML_OK && return nothing
    # Read the message before anything else can call into the library.
    message = last_error()
    throw(GalaxymlError(status_name(code), Int32(code), message))
end

"""
    version() -> String

Version of the loaded library, e.g. `"0.1.0"`.
"""
version() = unsafe_string(L.gml_version_string())

"""
    build_info() -> String

Library, LibTorch, HDF5, CFITSIO and WCSLIB versions of the loaded library.
"""
build_info() = unsafe_string(L.gml_build_info())

"""
    abi_version() -> Int32

ABI version of the loaded library (the N of `libgalaxyml.so.N`).
"""
abi_version() = L.gml_abi_version()

"""
    num_threads() -> Int32

Intra-op CPU threads the library uses (0 before the first context or `init`).
"""
num_threads() = L.gml_num_threads()

# --- strings ---------------------------------------------------------------

# A String the C side can read as NUL-terminated text.
function _cstring(s::AbstractString)
    str = String(s)
    occursin('\0', str) && throw(ArgumentError("string contains a NUL character: $(repr(str))"))
    return str
end
_cstring(::Nothing) = nothing

# The value to pass for an optional `const char*` argument.
_cstr_arg(::Nothing) = convert(Ptr{Cchar}, C_NULL)
_cstr_arg(s::AbstractString) = _cstring(s)

_pointer(s::String) = convert(Ptr{Cchar}, pointer(s))
_pointer(::Nothing) = convert(Ptr{Cchar}, C_NULL)

_unsafe_text(p::Ptr) = p == C_NULL ? "" : unsafe_string(convert(Ptr{UInt8}, p))

# Text of a char[N] field: the bytes up to the first NUL.
function _text(t::NTuple{N,UInt8}) where {N}
    bytes = collect(t)
    stop = something(findfirst(==(0x00), bytes), N + 1) - 1
    return String(bytes[1:stop])
end

# Calls a strings-out function f(buf, capacity, length_ref) -> status: asks
# for the length, then fetches the text.
function _string_out(f)
    len = Ref{Csize_t}(0)
    check(f(convert(Ptr{Cchar}, C_NULL), Csize_t(0), len))
    while true
        buf = Vector{UInt8}(undef, len[])
        status = f(buf, Csize_t(length(buf)), len)
        # The text may have grown between the two calls (e.g. a file).
        status == L.GML_ERR_CAPACITY && len[] > length(buf) && continue
        check(status)
        return String(buf[1:(len[] - 1)])
    end
end

# --- arrays ----------------------------------------------------------------

# `x` as a dense Array{T} of the same size, without a copy when it is one.
function _dense(::Type{T}, x::AbstractArray, name::AbstractString) where {T}
    eltype(x) <: Real ||
        throw(ArgumentError("$(name) must hold real numbers; got an array of $(eltype(x))"))
    x isa Array{T} && return x
    return convert(Array{T}, x)
end
_dense(::Type{T}, x, name::AbstractString) where {T} =
    throw(ArgumentError("$(name) must be an array of real numbers; got $(typeof(x))"))

const _ORDER_HINT = "GalaxyML arrays are column-major: a C array [n, d] is a Julia d × n matrix"

# `x` as a dim × n matrix: a vector of length dim is one column.
function _columns(::Type{T}, x, dim::Integer, name::AbstractString, what::AbstractString) where {T}
    a = _dense(T, x, name)
    if ndims(a) == 1
        length(a) == dim || throw(DimensionMismatch(
            "$(name) has $(length(a)) values but the model takes $(dim) $(what)"))
        return reshape(a, dim, 1)
    elseif ndims(a) == 2
        size(a, 1) == dim || throw(DimensionMismatch(
            "$(name) is $(size(a, 1)) × $(size(a, 2)) but the model takes $(dim) $(what) " *
            "per column: pass a $(dim) × n matrix ($(_ORDER_HINT))"))
        return a
    end
    throw(DimensionMismatch("$(name) must be a vector or a matrix; got a " *
                            "$(ndims(a))-dimensional array"))
end

# Images as W × H × channels × n (one image may be given as W × H × channels).
function _images(x, name::AbstractString)
    a = _dense(Float32, x, name)
    ndims(a) == 4 && return a
    ndims(a) == 3 && return reshape(a, size(a, 1), size(a, 2), size(a, 3), 1)
    throw(DimensionMismatch("$(name) must be a width × height × channels × n array " *
                            "(the C layout [n, channels, height, width]); got a " *
                            "$(ndims(a))-dimensional array"))
end

# --- structs ---------------------------------------------------------------

# An isbits struct with every byte zero.
function _zeroed(::Type{T}) where {T}
    buf = zeros(UInt8, sizeof(T))
    return GC.@preserve buf unsafe_load(convert(Ptr{T}, pointer(buf)))
end

# A result struct whose struct_size the caller sets.
_sized(::Type{T}) where {T} = _with(_zeroed(T); struct_size = UInt32(sizeof(T)))

# A copy of `s` with some fields replaced.
function _with(s::T; kw...) where {T}
    for k in keys(kw)
        hasfield(T, k) || throw(ArgumentError("$(T) has no field $(k)"))
    end
    vals = ntuple(fieldcount(T)) do i
        f = fieldname(T, i)
        haskey(kw, f) ? convert(fieldtype(T, i), kw[f]) : getfield(s, i)
    end
    return T(vals...)
end

# Reads a struct the library hands to a callback, only the bytes its
# struct_size covers (a library older than this binding has a shorter one).
function _load_prefix(p::Ptr{T}) where {T}
    n = min(Int(unsafe_load(convert(Ptr{UInt32}, p))), sizeof(T))
    buf = zeros(UInt8, sizeof(T))
    s = GC.@preserve buf begin
        unsafe_copyto!(pointer(buf), convert(Ptr{UInt8}, p), n)
        unsafe_load(convert(Ptr{T}, pointer(buf)))
    end
    return s
end

_field_value(::Type{P}, ::Nothing, keep) where {P<:Ptr} = convert(P, C_NULL)
function _field_value(::Type{Ptr{Cchar}}, v::AbstractString, keep)
    s = _cstring(v)
    push!(keep, s)
    return _pointer(s)
end
function _field_value(::Type{Ptr{T}}, v::AbstractVector, keep) where {T}
    a = _dense(T, v, "option array")
    push!(keep, a)
    return pointer(a)
end
_field_value(::Type{Int32}, v::Bool, keep) = Int32(v)
_field_value(::Type{T}, v, keep) where {T} = convert(T, v)

"""
    _options(T, fill_default, keep; kw...)

An options struct filled by the library's defaults, then the keyword
arguments (named as the C fields) on top. Strings and arrays given are kept
in `keep`, which the caller must `GC.@preserve` across the call.
"""
function _options(::Type{T}, fill_default, keep::Vector{Any}; kw...) where {T}
    r = Ref{T}()
    fill_default(r)
    vals = Dict{Symbol,Any}()
    for (k, v) in kw
        (k === :struct_size || !hasfield(T, k)) &&
            throw(ArgumentError("unknown option $(k); the options are the fields of $(T) " *
                                "but struct_size: $(join(fieldnames(T)[2:end], ", "))"))
        vals[k] = _field_value(fieldtype(T, k), v, keep)
    end
    return _with(r[]; vals...)
end

# Fields of a result struct as a NamedTuple, without struct_size.
function _namedtuple(s::T) where {T}
    names = fieldnames(T)[2:end]
    return NamedTuple{names}(ntuple(i -> getfield(s, i + 1), length(names)))
end

function _enum(v::Symbol, table, what::AbstractString)
    for (k, code) in table
        k === v && return code
    end
    throw(ArgumentError("unknown $(what) :$(v); one of $(join((":" * string(k) for (k, _) in table), ", "))"))
end
_enum(v::Integer, table, what::AbstractString) = Int32(v)

# Handles: the pointer of a live one, or an error for a closed one.
function _live(p::Ptr, what::AbstractString)
    p == C_NULL && throw(ArgumentError("this $(what) has been closed"))
    return p
end
