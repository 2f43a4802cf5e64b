// Header keyword access for the current HDU of a FitsFile.
#pragma once

#include <cstdint>
#include <string>

#include "fits_io/fits_file.h"

namespace gml::fits {

/// Comment and unit of a keyword. The unit is the "[unit]" prefix of the
/// comment (the FITS convention that fits_read_key_unit understands); the
/// comment is returned without it.
struct KeyInfo {
  std::string comment;
  std::string unit;
};

/// True if the current HDU has keyword `name`. Throws FitsError on I/O error.
bool has_key(FitsFile& f, const std::string& name);

/// Readers: return the value of keyword `name` in the current HDU and, if
/// `info` is given, its comment and unit. Throw FitsError if the keyword is
/// missing (status KEY_NO_EXIST) or cannot be converted to the type asked
/// for (e.g. a string read as a number).
std::string read_key_string(FitsFile& f, const std::string& name, KeyInfo* info = nullptr);
int64_t read_key_int(FitsFile& f, const std::string& name, KeyInfo* info = nullptr);
double read_key_double(FitsFile& f, const std::string& name, KeyInfo* info = nullptr);
bool read_key_bool(FitsFile& f, const std::string& name, KeyInfo* info = nullptr);

/// Writers: add or update keyword `name` (up to 8 characters for standard
/// keywords; longer names use the HIERARCH convention) in the current HDU.
/// `unit` (optional) is stored as "[unit]" in front of the comment. Long
/// string values use the CONTINUE convention. Throw FitsError (e.g. read-only
/// file), std::invalid_argument for an empty name or a non-finite double
/// (FITS cannot represent NaN/Inf keyword values).
void write_key_string(FitsFile& f, const std::string& name, const std::string& value,
                      const std::string& comment = "", const std::string& unit = "");
void write_key_int(FitsFile& f, const std::string& name, int64_t value,
                   const std::string& comment = "", const std::string& unit = "");
void write_key_double(FitsFile& f, const std::string& name, double value,
                      const std::string& comment = "", const std::string& unit = "");
void write_key_bool(FitsFile& f, const std::string& name, bool value,
                    const std::string& comment = "", const std::string& unit = "");

/// Appends a HISTORY / COMMENT card (long text is split over several cards).
void write_history(FitsFile& f, const std::string& text);
void write_comment(FitsFile& f, const std::string& text);

/// The whole header of the current HDU as one string of 80-character cards
/// (no END card, no padding), as WCSLIB's parsers expect. Throws FitsError.
std::string read_header_string(FitsFile& f);

}  // namespace gml::fits
