# Celestial WCS of FITS headers (WCSLIB, with SIP/TPV/lookup distortions).

"""
    WCS

A celestial world coordinate system read by `wcs_open` or `wcs_from_header`.
A handle may be used from several tasks (the library serialises calls on it).
"""
mutable struct WCS
    ptr::Ptr{L.gml_wcs}

    function WCS(ptr::Ptr{L.gml_wcs})
        w = new(ptr)
        return finalizer(close, w)
    end
end

Base.unsafe_convert(::Type{Ptr{L.gml_wcs}}, w::WCS) = _live(w.ptr, "WCS")

function Base.close(w::WCS)
    p = w.ptr
    w.ptr = C_NULL
    p == C_NULL || L.gml_wcs_free(p)
    return nothing
end

Base.isopen(w::WCS) = w.ptr != C_NULL

function _alt_char(alt::Char)
    (alt == ' ' || 'A' <= alt <= 'Z') ||
        throw(ArgumentError("alt must be ' ' (the primary WCS) or a letter 'A'..'Z'; got $(repr(alt))"))
    return Cchar(codepoint(alt))
end

"""
    wcs_open(path; hdu=nothing, alt=nothing) -> WCS

The celestial WCS of one HDU of a FITS file (CFITSIO extended syntax allowed
in `path`). `hdu` is an EXTNAME or a decimal index (0 = primary); `nothing`
takes the primary HDU, or the first extension with a celestial WCS when the
primary has neither data nor one. `alt` ('A'..'Z') opens an alternate WCS
instead of the primary one.
"""
function wcs_open(path::AbstractString; hdu::Union{Nothing,AbstractString} = nothing,
                  alt::Union{Nothing,Char} = nothing)
    out = Ref{Ptr{L.gml_wcs}}(C_NULL)
    if alt === nothing
        check(L.gml_wcs_open(_cstring(path), _cstr_arg(hdu), out))
    else
        check(L.gml_wcs_open_alternate(_cstring(path), _cstr_arg(hdu), _alt_char(alt), out))
    end
    return WCS(out[])
end

"""
    wcs_from_header(header; alt=nothing) -> WCS

Parses a WCS from FITS header text: 80-character cards without separators
(an END card and trailing blanks allowed).
"""
function wcs_from_header(header::AbstractString; alt::Union{Nothing,Char} = nothing)
    h = _cstring(header)
    out = Ref{Ptr{L.gml_wcs}}(C_NULL)
    if alt === nothing
        check(L.gml_wcs_open_header(h, Csize_t(sizeof(h)), out))
    else
        check(L.gml_wcs_open_header_alternate(h, Csize_t(sizeof(h)), _alt_char(alt), out))
    end
    return WCS(out[])
end

function _coordinate_pair(a, b, names)
    u = _dense(Float64, a, names[1])
    v = _dense(Float64, b, names[2])
    (ndims(u) == 1 && ndims(v) == 1) ||
        throw(DimensionMismatch("$(names[1]) and $(names[2]) must be vectors"))
    length(u) == length(v) || throw(DimensionMismatch(
        "$(names[1]) has $(length(u)) values and $(names[2]) $(length(v))"))
    return u, v
end

function _check_origin(origin::Integer)
    origin in (0, 1) || throw(ArgumentError("origin must be 0 (C, numpy) or 1 (FITS); got $(origin)"))
    return Int32(origin)
end

"""
    pix2sky(wcs, x, y; origin=0) -> (ra, dec, status)

Pixel to sky (degrees, RA in [0, 360)) for vectors of pixel coordinates.
`origin` 0: the first pixel centre is 0.0 (numpy, astropy origin=0); 1: it
is 1.0 (FITS). Points that fail are NaN, with a `GML_WCS_POINT_*` status.
"""
function pix2sky(w::WCS, x, y; origin::Integer = 0)
    xs, ys = _coordinate_pair(x, y, ("x", "y"))
    n = length(xs)
    ra = Vector{Float64}(undef, n)
    dec = Vector{Float64}(undef, n)
    status = Vector{Int32}(undef, n)
    check(L.gml_wcs_pix2sky(w, xs, ys, Int64(n), _check_origin(origin), ra, dec, status))
    return ra, dec, status
end

"""
    sky2pix(wcs, ra, dec; origin=0) -> (x, y, status)

Sky (degrees) to pixel, distortions inverted iteratively; as `pix2sky`.
"""
function sky2pix(w::WCS, ra, dec; origin::Integer = 0)
    r, d = _coordinate_pair(ra, dec, ("ra", "dec"))
    n = length(r)
    x = Vector{Float64}(undef, n)
    y = Vector{Float64}(undef, n)
    status = Vector{Int32}(undef, n)
    check(L.gml_wcs_sky2pix(w, r, d, Int64(n), _check_origin(origin), x, y, status))
    return x, y, status
end

"""
    pixel_scale(wcs) -> Float64

Mean pixel scale at the reference point in arcsec per pixel.
"""
function pixel_scale(w::WCS)
    s = Ref{Cdouble}(0)
    check(L.gml_wcs_pixel_scale(w, s))
    return s[]
end

"""
    wcs_header(wcs) -> String

The WCS as FITS header cards (80-character records, no END card).
"""
wcs_header(w::WCS) = _string_out((b, n, len) -> L.gml_wcs_header(w, b, n, len))
