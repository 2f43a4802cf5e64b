# FITS catalogs in (through column mappings) and result tables out.

"""
    Catalog

An open FITS table (`catalog_open`). One task at a time per handle.
"""
mutable struct Catalog
    ptr::Ptr{L.gml_catalog}
    path::String

    function Catalog(ptr::Ptr{L.gml_catalog}, path::String)
        c = new(ptr, path)
        return finalizer(close, c)
    end
end

Base.unsafe_convert(::Type{Ptr{L.gml_catalog}}, c::Catalog) = _live(c.ptr, "Catalog")

function Base.close(c::Catalog)
    p = c.ptr
    c.ptr = C_NULL
    p == C_NULL || L.gml_catalog_free(p)
    return nothing
end

Base.isopen(c::Catalog) = c.ptr != C_NULL

"""
    catalog_open(path; hdu=nothing) -> Catalog

Opens a FITS table: `hdu` an EXTNAME or decimal index; `nothing` the table
selected by extended syntax in `path`, else the first table HDU.
"""
function catalog_open(path::AbstractString; hdu::Union{Nothing,AbstractString} = nothing)
    out = Ref{Ptr{L.gml_catalog}}(C_NULL)
    check(L.gml_catalog_open(_cstring(path), _cstr_arg(hdu), out))
    return Catalog(out[], String(path))
end

"""
    nrows(catalog) -> Int64
    nrows(writer::TableWriter) -> Int64

Rows of a table, or rows appended so far to a writer.
"""
function nrows(c::Catalog)
    n = Ref{Int64}(0)
    check(L.gml_catalog_num_rows(c, n))
    return n[]
end

"""
    columns_json(catalog) -> String

The table's columns as a JSON array of {name, type, repeat, unit, numeric}.
"""
columns_json(c::Catalog) = _string_out((b, n, len) -> L.gml_catalog_columns_json(c, b, n, len))

"""
    describe_mapping(catalog, mapping) -> String

Checks a column mapping (e.g. `"u=mag(MODELFLUX[0]),zred=Z"`) against the
table and describes its outputs as a JSON array of {name, expr, unit}.
"""
function describe_mapping(c::Catalog, mapping::AbstractString)
    m = _cstring(mapping)
    return _string_out((b, n, len) -> L.gml_catalog_describe_mapping(c, m, b, n, len))
end

"""
    catalog_read(catalog, mapping; first_row=0, n_rows=nrows(catalog)-first_row,
                 eltype=Float32) -> (values, flags)

Reads rows through a mapping: `values` is an `n_outputs × n_rows` matrix
(the C array [n_rows, n_outputs]) of `Float32` or `Float64`, NaN where a
row's inputs are unusable; `flags` holds the `GML_ROW_*` bits of each row.
"""
function catalog_read(c::Catalog, mapping::AbstractString; first_row::Integer = 0,
                      n_rows::Union{Nothing,Integer} = nothing, eltype::Type = Float32)
    eltype === Float32 || eltype === Float64 ||
        throw(ArgumentError("eltype must be Float32 or Float64; got $(eltype)"))
    T = eltype
    m = _cstring(mapping)
    rows = n_rows === nothing ? nrows(c) - first_row : Int64(n_rows)
    read = T === Float32 ? L.gml_catalog_read : L.gml_catalog_read_f64
    n_outputs = Ref{Int64}(0)
    check(read(c, m, Int64(first_row), Int64(rows), convert(Ptr{T}, C_NULL), Csize_t(0),
               convert(Ptr{Int32}, C_NULL), n_outputs))
    values = Matrix{T}(undef, n_outputs[], rows)
    flags = Vector{Int32}(undef, rows)
    check(read(c, m, Int64(first_row), Int64(rows), values, Csize_t(length(values)), flags,
               n_outputs))
    return values, flags
end

mutable struct _ChunkSink
    f::Any
    stopped::Bool
    error::Any
end

