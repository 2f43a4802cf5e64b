#include "commands.h"

#include <cstdio>
#include <exception>
#include <string>

#include "cli.h"

namespace gml_tools {

namespace {

constexpr int kNameWidth = 11;  // "  " + name column: help lines start at column 13

void print_usage(const Tool& tool) {
  std::string text = std::string("usage: ") + tool.name + " COMMAND [options]\n\n" + tool.summary +
                     "\n\ncommands:\n";
  for (const Subcommand& c : tool.commands) {
    std::string name = c.name;
    name.resize(kNameWidth, ' ');
    text += "  " + name;
    for (const char* h = c.help; *h; ++h) {
      text += *h;
      if (*h == '\n') text += std::string(2 + kNameWidth, ' ');
    }
    text += '\n';
  }
  text += std::string("\nRun '") + tool.name + " COMMAND --help' for the options of a command.\n";
  std::fputs(text.c_str(), stdout);
}

}  // namespace

int dispatch(const Tool& tool, int argc, char** argv) {
  g_tool_name = tool.name;
  if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
    print_usage(tool);
    return argc < 2 ? 2 : 0;
  }
  const std::string name = argv[1];
  for (const Subcommand& c : tool.commands) {
    if (name != c.name) continue;
    // A failure the library did not report (a plot that cannot be written,
    // an allocation) ends the tool with one line and exit status 1, never
    // abort().
    try {
      return c.run(argc - 1, argv + 1);
    } catch (const std::exception& e) {
      die(name + ": " + e.what());
    }
  }
  die("unknown command '" + name + "' (try " + tool.name + " --help)");
}

}  // namespace gml_tools
