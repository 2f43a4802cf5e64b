#include "options.h"

#include <iostream>

#include "cli.h"

namespace po = boost::program_options;

namespace gml_tools {

void add_common(po::options_description& d, Common& c) {
  d.add_options()("device", po::value(&c.device)->default_value("auto"),
                  "cpu, cuda, cuda:N or auto")(
      "threads", po::value(&c.threads)->default_value(0),
      "CPU threads, at most 1024 (0: GML_NUM_THREADS, OMP_NUM_THREADS or all cores)")(
      "seed", po::value(&c.seed)->default_value(0), "random seed")(
      "quiet,q", po::bool_switch(&c.quiet), "no progress output")(
      "overwrite", po::bool_switch(&c.overwrite),
      "replace output files that exist (without it an existing output is an error)")("help,h",
                                                                                     "this help");
}

bool parse(int argc, char** argv, po::options_description& d, const char* usage) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(d).run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n\n" << d << "\n";
      return false;
    }
    po::notify(vm);
  } catch (const po::error& e) {
    die(e.what());
  }
  return true;
}

}  // namespace gml_tools
