// gml-merger's subcommands; each takes the arguments after the tool name
// (argv[0] is the subcommand) and returns the exit status.
#pragma once

namespace gml_tools {

int cmd_simulate(int argc, char** argv);  // main.cpp
int cmd_train(int argc, char** argv);     // train.cpp
int cmd_classify(int argc, char** argv);  // classify.cpp
int cmd_index(int argc, char** argv);     // search.cpp
int cmd_search(int argc, char** argv);    // search.cpp
int cmd_cluster(int argc, char** argv);   // cluster.cpp

}  // namespace gml_tools
