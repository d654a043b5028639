// The `sandboxd` command line: serve, the client commands, and the local admin commands.
#pragma once

namespace sandboxd::cli {

// Runs the command line; returns the process exit code (0 ok, 1 failed, 2 usage/invalid).
int run(int argc, char** argv);

}  // namespace sandboxd::cli
