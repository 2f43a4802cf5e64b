// The subcommands of a tool, declared once: main() hands argv to dispatch(),
// which prints the usage from the same table that routes the command.
#pragma once

#include <vector>

namespace gml_tools {

struct Subcommand {
  const char* name;
  // One line, or several separated by '\n': the usage indents the others
  // under the first.
  const char* help;
  // Gets the arguments after the tool name (argv[0] is the subcommand) and
  // returns the exit status.
  int (*run)(int argc, char** argv);
};

struct Tool {
  const char* name;     // as g_tool_name, e.g. "gml-flow"
  const char* summary;  // what the tool is for, printed above the commands
  std::vector<Subcommand> commands;
};

// Runs the subcommand named by argv[1]. Without one it prints the usage and
// returns 2; with --help/-h it prints it and returns 0. An unknown name, or
// an exception the library did not report, ends the tool with one line and
// exit status 1.
int dispatch(const Tool& tool, int argc, char** argv);

}  // namespace gml_tools
