// Options every galaxyml tool shares, and its subcommand parser.
#pragma once

#include <boost/program_options.hpp>

#include <cstdint>
#include <string>

namespace gml_tools {

struct Common {
  std::string device = "auto";
  int threads = 0;
  uint64_t seed = 0;
  bool quiet = false;
  bool overwrite = false;  // replace outputs that exist
};

// --device, --threads, --seed, --quiet, --overwrite, --help.
void add_common(boost::program_options::options_description& d, Common& c);

// Parses argv into d's variables; prints usage and d and returns false on
// --help; exits with a message on an error.
bool parse(int argc, char** argv, boost::program_options::options_description& d,
           const char* usage);

}  // namespace gml_tools