function _chunk_trampoline(first_row::Int64, n_rows::Int64, n_outputs::Int64,
                           values::Ptr{Cfloat}, flags::Ptr{Int32}, user::Ptr{Cvoid})::Int32
    try
        sink = unsafe_pointer_to_objref(user)::_ChunkSink
        try
            # Copies: the library's block is only valid during this call.
            v = copy(unsafe_wrap(Array, values, (Int(n_outputs), Int(n_rows))))
            fl = copy(unsafe_wrap(Array, flags, Int(n_rows)))
            if sink.f(first_row, v, fl) === false
                sink.stopped = true
                return Int32(1)
            end
            return Int32(0)
        catch err
            sink.error = CapturedException(err, catch_backtrace())
            return Int32(1)
        end
    catch
        return Int32(1)
    end
end

"""
    catalog_stream(f, catalog, mapping; first_row=0, n_rows=-1, chunk_rows=0,
                   context=nothing)

Reads rows through a mapping block by block, with memory bounded by the
block: calls `f(first_row, values, flags)` for each block in row order, with
`values` an `n_outputs × n_rows_in_block` Float32 matrix and `first_row` the
0-based table row of its first column. `f` returning `false` ends the stream
early (without an error). `n_rows = -1` reads to the end; `chunk_rows = 0`
takes CFITSIO's optimal block. A `context` adds its progress sink and
cancellation. `f` runs on the calling task.
"""
function catalog_stream(f, c::Catalog, mapping::AbstractString; first_row::Integer = 0,
                        n_rows::Integer = -1, chunk_rows::Integer = 0,
                        context::Union{Nothing,Context} = nothing)
    m = _cstring(mapping)
    sink = _ChunkSink(f, false, nothing)
    fn = @cfunction(_chunk_trampoline, Int32,
                    (Int64, Int64, Int64, Ptr{Cfloat}, Ptr{Int32}, Ptr{Cvoid}))
    _before_call(context)
    status = GC.@preserve sink L.gml_catalog_stream(_context_arg(context), c, m, Int64(first_row),
                                                    Int64(n_rows), Int64(chunk_rows), fn,
                                                    pointer_from_objref(sink))
    sink.error === nothing || throw(sink.error)
    sink.stopped && status == L.GML_ERR_CANCELLED && return nothing
    _check_call(context, status)
    return nothing
end

# --- result tables -----------------------------------------------------------

const _COLUMN_TYPES = (Float32 => L.GML_COLUMN_FLOAT32, Float64 => L.GML_COLUMN_FLOAT64,
                       Int32 => L.GML_COLUMN_INT32, Int64 => L.GML_COLUMN_INT64,
                       String => L.GML_COLUMN_STRING)

"""
    TableWriter(path; extname="RESULTS", input_file=nothing, command_line=nothing,
                model_checksum=nothing, checksum=true)

A FITS binary table written block by block and committed atomically: nothing
appears at `path` until `commit!`; closing an uncommitted writer leaves
`path` as it was. Provenance keywords GMLINPUT, GMLCMD and GMLMODCK are
written for the strings given.
"""
mutable struct TableWriter
    ptr::Ptr{L.gml_table_writer}
    # (name, element type, repeat) of each declared column.
    columns::Vector{Tuple{String,DataType,Int64}}

    function TableWriter(ptr::Ptr{L.gml_table_writer})
        w = new(ptr, Tuple{String,DataType,Int64}[])
        return finalizer(close, w)
    end
end

function TableWriter(path::AbstractString; kw...)
    keep = Any[]
    opts = _options(L.gml_table_writer_options, L.gml_table_writer_options_default, keep; kw...)
    out = Ref{Ptr{L.gml_table_writer}}(C_NULL)
    status = GC.@preserve keep L.gml_table_writer_create(_cstring(path), Ref(opts), out)
    check(status)
    return TableWriter(out[])
end

Base.unsafe_convert(::Type{Ptr{L.gml_table_writer}}, w::TableWriter) =
    _live(w.ptr, "TableWriter")

function Base.close(w::TableWriter)
    p = w.ptr
    w.ptr = C_NULL
    p == C_NULL || L.gml_table_writer_free(p)
    return nothing
end

Base.isopen(w::TableWriter) = w.ptr != C_NULL

