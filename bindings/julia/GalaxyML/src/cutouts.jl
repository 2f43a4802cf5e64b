# Postage stamps around catalog positions, cut from survey images.

const _RESAMPLE = (:none => L.GML_RESAMPLE_NONE, :mean => L.GML_RESAMPLE_MEAN,
                   :flux => L.GML_RESAMPLE_FLUX, :bilinear => L.GML_RESAMPLE_BILINEAR)
const _POSITIONS = (:sky => L.GML_CUTOUT_SKY, :pixel => L.GML_CUTOUT_PIXEL)
const _LAYOUTS = (:hdu_per_stamp => L.GML_CUTOUT_LAYOUT_HDU_PER_STAMP,
                  :cube => L.GML_CUTOUT_LAYOUT_CUBE)

# Options of the cutout functions. Keywords are the C fields, with symbols
# for the enumerations: position_type (:sky, :pixel), resample (:none, :mean,
# :flux, :bilinear), layout (:hdu_per_stamp, :cube).
function _cutout_options(keep; kw...)
    fields = Dict{Symbol,Any}(kw)
    haskey(fields, :position_type) &&
        (fields[:position_type] = _enum(fields[:position_type], _POSITIONS, "position type"))
    haskey(fields, :resample) && (fields[:resample] = _enum(fields[:resample], _RESAMPLE, "resampling"))
    haskey(fields, :layout) && (fields[:layout] = _enum(fields[:layout], _LAYOUTS, "layout"))
    return _options(L.gml_cutout_options, L.gml_cutout_options_default, keep; fields...)
end

# Band paths as the C array of strings, their Strings kept in `keep`.
function _band_paths(image_paths, keep)
    paths = image_paths isa AbstractString ? [image_paths] : collect(image_paths)
    isempty(paths) && throw(ArgumentError("at least one band image is needed"))
    strs = String[_cstring(p) for p in paths]
    append!(keep, strs)
    return Ptr{Cchar}[_pointer(s) for s in strs]
end

"""
    cutout_shape(image_paths; kw...) -> (height, width)

Size of the stamps `cutouts` delivers for these bands and options.
"""
function cutout_shape(image_paths; kw...)
    keep = Any[]
    paths = _band_paths(image_paths, keep)
    opts = _cutout_options(keep; kw...)
    h = Ref{Int64}(0)
    w = Ref{Int64}(0)
    status = GC.@preserve keep L.gml_cutouts_shape(paths, Int32(length(paths)), Ref(opts), h, w)
    check(status)
    return (h[], w[])
end

"""
    cutouts(image_paths, ra, dec; context=nothing, mask=false, kw...)
        -> (stamps, mask, flags)

Cuts a stamp around each position from every band (one path, or a vector of
paths of images on one pixel grid). `ra`, `dec` are degrees, or 0-based pixel
x, y with `position_type=:pixel`. `stamps` is a `width × height × n_bands × n`
Float32 array (the C array [n, n_bands, height, width]); `mask` (with
`mask=true`, else `nothing`) the same size in UInt8, 1 where a pixel holds the
fill value; `flags` the `GML_CUTOUT_*` bits of each stamp. Options are the
`gml_cutout_options` fields: `width`, `height`, `size_arcsec`, `out_width`,
`out_height`, `resample`, `fill_value`, `chunk_rows`.
"""
function cutouts(image_paths, ra, dec; context::Union{Nothing,Context} = nothing,
                 mask::Bool = false, kw...)
    keep = Any[]
    paths = _band_paths(image_paths, keep)
    r, d = _coordinate_pair(ra, dec, ("ra", "dec"))
    opts = _cutout_options(keep; kw...)
    h = Ref{Int64}(0)
    w = Ref{Int64}(0)
    status = GC.@preserve keep L.gml_cutouts_shape(paths, Int32(length(paths)), Ref(opts), h, w)
    check(status)
    n = length(r)
    stamps = Array{Float32,4}(undef, w[], h[], length(paths), n)
    masks = mask ? Array{UInt8,4}(undef, w[], h[], length(paths), n) : nothing
    flags = Vector{Int32}(undef, n)
    mask_arg = masks === nothing ? convert(Ptr{UInt8}, C_NULL) : masks
    _before_call(context)
    status = GC.@preserve keep L.gml_cutouts_extract(_context_arg(context), paths,
                                                     Int32(length(paths)), r, d, Int64(n),
                                                     Ref(opts), stamps, Csize_t(length(stamps)),
                                                     mask_arg, flags)
    _check_call(context, status)
    return stamps, masks, flags
end

"""
    write_cutouts(output_path, image_paths, ra, dec; context=nothing, kw...) -> flags

Cuts stamps as `cutouts` and writes them with a WCS per stamp to a FITS file,
atomically, in `layout` `:hdu_per_stamp` (default) or `:cube`; `write_mask`
(default true) adds the masks. Returns the `GML_CUTOUT_*` flags of each stamp.
"""
function write_cutouts(output_path::AbstractString, image_paths, ra, dec;
                       context::Union{Nothing,Context} = nothing, kw...)
    keep = Any[]
    paths = _band_paths(image_paths, keep)
    r, d = _coordinate_pair(ra, dec, ("ra", "dec"))
    opts = _cutout_options(keep; kw...)
    flags = Vector{Int32}(undef, length(r))
    _before_call(context)
    status = GC.@preserve keep L.gml_cutouts_write(_context_arg(context), paths,
                                                   Int32(length(paths)), r, d, Int64(length(r)),
                                                   Ref(opts), _cstring(output_path), flags)
    _check_call(context, status)
    return flags
end

"""
    read_cutouts(path) -> Array{Float32,4}

A cutout cube (e.g. from `write_cutouts(...; layout=:cube)`) as a
`W × H × C × N` array (the C array [N, C, H, W]); BSCALE/BZERO applied,
BLANK as NaN.
"""
function read_cutouts(path::AbstractString)
    p = _cstring(path)
    shape = zeros(Int64, 4)
    check(L.gml_cutouts_read_shape(p, shape))
    cube = Array{Float32,4}(undef, shape[4], shape[3], shape[2], shape[1])
    check(L.gml_cutouts_read(p, cube, Csize_t(length(cube))))
    return cube
end