"""
    add_column!(writer, name, T, repeat=1; unit=nothing)

Declares the next column, of element type `T` (Float32, Float64, Int32, Int64
or String) with `repeat` elements per row (bytes per row for String). All
columns come before the first `append_rows!`.
"""
function add_column!(w::TableWriter, name::AbstractString, ::Type{T}, repeat::Integer = 1;
                     unit::Union{Nothing,AbstractString} = nothing) where {T}
    code = nothing
    for (t, c) in _COLUMN_TYPES
        t === T && (code = c)
    end
    code === nothing &&
        throw(ArgumentError("column type must be Float32, Float64, Int32, Int64 or String; got $(T)"))
    check(L.gml_table_writer_add_column(w, _cstring(name), code, Int64(repeat), _cstr_arg(unit)))
    push!(w.columns, (String(name), T, Int64(repeat)))
    return w
end

"""
    set_keyword!(writer, key, value; comment=nothing)

Adds a string keyword (1-8 characters of A-Z, 0-9, '-', '_') to the header.
"""
function set_keyword!(w::TableWriter, key::AbstractString, value::AbstractString;
                      comment::Union{Nothing,AbstractString} = nothing)
    check(L.gml_table_writer_set_keyword(w, _cstring(key), _cstring(value), _cstr_arg(comment)))
    return w
end

# One column's rows as the buffer the C side reads: [n_rows, repeat] C-order,
# i.e. a repeat × n_rows Julia array (a vector when repeat is 1).
function _column_buffer(name, ::Type{T}, repeat::Int64, data) where {T}
    a = _dense(T, data, "column $(name)")
    if ndims(a) == 1 && repeat == 1
        return a, length(a)
    elseif ndims(a) == 2 && size(a, 1) == repeat
        return a, size(a, 2)
    end
    throw(DimensionMismatch("column $(name) has repeat $(repeat): give a $(repeat) × n_rows " *
                            "matrix$(repeat == 1 ? " or a vector" : ""); got size $(size(a)) " *
                            "($(_ORDER_HINT))"))
end

function _column_buffer(name, ::Type{String}, repeat::Int64, data)
    data isa AbstractVector{<:AbstractString} ||
        throw(ArgumentError("column $(name) holds strings: give a vector of strings"))
    buf = zeros(UInt8, repeat, length(data))
    for (j, s) in enumerate(data)
        bytes = codeunits(String(s))
        length(bytes) <= repeat || throw(ArgumentError(
            "column $(name): $(repr(s)) has $(length(bytes)) bytes, more than its width $(repeat)"))
        buf[1:length(bytes), j] .= bytes
    end
    return buf, length(data)
end

"""
    append_rows!(writer, columns...)

Appends rows: one array per declared column, in declaration order; a column
of repeat `r` takes an `r × n_rows` matrix (a vector when `r` is 1), a String
column a vector of strings. Rows go to disk as they come.
"""
function append_rows!(w::TableWriter, columns...)
    length(columns) == length(w.columns) || throw(ArgumentError(
        "the table has $(length(w.columns)) columns; got $(length(columns)) arrays"))
    buffers = Any[]
    n_rows = -1
    for ((name, T, repeat), data) in zip(w.columns, columns)
        buf, n = _column_buffer(name, T, repeat, data)
        n_rows < 0 || n == n_rows || throw(DimensionMismatch(
            "column $(name) has $(n) rows; the columns before it have $(n_rows)"))
        n_rows = n
        push!(buffers, buf)
    end
    n_rows = max(n_rows, 0)
    pointers = Ptr{Cvoid}[convert(Ptr{Cvoid}, pointer(b)) for b in buffers]
    status = GC.@preserve buffers L.gml_table_writer_append(w, Int64(n_rows), pointers)
    check(status)
    return w
end

function nrows(w::TableWriter)
    n = Ref{Int64}(0)
    check(L.gml_table_writer_num_rows(w, n))
    return n[]
end

"""
    commit!(writer)

Finishes the file and renames it onto its path. Close the writer afterwards.
"""
commit!(w::TableWriter) = (check(L.gml_table_writer_commit(w)); w)
